import Hummingbird

/// Turns the helpdesk's domain errors into their problem documents.
struct TicketsErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as TicketsError {
            throw error.problem
        }
    }
}
