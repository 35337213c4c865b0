@testable import Gateway
import Logging
import Synchronization
import Testing

@Suite("WAF log lines")
struct WafLoggingTests {
    /// Keeps every line logged through it.
    final class Recorder: Sendable {
        let lines = Mutex<[(message: String, metadata: Logger.Metadata)]>([])
    }

    struct RecordingHandler: LogHandler {
        let recorder: Recorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            recorder.lines.withLock { $0.append((event.message.description, event.metadata ?? [:])) }
        }
    }

    @Test func eachMatchIsOneLineAndABlockIsAnother() throws {
        let recorder = Recorder()
        let logger = Logger(label: "test") { _ in RecordingHandler(recorder: recorder) }
        let waf = try WafCorpus.shippedWAF()
        let verdict = waf.inspect(InspectedRequest(method: "GET", rawPath: "/api/v1/tickets", rawQuery: "q=%27%20or%201%3D1--&f=../../etc/passwd"))
        verdict.log(to: logger, requestID: "req-1", tenant: "acme", clientIP: "203.0.113.7")
        let lines = recorder.lines.withLock { $0 }
        #expect(lines.map(\.message) == Array(repeating: "waf.match", count: verdict.matches.count) + ["waf.blocked"])
        let first = try #require(lines.first?.metadata)
        #expect(first["waf.rule"] == "\(verdict.matches[0].ruleID)")
        #expect(first["waf.target"] != nil)
        #expect(first["waf.fragment"] != nil)
        #expect(first["request.id"] == "req-1")
        #expect(lines.last?.metadata["waf.score"] == "\(verdict.score)")
    }

    @Test func cleanRequestsLogNothing() throws {
        let recorder = Recorder()
        let logger = Logger(label: "test") { _ in RecordingHandler(recorder: recorder) }
        try WafCorpus.shippedWAF().inspect(WAFBenchmark.benignGet).log(to: logger, requestID: "r", tenant: nil, clientIP: nil)
        #expect(recorder.lines.withLock { $0.isEmpty })
    }
}
