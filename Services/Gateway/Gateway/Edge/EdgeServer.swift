import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOSSL
import RampartCore
import RampartTransport
import ServiceLifecycle

/// The public edge of a gateway instance: the HTTPS listener, the plain-HTTP redirect listener
/// and the upstream pools, as services that run and stop with the gateway.
public enum EdgeServer {
    /// Builds the edge's services from the loaded settings; `inspection` is the WAF/rate-limit
    /// seam (the WAF and rate limits named in the settings unless a test passes another).
    public static func services(
        settings: EdgeSettings, runtime: ServiceRuntime, inspection: (any EdgeInspection)? = nil,
        accessLog: AccessLog = AccessLog()
    ) throws -> [any Service] {
        let policy = try EdgePolicy(contentsOf: settings.policyPath)
        let accessLog = accessLog.counting(in: runtime.metrics)
        let tls = try PublicTLS(certificatePath: settings.certificatePath, privateKeyPath: settings.privateKeyPath)
        let upstreams = try Upstreams(settings: settings, runtime: runtime, policy: policy)
        let auditTrail = inspection == nil ? WAFAuditTrail(upstreams: upstreams, logger: runtime.logger) : nil
        let inspection = try inspection ?? ShieldInspection(settings: settings, auditTrail: auditTrail, logger: runtime.logger)
        var logger = runtime.logger
        logger[metadataKey: "listener"] = "public"
        if policy.securityTxt.expires < .now {
            logger.warning("edge.security_txt.expired")
        }
        let config = runtime.config
        let statusFailover = try StatusFailover(
            endpoints: upstreams.statusEndpoints, ownRegion: config.region, policy: policy.statusFailover, upstream: policy.upstream,
            tls: runtime.tls, logger: logger
        )
        let responder = EdgeResponder(
            baseDomain: config.baseDomain, regions: settings.regions,
            httpsPort: settings.httpsPort,
            routes: RouteTable(routes: policy.routes, blocked: policy.blockedPrefixes),
            statusRoutes: RouteTable(routes: policy.statusRoutes, blocked: policy.blockedPrefixes),
            policy: policy, securityTxt: SecurityTxt(policy.securityTxt), inspection: inspection,
            authenticator: EdgeAuthenticator(upstreams: upstreams, cache: PrincipalCache(
                capacity: policy.authentication.cacheEntries, timeToLive: .seconds(policy.authentication.cacheTTLSeconds)
            )),
            upstreams: upstreams, statusFailover: statusFailover,
            proxy: EdgeProxy(responseTimeout: .milliseconds(Int64(policy.upstream.responseTimeoutMilliseconds)), logger: logger),
            accessLog: accessLog, logger: logger
        )
        let limits = policy.limits
        let readLimits = RequestReadGuard.Limits(
            headerRead: .milliseconds(Int64(limits.headerReadTimeoutMilliseconds)),
            bodyRead: .milliseconds(Int64(limits.bodyReadTimeoutMilliseconds)),
            idle: .milliseconds(Int64(limits.idleTimeoutMilliseconds)),
            write: .milliseconds(Int64(limits.writeTimeoutMilliseconds)),
            minimumBodyRate: limits.effectiveMinimumBodyRate,
            maxConcurrentStreams: limits.maxConcurrentStreams,
            maxHeaderCount: limits.maxHeaderCount, maxHeaderBytes: limits.maxHeaderBytes
        )
        let edgeLogger = logger
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestReadGuard(limits: readLimits, logger: edgeLogger)],
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes, maxHeaderFieldCount: limits.maxHeaderCount
            )
        )
        // HTTP/2: connections without open streams close after the idle timeout; concurrent
        // streams are announced and bounded by the read guard (HummingbirdHTTP2 fixes NIOHTTP2's
        // settings), header lists by NIOHTTP2's 16 KiB default and the guard's header limits.
        let http2 = HTTP2ChannelConfiguration(
            idleTimeout: .milliseconds(limits.idleTimeoutMilliseconds), gracefulCloseTimeout: .seconds(5), streamConfiguration: http1
        )
        let publicTLS = try NIOSSLContext(configuration: tls.serverConfiguration())
        // One budget per address over both listeners.
        let connections = ConnectionLimiter(maximumPerAddress: limits.maxConnectionsPerIP)
        let https = Application(
            responder: responder,
            server: HTTPServerBuilder { http2Responder in
                EdgeChannel(
                    tls: publicTLS, http2: HTTP2Channel(responder: http2Responder, configuration: http2), responder: responder,
                    readLimits: readLimits, limiter: connections, logger: edgeLogger
                )
            },
            configuration: .init(address: .hostname(settings.host, port: settings.httpsPort), serverName: "rampart"),
            services: [UpstreamLifecycle(upstreams: upstreams), statusFailover] + (auditTrail.map { [$0] } ?? []),
            logger: logger
        )
        var services: [any Service] = [https]
        if let redirectPort = settings.redirectPort {
            // The plain-HTTP listener holds connections like the public one: the same per-address
            // limit (the connection guard goes first, so the read guard finds it) and timeouts.
            let plain = HTTP1Channel.Configuration(
                additionalChannelHandlers: [
                    ConnectionGuard(limiter: connections, firstRequestTimeout: readLimits.headerRead, logger: edgeLogger),
                    RequestReadGuard(limits: readLimits, logger: edgeLogger),
                ],
                httpDecoderConfiguration: http1.httpDecoder
            )
            let redirect = Application(
                responder: HTTPSRedirect(baseDomain: config.baseDomain, regions: settings.regions, httpsPort: settings.httpsPort, accessLog: accessLog),
                server: .http1(configuration: plain),
                configuration: .init(address: .hostname(settings.host, port: redirectPort), serverName: "rampart"),
                logger: logger
            )
            services.append(redirect)
        }
        logger.info("edge.configured", metadata: [
            "edge.https_port": "\(settings.httpsPort)", "edge.redirect_port": "\(settings.redirectPort.map(String.init) ?? "none")",
            "edge.regions": "\(settings.regions.map(\.rawValue).joined(separator: ","))",
        ])
        return services
    }
}
