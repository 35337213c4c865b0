import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RampartCore
import RampartSecurity
import RampartTransport
import Synchronization

/// Every public HTTPS request, in order: request id → `security.txt` → Host (tenant and region, or
/// the status page) → Host against SNI → canonical path → route → body limit → body read (bounded)
/// → inspection seam → edge authentication → the tenant's own rate limits (its principals only;
/// given back when the service refuses the request to whoever asked) →
/// forward to the region's service (the status page: the first healthy region's status instance) →
/// security headers → one access-log line: when a response held whole is handed over, or when a
/// streamed body has been written.
///
/// A class: every request holds the responder, and both event loops' requests share it. As a struct
/// each copy retained each of its parts (the policy's tables, the routes, the upstreams, …), an
/// atomic write to memory both loops' cores share, dozens of times per request.
public final class EdgeResponder: HTTPResponder, Sendable {
    public typealias Context = EdgeRequestContext

    let baseDomain: String
    let regions: [Region]
    let httpsPort: Int
    let routes: RouteTable
    let statusRoutes: RouteTable
    let policy: EdgePolicy
    let securityTxt: SecurityTxt
    let inspection: any EdgeInspection
    let authenticator: EdgeAuthenticator
    let upstreams: Upstreams
    /// The status instances `status.{base-domain}` goes to.
    let statusFailover: StatusFailover
    let proxy: EdgeProxy
    let accessLog: AccessLog
    let logger: Logger

    init(
        baseDomain: String, regions: [Region], httpsPort: Int, routes: RouteTable, statusRoutes: RouteTable, policy: EdgePolicy,
        securityTxt: SecurityTxt, inspection: any EdgeInspection, authenticator: EdgeAuthenticator, upstreams: Upstreams,
        statusFailover: StatusFailover, proxy: EdgeProxy, accessLog: AccessLog, logger: Logger
    ) {
        self.baseDomain = baseDomain
        self.regions = regions
        self.httpsPort = httpsPort
        self.routes = routes
        self.statusRoutes = statusRoutes
        self.policy = policy
        self.securityTxt = securityTxt
        self.inspection = inspection
        self.authenticator = authenticator
        self.upstreams = upstreams
        self.statusFailover = statusFailover
        self.proxy = proxy
        self.accessLog = accessLog
        self.logger = logger
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let start = ContinuousClock.now
        let requestID = EdgeRequestID.accept(request.headers[.requestID])
        var entry = AccessLog.Entry(
            requestID: requestID, clientIP: context.clientIP, host: request.head.authority, method: request.method.rawValue,
            route: "unmatched", status: 0, bytes: 0, duration: .zero
        )
        let connection = if let known = context.connection { known } else { await EdgeChannel.connection(of: context.channel) }
        var answer: EdgeProxy.Answer
        do {
            answer = try await handle(request, context: context, connection: connection, requestID: requestID, entry: &entry)
        } catch let redirect as SignInRedirect {
            answer = EdgeProxy.Answer(response: redirect.response)
        } catch let problem as EdgeProblem {
            answer = EdgeProxy.Answer(response: problem.response(requestID: requestID))
            // The rest of an oversized body is not read: an HTTP/1.1 connection ends after the answer.
            if problem.status == .contentTooLarge, !connection.isHTTP2 { answer.response.headers[.connection] = "close" }
        } catch {
            logger.error("edge.request.failed", metadata: ["request.id": "\(requestID)", "error.type": "\(type(of: error))"])
            answer = EdgeProxy.Answer(response: EdgeProblem(.internalServerError, code: "internal_error", title: "Internal error",
                                                            detail: "The error was logged; quote the request id when reporting it.").response(requestID: requestID))
        }
        var response = answer.response
        ResponseHygiene.apply(to: &response.headers, requestID: requestID)
        entry.status = response.status.code
        if answer.isStreamed { return Self.loggingWhenWritten(response, entry: entry, start: start, accessLog: accessLog) }
        // Held whole (the edge's own answers, small proxied ones): written in one piece, logged now.
        entry.bytes = request.method == .head ? 0 : response.body.contentLength ?? 0
        entry.duration = start.duration(to: .now)
        accessLog.record(entry)
        return response
    }

