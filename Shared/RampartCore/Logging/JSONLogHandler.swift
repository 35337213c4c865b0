import Foundation
import Logging
import Synchronization

/// A `LogHandler` writing one JSON object per line: `ts`, `level`, `msg`, `logger` and dotted metadata keys.
///
/// Messages are constants (`request.completed`) and metadata carries the facts; callers never
/// put passwords, tokens, keys or bodies into either.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let sink: Sink

    /// Where lines go: standard output by default, a closure in tests.
    public struct Sink: Sendable {
        /// Writes one line (without its newline).
        public let write: @Sendable (String) -> Void

        public init(_ write: @escaping @Sendable (String) -> Void) { self.write = write }

        /// Standard output, one whole line per write (after any batched lines still waiting).
        public static let standardOutput = Sink { line in
            pending.withLock { waiting in
                append(line, to: &waiting)
                write(&waiting)
            }
        }

        /// Standard output in batches: lines wait in memory until `capacity` bytes have gathered
        /// or ``flushStandardOutput()`` is called (the gateway's access log, one line per request,
        /// instead of a write per line). Batches and single lines share one lock, so no line is
        /// split by another and their order is kept.
        public static func batchedStandardOutput(capacity: Int) -> Sink {
            Sink { line in
                pending.withLock { waiting in
                    append(line, to: &waiting)
                    if waiting.count >= capacity { write(&waiting) }
                }
            }
        }

        /// Writes the batched lines still waiting.
        public static func flushStandardOutput() {
            pending.withLock { write(&$0) }
        }

        /// Lines written to standard output but not yet out.
        private static let pending = Mutex<[UInt8]>([])

        private static func append(_ line: String, to waiting: inout [UInt8]) {
            waiting.append(contentsOf: line.utf8)
            waiting.append(UInt8(ascii: "\n"))
        }

        private static func write(_ waiting: inout [UInt8]) {
            guard !waiting.isEmpty else { return }
            FileHandle.standardOutput.write(Data(waiting))
            waiting.removeAll(keepingCapacity: waiting.count <= 256 * 1024)
        }
    }

    public init(label: String, level: Logger.Level = .info, sink: Sink = .standardOutput) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: Any] = [
            "ts": Self.timestamp(),
            "level": event.level.rawValue,
            "msg": event.message.description,
            "logger": label,
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for (key, value) in merged {
            object[key] = Self.json(value)
        }
        if event.level >= .error {
            object["source"] = "\(event.source)"
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]),
              let line = String(data: data, encoding: .utf8)
        else { return }
        sink.write(line)
    }

    private static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let string): return string
        case .stringConvertible(let convertible): return convertible.description
        case .array(let array): return array.map(json)
        case .dictionary(let dictionary): return dictionary.mapValues(json)
        }
    }

    private static func timestamp() -> String {
        Date.now.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    /// Installs JSON logging for the process once; later calls keep the first setup.
    public static func bootstrap(level: Logger.Level) {
        bootstrapOnce.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        }
    }

    private static let bootstrapOnce = Mutex(false)
}
