import Foundation
import HTTPTypes
import Hummingbird
import RampartSecurity
import RampartTransport

/// Request plumbing shared by audit's routes: domain errors as problems, JSON answers.
enum AuditRequest {
    /// Runs `body`, turning audit's domain errors into problem documents.
    static func run<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as AuditError {
            throw error.problem
        }
    }

    /// `value` as a JSON response with the chain's encoder (ISO 8601 dates, sorted keys).
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try AuditChain.encoder().encode(value)
        return Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The principal of a public request, which must hold `audit:read`.
    static func requireReader(_ context: AuthenticatedContext) throws -> Principal {
        guard context.principal.has(scope: "audit:read") else {
            throw AuditError.permissionDenied("Reading the audit log needs the audit.read permission.").problem
        }
        return context.principal
    }
}