    private func handle(
        _ request: Request, context: Context, connection: (serverName: String?, isHTTP2: Bool), requestID: String, entry: inout AccessLog.Entry
    ) async throws -> EdgeProxy.Answer {
        let target = request.head.path ?? "/"
        if request.method == .get || request.method == .head, SecurityTxt.isPath(of: target) {
            entry.route = SecurityTxt.path
            return EdgeProxy.Answer(response: securityTxt.response(hostName: request.head.authority.flatMap(EdgeHost.name(of:)), port: httpsPort))
        }
        // One host only: HTTP/1.1 moves the first Host into the authority, so another Host field (or,
        // in HTTP/2, one that differs from :authority) would leave the tenant to a guess.
        guard let authority = request.head.authority,
              request.headers[values: .hostField].allSatisfy({ connection.isHTTP2 && $0.lowercased() == authority.lowercased() })
        else {
            if request.head.authority == nil, request.headers[values: .hostField].isEmpty { throw EdgeProblem.notFound }
            throw EdgeProblem.badRequest
        }
        guard let hostName = EdgeHost.name(of: authority),
              let host = EdgeHost(name: hostName, baseDomain: baseDomain, regions: regions)
        else { throw EdgeProblem.notFound }
        guard connection.serverName == hostName else { throw EdgeProblem.misdirected }

        let tenant: TenantSlug?
        if case .tenant(let slug, let region) = host {
            tenant = slug
            entry.tenant = slug.rawValue
            entry.region = region.rawValue
        } else {
            tenant = nil
        }

        guard let path = EdgePath.canonicalPath(of: target) else { throw EdgePath.problem }
        guard let route = (tenant == nil ? statusRoutes : routes).route(for: path) else { throw EdgeProblem.notFound }
        entry.route = route.prefix

        let body = try await readBody(request, route: route, isHTTP2: connection.isHTTP2)
        let inspected = EdgeInspectionRequest(
            requestID: requestID, clientIP: context.clientIP, host: host, method: request.method, target: target,
            headers: request.headers, route: route, body: body.inspectable, bodyIsTruncated: body.isTruncated
        )
        let verdict = await inspection.inspect(inspected)
        entry.wafScore = verdict.wafScore
        entry.rateLimit = verdict.rateLimit
        if let refusal = verdict.refusal { throw refusal }

        guard let tenant, case .tenant(_, let region) = host else {
            return try await forwardToStatus(request, body: body, route: route, authority: authority, clientIP: context.clientIP,
                                             requestID: requestID, eventLoop: context.channel.eventLoop, entry: &entry)
        }
        var principal: PrincipalCache.Answer?
        if route.auth != .none {
            principal = try await authenticate(request, target: target, authority: authority, route: route, tenant: tenant, region: region, clientIP: context.clientIP,
                                               requestID: requestID)
        }
        // The tenant's own limits count only its principals' requests, never anonymous ones.
        if let principal {
            let admitted = await inspection.admitAuthenticated(inspected, principal: principal.principal)
            if let rateLimit = admitted.rateLimit { entry.rateLimit = rateLimit }
            if let refusal = admitted.refusal { throw refusal }
        }
        guard let target = upstreams.target(route.service, in: region) else { throw EdgeProblem.serviceUnavailable }
        let answer = try await proxy.forward(
            request, body: body, route: route, to: target, authority: authority, clientIP: context.clientIP,
            requestID: requestID, principal: principal?.token, on: context.channel.eventLoop
        )
        // Refused to whoever asked (a customer's request for an admin's export): not the tenant's to pay for.
        if let principal, Self.refusalsOfTheAsker.contains(answer.response.status.code) {
            await inspection.refundRefused(inspected, principal: principal.principal)
        }
        // Identity set or cleared the session cookie (sign-out, password change): the principal
        // cached for the credential this request came with must not outlive that session.
        if principal != nil, case .present(let credential) = EdgeCredential.extract(from: request.headers),
           answer.response.headers[values: .setCookie].contains(where: { $0.hasPrefix(EdgeCredential.sessionCookieName + "=") }) {
            authenticator.forget(credential, tenant: tenant, region: region, clientIP: context.clientIP)
        }
        return answer
    }

    /// A service's answers that refuse a request to whoever asked it: unauthenticated, forbidden,
    /// or not found (what services answer for what the asker may not see).
    static let refusalsOfTheAsker: Set<Int> = [401, 403, 404]

    /// The status page from the first status instance that answers, in failover order; an
    /// instance that cannot be reached is skipped for the next one (nothing reached it, so a
    /// request is never answered twice) and left out until its health check passes again.
    private func forwardToStatus(
        _ request: Request, body: EdgeProxy.Body, route: EdgePolicy.Route, authority: String, clientIP: String?, requestID: String,
        eventLoop: any EventLoop, entry: inout AccessLog.Entry
    ) async throws -> EdgeProxy.Answer {
        let candidates = statusFailover.candidates()
        for (position, target) in candidates.enumerated() {
            entry.region = target.region.rawValue
            do {
                return try await proxy.forward(request, body: body, route: route, to: target, authority: authority, clientIP: clientIP,
                                               requestID: requestID, principal: nil, on: eventLoop)
            } catch let problem as EdgeProblem
                where problem.code == EdgeProblem.upstreamUnreachable.code && position < candidates.count - 1 && body.isReplayable {
                statusFailover.markUnreachable(target)
            }
        }
        throw EdgeProblem.serviceUnavailable
    }

