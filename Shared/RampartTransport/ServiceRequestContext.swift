import Hummingbird
import NIOCore
import RampartSecurity

/// The request context of every internal service: the connection it came on, the request id,
/// and — once the middlewares ran — the verified caller and (if forwarded) the verified principal.
public struct ServiceRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection, for reading the caller's client certificate.
    public let channel: any Channel
    /// The id on the request's log line and in every error it gets.
    public var requestID: String = ""
    /// The service or operator that called, from its client certificate.
    public var caller: CallerIdentity?
    /// The principal the gateway forwarded, verified; `nil` when none was sent.
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// Request bodies of internal calls are bounded; larger ones get 413.
    public var maxUploadSize: Int { 1024 * 1024 }
}

/// A context that exists only for requests carrying a verified principal, so a handler that
/// needs a user cannot be mounted without authentication.
public struct AuthenticatedContext: ChildRequestContext {
    public typealias ParentContext = ServiceRequestContext

    public var coreContext: CoreRequestContextStorage
    public let requestID: String
    public let caller: CallerIdentity
    public let principal: Principal

    public init(context: ServiceRequestContext) throws {
        guard let caller = context.caller else {
            throw ProblemError(status: .unauthorized, code: "caller_unknown", title: "Caller not identified")
        }
        guard let principal = context.principal else {
            throw ProblemError(status: .unauthorized, code: "principal_required", title: "Authentication required")
        }
        self.coreContext = context.coreContext
        self.requestID = context.requestID
        self.caller = caller
        self.principal = principal
    }
}
