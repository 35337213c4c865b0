import AsyncHTTPClient
import Foundation
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import Testing

/// The service executables as an operator runs them: configuration failures, start, SIGTERM.
@Suite("Service processes")
struct ServiceProcessTests {
    let eu = Region(rawValue: "eu")!

    /// Where `swift build` put the executables (`make test` exports it).
    static var binDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["RAMPART_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        return Bundle.main.bundleURL.deletingLastPathComponent()
    }

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Starts `executable` with exactly `environment`; `whileRunning` runs once it is up (or not).
    static func run(_ executable: String, environment: [String: String], whileRunning: ((Subprocess.Child) async throws -> Void)? = nil) async throws -> Outcome {
        let child = try Subprocess(binDirectory.appendingPathComponent(executable).path, []).start(environment: environment)
        do {
            if let whileRunning { try await whileRunning(child) }
        } catch {
            child.terminate(SIGKILL)
            _ = await child.wait()
            throw error
        }
        let result = await child.wait()
        return Outcome(status: result.status, stdout: result.output, stderr: result.errorOutput)
    }

    func environment(_ service: ServiceName = .tickets, pki: TestPKI, database: TestDatabase?, port: Int) throws -> [String: String] {
        let jwks = pki.directory.appendingPathComponent("jwks.json")
        try PrincipalSigningKey.generate().publicKeySet.jwks().write(to: jwks)
        var values = try RunningService.configValues(service: service, region: eu, port: port, pki: pki, jwksPath: jwks.path, database: database)
        values["RAMPART_LOG_LEVEL"] = "info"
        if database == nil {
            // Nothing listens on port 1: checks that come before the database fail first.
            values["RAMPART_DATABASE_URL"] = "postgres://nobody:unused-password@127.0.0.1:1/rampart_eu"
        }
        return values
    }

    @Test func missingKeyStopsWithOneLineNamingIt() async throws {
        var values = try environment(pki: try TestPKI(), database: nil, port: 1)
        values["RAMPART_REGION"] = nil
        let outcome = try await Self.run("rampart-tickets", environment: values)
        #expect(outcome.status == 78)
        #expect(outcome.stderr == "rampart-tickets: configuration error: RAMPART_REGION: is required but not set\n")
    }

    @Test func expiredCertificateStopsTheStart() async throws {
        let pki = try TestPKI()
        var values = try environment(pki: pki, database: nil, port: 1)
        let expired = try pki.files(for: .service(.tickets, eu), validity: 3600, notBefore: .now.addingTimeInterval(-86400))
        values["RAMPART_TLS_CERT"] = expired.certificatePath
        values["RAMPART_TLS_KEY"] = expired.privateKeyPath
        let outcome = try await Self.run("rampart-tickets", environment: values)
        #expect(outcome.status != 0)
        #expect(outcome.stderr.hasPrefix("rampart-tickets: configuration error: RAMPART_TLS_CERT: certificate expired"))
        #expect(outcome.stderr.split(separator: "\n").count == 1)
    }

    @Test func certificateOfAnotherServiceStopsTheStart() async throws {
        let pki = try TestPKI()
        var values = try environment(pki: pki, database: nil, port: 1)
        let other = try pki.files(for: .service(.identity, eu))
        values["RAMPART_TLS_CERT"] = other.certificatePath
        values["RAMPART_TLS_KEY"] = other.privateKeyPath
        let outcome = try await Self.run("rampart-tickets", environment: values)
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains("RAMPART_TLS_CERT: certificate names spiffe://rampart/eu/identity"))
    }

    @Test func anotherRegionsDatabaseStopsTheStart() async throws {
        // A tickets instance configured for eu, pointed at a database provisioned for us.
        let usDatabase = try await TestDatabase.make(region: Region(rawValue: "us")!)
        let pki = try TestPKI()
        var values = try environment(pki: pki, database: nil, port: 1)
        let usRoles = try usDatabase.databases.url(service: .tickets, region: Region(rawValue: "us")!, database: usDatabase.name, owner: false)
        values["RAMPART_DATABASE_URL"] = usRoles.urlString
        let config = try ServiceConfig(service: .tickets, source: ConfigSource(values: values))
        let error = await #expect(throws: ConfigError.self) { try await ServiceRuntime.prepare(config: config, migrations: []) }
        #expect(error?.key == "RAMPART_DATABASE_URL")
        #expect(error?.reason == "database does not belong to region eu")
    }

    @Test func unreachableDatabaseStopsTheStartWithoutItsPassword() async throws {
        var values = try environment(pki: try TestPKI(), database: nil, port: 1)
        values["RAMPART_DATABASE_URL"] = "postgres://someone:do-not-print-me@127.0.0.1:1/rampart_eu"
        let outcome = try await Self.run("rampart-tickets", environment: values)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("database"))
        #expect(!outcome.stderr.contains("do-not-print-me"))
        #expect(outcome.stderr.split(separator: "\n").count == 1)
    }

    @Test(arguments: ServiceName.allCases)
    func servesOverMutualTLSLogsJSONAndStopsCleanlyOnSIGTERM(_ service: ServiceName) async throws {
        let pki = try TestPKI()
        let port = try RunningService.freePort()
        let values = try environment(service, pki: pki, database: service.ownsSchema ? try await TestDatabase.make() : nil, port: port)
        let statusTLS = try InternalTLS(files: try pki.files(for: .service(.status, eu)))
        let outcome = try await Self.run(service.executableName, environment: values) { child in
            let client = InternalClient(tls: statusTLS)
            var healthy = false
            for _ in 0..<300 where !healthy {
                healthy = (try? await client.send(url: "https://127.0.0.1:\(port)/healthz"))?.status == 200
                if !healthy { try await Task.sleep(for: .milliseconds(100)) }
            }
            try await client.shutdown()
            #expect(healthy)
            child.terminate()
        }
        #expect(outcome.status == 0)
        let lines = outcome.stdout.split(separator: "\n")
        let requestLines = lines.filter { $0.contains("\"request.completed\"") }
        #expect(!requestLines.isEmpty)
        for line in lines {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "not JSON: \(line)")
        }
        #expect(requestLines.first?.contains("\"http.route\":\"/healthz\"") == true)
        if service.ownsSchema {
            let password = try #require(try DatabaseURL(parsing: values["RAMPART_DATABASE_URL"] ?? "", key: "K").password)
            #expect(!outcome.stdout.contains(password))
        }
    }
}
