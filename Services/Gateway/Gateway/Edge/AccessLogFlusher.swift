import RampartCore
import RampartTransport
import ServiceLifecycle

/// Writes the access log's batched lines (``AccessLog/batched``) every `interval` and once more
/// when the gateway stops: a line reaches standard output at most `interval` after its request,
/// and a gateway that is killed outright loses at most that much of its log.
struct AccessLogFlusher: Service {
    let interval: Duration

    func run() async throws {
        await Periodic.run(every: interval) { JSONLogHandler.Sink.flushStandardOutput() }
        JSONLogHandler.Sink.flushStandardOutput()
    }
}
