import ArgumentParser
import Foundation
import NIOHTTP1
import RampartCore
import RampartSecurity
import RampartTransport

/// Where `rampartctl` finds the live services and the operator certificate it presents.
struct OperatorOptions: ParsableArguments {
    @Option(help: "endpoints.json of the installation.") var endpoints: String = ".run/endpoints.json"
    @Option(help: "Internal CA certificate.") var ca: String = ".run/pki/ca.crt"
    @Option(help: "Operator certificate.") var cert: String = ".run/pki/operator-local.crt"
    @Option(help: "Operator private key.") var key: String = ".run/pki/operator-local.key"
}

/// Calls a region's services over mutual TLS as an operator; every call is an audited operator action.
struct OperatorClient {
    let endpoints: [String: [String: String]]
    let client: InternalClient

    init(_ options: OperatorOptions) throws {
        guard let data = FileManager.default.contents(atPath: options.endpoints),
              let document = try? JSONDecoder().decode(HealthCommand.Endpoints.self, from: data)
        else { throw ControlError("cannot read \(options.endpoints)") }
        endpoints = document.regions
        client = InternalClient(tls: try InternalTLS(files: .init(caCertificatePath: options.ca, certificatePath: options.cert, privateKeyPath: options.key)))
    }

    /// Runs `body` with a client for `options`, closing its connections afterwards.
    static func with<R>(_ options: OperatorOptions, _ body: (OperatorClient) async throws -> R) async throws -> R {
        let operatorClient = try OperatorClient(options)
        do {
            let result = try await body(operatorClient)
            try? await operatorClient.client.shutdown()
            return result
        } catch {
            try? await operatorClient.client.shutdown()
            throw error
        }
    }

    /// One request with a fresh client.
    static func call(_ options: OperatorOptions, _ method: HTTPMethod, _ service: ServiceName, region: String, path: String, body: [String: Any]? = nil) async throws -> Any {
        try await with(options) { try await $0.call(method, service, region: region, path: path, body: body) }
    }

    /// Sends a JSON request to `service` in `region`; a problem answer becomes a one-line error.
    func call(_ method: HTTPMethod, _ service: ServiceName, region: String, path: String, body: [String: Any]? = nil) async throws -> Any {
        let data = try await self.data(method, service, region: region, path: path, body: body)
        return (try? JSONSerialization.jsonObject(with: data)) ?? [:]
    }

    /// Like ``call(_:_:region:path:body:)``, answering the raw body, for callers that decode it themselves.
    func data(_ method: HTTPMethod, _ service: ServiceName, region: String, path: String, body: [String: Any]? = nil) async throws -> Data {
        guard let base = endpoints[region]?[service.rawValue] else { throw ControlError("no \(service) endpoint for region \(region) in endpoints.json") }
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        let reply = try await client.send(method, url: base + path, body: data, maximumBodyBytes: 64 * 1024 * 1024)
        guard (200..<300).contains(reply.status) else {
            let problem = (try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any]
            let fields = (problem?["errors"] as? [[String: Any]])?.compactMap { "\($0["field"] ?? ""): \($0["message"] ?? "")" } ?? []
            let text = [problem?["title"] as? String, problem?["detail"] as? String].compactMap { $0 }.joined(separator: ": ")
            throw ControlError("\(reply.status) \(text.isEmpty ? "request refused" : text)\(fields.isEmpty ? "" : " (" + fields.joined(separator: "; ") + ")")")
        }
        return reply.body
    }

    /// Pretty JSON for standard output.
    static func render(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }
}
