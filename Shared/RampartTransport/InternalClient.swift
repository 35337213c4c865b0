import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import RampartSecurity

/// The client services use to call each other: presents this instance's certificate and
/// trusts only the internal CA for the callee.
public struct InternalClient: Sendable {
    public let http: HTTPClient

    /// A client with its own keep-alive connection pool; `timeout` bounds connecting and each read.
    public init(tls: InternalTLS, timeout: HTTPClient.Configuration.Timeout = .init(connect: .seconds(5), read: .seconds(30))) {
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls.clientConfiguration())
        configuration.timeout = timeout
        configuration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// A response with its body collected up to `maximumBodyBytes`.
    public struct Reply: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: Data
    }

    /// Sends one request; `principal` is a signed principal token to forward, if any; `deadline`
    /// bounds connecting, sending and the answer's head (the body: the client's read timeout).
    public func send(
        _ method: HTTPMethod = .GET, url: String, principal: String? = nil, requestID: String? = nil,
        body: Data? = nil, contentType: String = "application/json", headers: [(String, String)] = [],
        maximumBodyBytes: Int = 4 * 1024 * 1024, deadline: TimeAmount = .seconds(30)
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let principal { request.headers.add(name: "X-Rampart-Principal", value: principal) }
        if let requestID { request.headers.add(name: "X-Request-Id", value: requestID) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await http.execute(request, timeout: deadline)
        let collected = try await response.body.collect(upTo: maximumBodyBytes)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Data(collected.readableBytesView))
    }

    /// Closes pooled connections; call once when the owner stops.
    public func shutdown() async throws {
        try await http.shutdown()
    }
}
