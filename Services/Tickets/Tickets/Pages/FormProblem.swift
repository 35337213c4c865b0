import Foundation
import RampartTransport

/// Why a page's form was not accepted, field by field, in the form's own field names: the
/// API's input errors (`invalid_input`, transitions, closed tickets, attachments) turned into
/// something the page shows next to what the user typed.
struct FormProblem: Error {
    let summary: String
    /// Messages by form field id.
    let errors: [String: String]

    init(summary: String, errors: [String: String]) {
        self.summary = summary
        self.errors = errors
    }

    /// The problem a domain error answers with, as form errors; errors a page shows as a whole
    /// page (not found, not allowed) stay as they are.
    init?(_ error: any Error, fields: [String: String] = [:]) {
        let problem: ProblemError
        switch error {
        case let form as FormProblem:
            self = form
            return
        case let error as TicketsError: problem = error.problem
        case let error as ProblemError: problem = error
        default: return nil
        }
        guard problem.status != .notFound, problem.status != .forbidden || problem.fieldErrors != nil else { return nil }
        var errors: [String: String] = [:]
        for item in problem.fieldErrors ?? [] {
            errors[fields[item.field] ?? item.field] = item.message
        }
        summary = problem.detail ?? (errors.isEmpty ? problem.title : "Please correct the fields marked below.")
        self.errors = errors
    }

    /// Runs `body`; a domain input error becomes a `FormProblem`, anything else passes through.
    static func catching<T>(fields: [String: String] = [:], _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw FormProblem(error, fields: fields) ?? error
        }
    }

    /// The API's own body type built from a page's values, with the API's checks.
    static func decode<T: StrictBody>(_ type: T.Type, _ object: [String: Any], fields: [String: String] = [:]) throws -> T {
        do {
            return try TicketsRequest.decode(type, from: try JSONSerialization.data(withJSONObject: object))
        } catch {
            throw FormProblem(error, fields: fields) ?? error
        }
    }

    /// The message of field `id`, if it has one.
    func error(_ id: String) -> String? { errors[id] }
}
