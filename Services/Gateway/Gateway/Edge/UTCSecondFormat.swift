import Glibc
import NIOPosix

/// A UTC time formatted with a `strftime` pattern (the C locale's English day and month names),
/// kept for the second it was made for: the edge writes the current time on every request (the
/// `Date` header, the access log's `ts`) and formats it once a second.
///
/// Each thread keeps its own: the event loops' requests share no lock and no string here (a
/// shared one cost each request a lock and a reference count both loops' cores write to). Each
/// instance holds a thread-specific key for as long as the threads live, so there are few: the
/// edge's two are static.
final class UTCSecondFormat: Sendable {
    private let pattern: String
    private let last = ThreadSpecificVariable<Last>()

    /// One thread's formatted second.
    private final class Last: @unchecked Sendable {
        // @unchecked: each instance is read and written by the one thread it was made on.
        var second: time_t
        var text: String

        init(second: time_t, text: String) {
            self.second = second
            self.text = text
        }
    }

    init(_ pattern: String) {
        self.pattern = pattern
    }

    /// `second` (seconds since 1970) formatted, by default the current one.
    func text(at second: time_t = time(nil)) -> String {
        if let last = last.currentValue {
            if last.second != second {
                last.text = format(second)
                last.second = second
            }
            return last.text
        }
        let made = Last(second: second, text: format(second))
        last.currentValue = made
        return made.text
    }

    private func format(_ second: time_t) -> String {
        var time = second
        var parts = tm()
        gmtime_r(&time, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, pattern, &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
