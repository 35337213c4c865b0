import Foundation
@testable import Gateway
import NIOCore
import NIOPosix
import RampartCore
import Testing

/// The public edge end to end: real TLS clients (`openssl s_client`, curl) against the gateway,
/// which proxies over mutual TLS to real identity instances (eu and us, each with its database)
/// and an eu tickets instance that reports what reached it.
@Suite("Gateway: public edge")
struct GatewayEdgeTests {
    func fixture() async throws -> EdgeFixture { try await EdgeFixture.shared.value }

    func url(_ edge: EdgeFixture, _ host: String, _ path: String) -> String { "https://\(host):\(edge.httpsPort)\(path)" }

    // MARK: TLS

    @Test func refusesTLS10And11AndWeakTLS12SuitesAcceptsStrongTLS12AndTLS13() async throws {
        let edge = try await fixture()
        let host = "acme.eu.localhost"
        // SECLEVEL=0 lets this OpenSSL offer the old protocols and suites: the refusal is the gateway's.
        for refused in [
            ["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"],
            ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"],
            ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA256:@SECLEVEL=0"],
            ["-tls1_2", "-cipher", "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:@SECLEVEL=0"],
        ] {
            let (succeeded, output) = try await EdgeClient.handshake(port: edge.httpsPort, serverName: host, ca: edge.pki.caPath, options: refused)
            #expect(!succeeded, "\(refused): \(output)")
            #expect(!output.contains("no protocols available") && !output.contains("no cipher match"), "the client refused, not the server: \(output)")
        }
        let tls12 = try await EdgeClient.handshake(port: edge.httpsPort, serverName: host, ca: edge.pki.caPath, options: ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"])
        #expect(tls12.succeeded, "\(tls12.output)")
        #expect(tls12.output.contains("Protocol version: TLSv1.2"))
        let tls13 = try await EdgeClient.handshake(port: edge.httpsPort, serverName: host, ca: edge.pki.caPath, options: ["-tls1_3", "-alpn", "h2,http/1.1"])
        #expect(tls13.succeeded, "\(tls13.output)")
        #expect(tls13.output.contains("Protocol version: TLSv1.3"))
        // ALPN: h2 when offered, http/1.1 for clients that offer only that.
        for (offer, chosen) in [("h2,http/1.1", "h2"), ("http/1.1", "http/1.1")] {
            let (_, full, _) = try await EdgeClient.run("/usr/bin/openssl", [
                "s_client", "-connect", "127.0.0.1:\(edge.httpsPort)", "-servername", host, "-CAfile", edge.pki.caPath, "-alpn", offer,
            ], stdin: Data("Q\n".utf8))
            #expect(String(decoding: full, as: UTF8.self).contains("ALPN protocol: \(chosen)\n"), "\(offer)")
        }
    }

    // MARK: Response hygiene

    @Test func everyAnswerCarriesSecurityHeadersAndARequestID() async throws {
        let edge = try await fixture()
        for (host, path) in [("acme.eu.localhost", "/api/v1/tickets/echo"), ("acme.eu.localhost", "/nowhere"), ("status.localhost", "/metrics")] {
            let reply = try await EdgeClient.request(url(edge, host, path), ca: edge.pki.caPath)
            #expect([401, 404].contains(reply.status), "\(host)\(path)")
            let hsts = try #require(reply.headers["strict-transport-security"])
            let maxAge = Int(hsts.split(separator: ";")[0].replacingOccurrences(of: "max-age=", with: "")) ?? 0
            #expect(maxAge >= 31_536_000 && hsts.contains("includeSubDomains"))
            #expect(reply.headers["x-content-type-options"] == "nosniff")
            #expect(reply.headers["x-frame-options"] == "DENY")
            #expect(reply.headers["referrer-policy"] != nil)
            #expect(reply.headers["content-security-policy"]?.contains("frame-ancestors 'none'") == true)
            #expect(reply.headers["server"] == "rampart")
            #expect((reply.headers["x-request-id"]?.count ?? 0) >= 8)
            #expect(reply.headers["content-type"] == "application/problem+json")
        }
        // A well-formed client request id is kept; a malformed one is replaced.
        let kept = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/nowhere"), ca: edge.pki.caPath, headers: ["X-Request-Id: client-chosen-id-42"])
        #expect(kept.headers["x-request-id"] == "client-chosen-id-42")
        let replaced = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/nowhere"), ca: edge.pki.caPath, headers: ["X-Request-Id: bad id <script>"])
        #expect(replaced.headers["x-request-id"] != "bad id <script>")
        #expect(replaced.json["instance"] as? String == "urn:rampart:request:\(replaced.headers["x-request-id"] ?? "")")
    }

    @Test func servesSecurityTxtOnEveryHost() async throws {
        let edge = try await fixture()
        for host in ["acme.eu.localhost", "status.localhost", "beta.eu.localhost"] {
            let reply = try await EdgeClient.request(url(edge, host, "/.well-known/security.txt"), ca: edge.pki.caPath)
            #expect(reply.status == 200)
            #expect(reply.headers["content-type"]?.hasPrefix("text/plain") == true)
            let lines = reply.text.split(separator: "\n").map(String.init)
            #expect(lines.contains("Contact: mailto:security@rampart.example"))
            #expect(lines.contains { $0.hasPrefix("Expires: 2027-05-31T00:00:00") })
            #expect(lines.contains("Policy: https://rampart.example/security/disclosure"))
            #expect(lines.contains("Preferred-Languages: en"))
            #expect(lines.contains("Canonical: https://\(host):\(edge.httpsPort)/.well-known/security.txt"))
        }
    }

    @Test func plainHTTPOnlyRedirectsToHTTPS() async throws {
        let edge = try await fixture()
        let (_, output, _) = try await EdgeClient.run("/usr/bin/curl", [
            "-sS", "-D", "-", "-o", "/dev/null", "--resolve", "acme.eu.localhost:\(edge.redirectPort):127.0.0.1",
            "http://acme.eu.localhost:\(edge.redirectPort)/api/v1/tickets/echo?x=1",
        ])
        let reply = try EdgeClient.parse(output)
        #expect(reply.status == 308)
        #expect(reply.headers["location"] == "https://acme.eu.localhost:\(edge.httpsPort)/api/v1/tickets/echo?x=1")
        #expect(reply.headers["x-request-id"] != nil)
        let (_, foreign, _) = try await EdgeClient.run("/usr/bin/curl", ["-sS", "-D", "-", "-o", "/dev/null", "-H", "Host: evil.example", "http://127.0.0.1:\(edge.redirectPort)/"])
        #expect(try EdgeClient.parse(foreign).status == 404)
    }

    // MARK: Routing

    @Test func routesByRegionInTheHostName() async throws {
        let edge = try await fixture()
        let key = "Authorization: Bearer \(edge.acmeKey)"
        let home = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/tickets/echo"), ca: edge.pki.caPath, headers: [key])
        #expect(home.status == 200)
        #expect(home.json["principalTenant"] as? String == "acme")
        // acme lives in eu: the us region's identity does not know it.
        let elsewhere = try await EdgeClient.request(url(edge, "acme.us.localhost", "/api/v1/me"), ca: edge.pki.caPath, headers: [key])
        #expect(elsewhere.status == 401)
        // Unknown region, bad or missing Host: 404 at the edge.
        for host in ["Host: acme.zz.localhost", "Host: acme.eu.example.com", "Host: a..eu.localhost", "Host: acme.eu.localhost.evil.test", "Host:"] {
            // SNI is acme.eu.localhost; a Host the edge does not serve is not found before any SNI comparison.
            let reply = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/tickets/echo"), ca: edge.pki.caPath, headers: [key, host])
            #expect(reply.status == 404, "\(host)")
            #expect(reply.json["code"] as? String == "not_found", "\(host)")
        }
        // Paths no route names, and internal paths, are 404 on every host.
        for path in ["/internal/v1/principal", "/metrics", "/readyz", "/api/v1/ticketsx"] {
            let reply = try await EdgeClient.request(url(edge, "acme.eu.localhost", path), ca: edge.pki.caPath, headers: [key])
            #expect(reply.status == 404, "\(path)")
        }
        let status = try await EdgeClient.request(url(edge, "status.localhost", "/metrics"), ca: edge.pki.caPath)
        #expect(status.status == 404)
    }

    @Test func hostNamingAnotherServerThanSNIIsMisdirected() async throws {
        let edge = try await fixture()
        // TLS to acme.eu.localhost (SNI), then a request for beta's host on that connection.
        let reply = try await EdgeClient.request(url(edge, "acme.eu.localhost", "/api/v1/tickets/echo"), ca: edge.pki.caPath,
                                           headers: ["Host: beta.eu.localhost:\(edge.httpsPort)", "Authorization: Bearer \(edge.acmeKey)"])
        #expect(reply.status == 421)
        #expect(reply.json["code"] as? String == "misdirected_request")
    }

    @Test func malformedPathsAreRefusedBeforeRouting() async throws {
        let edge = try await fixture()
        for path in ["/api/v1/tickets/../me", "/api/v1/%2e%2e/users", "/api/v1/tickets/%zz", "/api/v1//tickets"] {
            let reply = try await EdgeClient.request(url(edge, "acme.eu.localhost", path), ca: edge.pki.caPath,
                                               headers: ["Authorization: Bearer \(edge.acmeKey)"], extra: ["--path-as-is"])
            #expect(reply.status == 400, "\(path)")
            #expect(reply.json["code"] as? String == "bad_path", "\(path)")
        }
    }

    @Test func http2GetsTheSameRoutingHeadersAndLimits() async throws {
        let edge = try await fixture()
        let echo = url(edge, "acme.eu.localhost", "/api/v1/tickets/echo")
        let reply = try await EdgeClient.request(echo, ca: edge.pki.caPath, headers: [
            "Authorization: Bearer \(edge.acmeKey)", "X-Rampart-Principal: forged", "X-Forwarded-For: 10.0.0.1",
        ], http2: true)
        #expect(reply.version == "HTTP/2")
        #expect(reply.status == 200)
        #expect(reply.json["principalTenant"] as? String == "acme")
        let seen = try #require(reply.json["headers"] as? [String: String])
        #expect(seen["x-forwarded-for"] == "127.0.0.1")
        #expect(seen["x-rampart-principal"] != "forged")
        #expect(reply.headers["strict-transport-security"] != nil && reply.headers["x-request-id"] != nil)
        let anonymous = try await EdgeClient.request(echo, ca: edge.pki.caPath, http2: true)
        #expect(anonymous.status == 401)
        let misdirected = try await EdgeClient.request(echo, ca: edge.pki.caPath, headers: ["Host: beta.eu.localhost"], http2: true)
        #expect(misdirected.status == 421)
        let crowded = try await EdgeClient.request(echo, ca: edge.pki.caPath, headers: (0..<40).map { "X-Filler-\($0): \($0)" }, http2: true)
        #expect(crowded.status == 431)
        let oversized = try await EdgeClient.request(echo, method: "POST", ca: edge.pki.caPath,
                                                     headers: ["Authorization: Bearer \(edge.acmeKey)"], body: Data(count: 70_000), http2: true)
        #expect(oversized.status == 413)
    }
}