    /// The request body as the route's size class allows: read whole when inspectable, streamed
    /// (and counted) otherwise — a multipart form's fields before its first file read first, for
    /// inspection (``MultipartHead``); 413 past the class limit. HTTP/2 frames a body itself, so
    /// a request there may carry one without declaring its length (RFC 9113 §8.1.1): read like a
    /// chunked one, not taken for none.
    private func readBody(_ request: Request, route: EdgePolicy.Route, isHTTP2: Bool) async throws -> EdgeProxy.Body {
        let limit = policy.bodyLimits[route.body ?? "default"] ?? 0
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        let chunked = request.headers[.transferEncoding] != nil
        if let declared, declared > limit { throw EdgeProblem.bodyTooLarge }
        guard chunked || (isHTTP2 && declared == nil) || (declared ?? 0) > 0 else { return .none }
        guard limit <= policy.limits.inspectBodyBytes else {
            // The large class carries files, in multipart forms: anything else is read whole and
            // inspected like the default class (its routes' services take nothing else large).
            guard let boundary = request.headers[.contentType].flatMap(MultipartBody.boundary(contentType:)) else {
                return Self.buffered(try await Self.whole(request.body, upTo: policy.limits.inspectBodyBytes))
            }
            let reader = RequestBodyReader(request.body)
            switch try await MultipartHead.read(reader, boundary: boundary, bound: policy.limits.inspectBodyBytes) {
            case .whole(let body):
                return .buffered(body)
            case .head(let head):
                return .streamed(reader.remaining, head: head, length: declared, limit: limit)
            }
        }
        return Self.buffered(try await Self.whole(request.body, upTo: limit))
    }

    /// A body read whole; an empty one (an HTTP/2 request that had none) is none.
    private static func buffered(_ body: ByteBuffer) -> EdgeProxy.Body {
        body.readableBytes == 0 ? .none : .buffered(body)
    }

    /// The whole body, or 413 once it passes `limit` (a declared length or a chunked stream).
    private static func whole(_ body: RequestBody, upTo limit: Int) async throws -> ByteBuffer {
        do {
            return try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw EdgeProblem.bodyTooLarge
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw EdgeProblem.bodyTooLarge
        }
    }

    /// The principal for the route's service, or `nil` on an optional route without a usable credential.
    /// A required one that is missing or refused is a 401, or for a page load the way to sign in.
    private func authenticate(_ request: Request, target: String, authority: String, route: EdgePolicy.Route, tenant: TenantSlug, region: Region, clientIP: String?,
                              requestID: String) async throws -> PrincipalCache.Answer? {
        let required = route.auth == .required
        func refusal(invalid: Bool) -> any Error {
            if let redirect = SignInRedirect.forBrowser(request, target: target, authority: authority, route: route) { return redirect }
            return EdgeProblem.unauthorized(invalid: invalid)
        }
        let credential: EdgeCredential
        switch EdgeCredential.extract(from: request.headers) {
        case .absent:
            if required { throw refusal(invalid: false) }
            return nil
        case .malformed:
            if required { throw refusal(invalid: true) }
            return nil
        case .present(let found):
            credential = found
        }
        switch await authenticator.resolve(credential, tenant: tenant, region: region, audience: route.service, clientIP: clientIP, requestID: requestID, logger: logger) {
        case .principal(let answer):
            // A cookie is sent by the browser on its own: a state change made with one must prove
            // it comes from our pages. Bearer credentials are not ambient and need no token.
            if case .session = credential, ![.get, .head, .options].contains(request.method), route.csrf != .form {
                guard let csrf = answer.csrf, ConstantTime.equal(request.headers[.xCSRFToken] ?? "", csrf) else { throw EdgeProblem.csrfRejected }
            }
            return answer
        case .refused:
            if required { throw refusal(invalid: true) }
            return nil
        case .unavailable:
            throw EdgeProblem.authenticationUnavailable
        }
    }

    /// `response` with its body counted and the access-log line written once it has been sent.
    static func loggingWhenWritten(_ response: Response, entry: AccessLog.Entry, start: ContinuousClock.Instant, accessLog: AccessLog) -> Response {
        var response = response
        let body = response.body
        let counter = ByteCount()
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            var finished = entry
            do {
                try await body.write(writer.map { buffer in
                    counter.value.add(buffer.readableBytes, ordering: .relaxed)
                    return buffer
                })
            } catch {
                finished.bytes = counter.value.load(ordering: .relaxed)
                finished.duration = start.duration(to: .now)
                accessLog.record(finished)
                throw error
            }
            finished.bytes = counter.value.load(ordering: .relaxed)
            finished.duration = start.duration(to: .now)
            accessLog.record(finished)
        }
        return response
    }
}

extension EdgePath {
    static let problem = EdgeProblem.badPath
}

/// Bytes of a response body written so far.
final class ByteCount: Sendable {
    let value = Atomic<Int>(0)
}
