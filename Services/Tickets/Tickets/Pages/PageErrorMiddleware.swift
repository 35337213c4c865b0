import Hummingbird
import RampartTransport
import RampartWeb

/// Errors of the helpdesk's pages as pages: a redirect to sign in, or a short page saying what
/// went wrong (not found, not allowed, …) with the way back — never a JSON document in the
/// browser. Anything unexpected passes on to the service's opaque 500.
struct PageErrorMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext
    let pages: WebTemplates
    let home: Link

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let redirect as PageRedirect {
            return PageRedirect.seeOther(redirect.location)
        } catch let error as TicketsError {
            return page(error.problem)
        } catch let problem as ProblemError {
            return page(problem)
        } catch let form as FormProblem {
            return pages.message("Not saved", [form.summary], links: [home], flash: Flash(error: form.summary), status: .unprocessableContent)
        }
    }

    private func page(_ problem: ProblemError) -> Response {
        switch problem.status {
        case .notFound:
            return pages.message("Not found", ["There is nothing here, or you cannot see it."], links: [home], status: .notFound)
        case .forbidden:
            return pages.message("Not allowed", [problem.detail ?? "You may not do this."], links: [home], status: .forbidden)
        case .unauthorized:
            return PageRedirect.seeOther("/login")
        default:
            return pages.message(problem.title, [problem.detail ?? "The request could not be completed."], links: [home], status: problem.status)
        }
    }
}
