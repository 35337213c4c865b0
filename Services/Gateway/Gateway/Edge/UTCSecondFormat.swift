import Glibc
import Synchronization

/// A UTC time formatted with a `strftime` pattern (the C locale's English day and month names),
/// kept for the second it was made for: the edge writes the current time on every request (the
/// `Date` header, the access log's `ts`) and formats it once a second.
final class UTCSecondFormat: Sendable {
    private let pattern: String
    private let last = Mutex<(second: time_t, text: String)?>(nil)

    init(_ pattern: String) {
        self.pattern = pattern
    }

    /// `second` (seconds since 1970) formatted, by default the current one.
    func text(at second: time_t = time(nil)) -> String {
        last.withLock { last in
            if let last, last.second == second { return last.text }
            var time = second
            var parts = tm()
            gmtime_r(&time, &parts)
            var buffer = [CChar](repeating: 0, count: 64)
            let count = strftime(&buffer, buffer.count, pattern, &parts)
            let text = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            last = (second, text)
            return text
        }
    }
}
