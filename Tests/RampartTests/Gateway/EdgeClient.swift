import Foundation
import RampartStorage

/// The real command-line clients the edge tests speak through: `curl` for HTTP (with `--resolve`
/// so `*.localhost` names reach loopback, SNI included) and `openssl s_client` for TLS.
enum EdgeClient {
    /// One HTTP exchange as curl saw it.
    struct Reply {
        var status: Int
        /// Lowercased names; the last value of each.
        var headers: [String: String]
        var body: Data
        /// `HTTP/1.1` or `HTTP/2`.
        var version = ""

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Runs `executable` with `arguments` (waiting on a thread of its own, never on Swift's
    /// cooperative pool, which the in-process servers answer on); returns status, stdout, stderr.
    static func run(_ executable: String, _ arguments: [String], stdin: Data? = nil) async throws -> (Int32, Data, String) {
        let result = try await Subprocess(executable, arguments, input: stdin).run()
        return (result.status, result.outputData, result.errorOutput)
    }

    /// `method url` through curl, resolving the URL's host to 127.0.0.1 and trusting `ca`.
    static func request(
        _ url: String, method: String = "GET", ca: String, headers: [String] = [], body: Data? = nil, extra: [String] = [],
        http2: Bool = false
    ) async throws -> Reply {
        guard let components = URLComponents(string: url), let host = components.host, let port = components.port else {
            throw TestSetupError("bad test URL \(url)")
        }
        var arguments = ["-sS", http2 ? "--http2" : "--http1.1", "--max-time", "20", "--resolve", "\(host):\(port):127.0.0.1", "--cacert", ca,
                         "-X", method, "-D", "-", "-o", "-"]
        if method == "HEAD" { arguments += ["-I"] }
        for header in headers { arguments += ["-H", header] }
        if body != nil { arguments += ["--data-binary", "@-"] }
        arguments += extra + [url]
        let (status, output, errors) = try await run("/usr/bin/curl", arguments, stdin: body)
        guard status == 0 else { throw TestSetupError("curl failed (\(status)): \(errors)") }
        return try parse(output)
    }

    /// Splits curl's `-D - -o -` output into status, headers and body (the last response wins).
    static func parse(_ output: Data) throws -> Reply {
        var rest = output[...]
        var reply: Reply?
        while let end = rest.firstRange(of: Data("\r\n\r\n".utf8)), rest.starts(with: Data("HTTP/".utf8)) {
            let head = String(decoding: rest[rest.startIndex..<end.lowerBound], as: UTF8.self)
            let lines = head.components(separatedBy: "\r\n")
            let status = Int(lines[0].split(separator: " ").dropFirst().first ?? "") ?? 0
            let version = String(lines[0].split(separator: " ").first ?? "")
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            rest = rest[end.upperBound...]
            reply = Reply(status: status, headers: headers, body: Data(rest), version: version)
        }
        guard let reply else { throw TestSetupError("no HTTP response in curl output") }
        return reply
    }

    /// A TLS handshake with `openssl s_client`; returns its whole output (stdout and stderr).
    static func handshake(port: Int, serverName: String, ca: String, options: [String]) async throws -> (succeeded: Bool, output: String) {
        let (status, output, errors) = try await run("/usr/bin/openssl", [
            "s_client", "-connect", "127.0.0.1:\(port)", "-servername", serverName, "-brief", "-CAfile", ca,
        ] + options, stdin: Data("Q\n".utf8))
        let text = String(decoding: output, as: UTF8.self) + errors
        return (status == 0 && text.contains("CONNECTION ESTABLISHED"), text)
    }

    /// Sends `request` verbatim over TLS (SNI `serverName`) and returns everything the server
    /// wrote until it closed the connection or `openssl s_client` gave up after 10 s.
    static func raw(port: Int, serverName: String, ca: String, request: String) async throws -> String {
        let (_, output, _) = try await run("/usr/bin/timeout", [
            "10", "/usr/bin/openssl", "s_client", "-quiet", "-ign_eof", "-connect", "127.0.0.1:\(port)", "-servername", serverName, "-CAfile", ca,
        ], stdin: Data(request.utf8))
        return String(decoding: output, as: UTF8.self)
    }
}
