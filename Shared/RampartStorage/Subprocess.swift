import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process run to completion with its output captured: the way Rampart drives the
/// PostgreSQL tools it does not reimplement (pgBackRest, pg_ctl).
///
/// Spawned with `posix_spawn` and reaped with `waitpid` rather than through Foundation's
/// `Process`, which learns of a child's exit from a descriptor the child inherits: a daemon the
/// child starts (`pg_ctl start`) keeps that descriptor open, and the exit would never be seen.
public struct Subprocess: Sendable {
    /// What a finished process printed and how it ended.
    public struct Result: Sendable {
        public let status: Int32
        public let output: String
        public let errorOutput: String
    }

    public let executable: String
    public let arguments: [String]
    /// The child's working directory; `/` by default, so a child running as another OS user
    /// never starts in a folder it may not enter.
    public let workingDirectory: String

    /// `command` is looked up on `PATH` unless it is a path.
    public init(_ command: String, _ arguments: [String], workingDirectory: String = "/") {
        executable = command
        self.arguments = arguments
        self.workingDirectory = workingDirectory
    }

    /// `command` run as the OS account `user` when this process is root and `user` is given
    /// (`runuser`), as the current account otherwise.
    public static func asUser(_ user: String?, _ command: String, _ arguments: [String]) -> Subprocess {
        if let user, getuid() == 0 {
            return Subprocess("runuser", ["-u", user, "--", command] + arguments)
        }
        return Subprocess(command, arguments)
    }

    /// A child that could not be started.
    public struct SpawnError: Error, CustomStringConvertible {
        public let executable: String
        public let code: Int32
        public var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
    }

    /// Runs the process and waits for it on a thread of its own: never one of the concurrency
    /// pool's, nor one of Dispatch's bounded pool, which many waiting runs could exhaust while
    /// each still needs a second thread to drain its standard error.
    public func run() async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Swift.Result { try runBlocking() }) }.start()
        }
    }

    private func runBlocking() throws -> Result {
        var output: [Int32] = [-1, -1], errors: [Int32] = [-1, -1]
        guard Self.pipe2(&output, O_CLOEXEC) == 0 else { throw SpawnError(executable: executable, code: errno) }
        guard Self.pipe2(&errors, O_CLOEXEC) == 0 else {
            close(output[0]); close(output[1])
            throw SpawnError(executable: executable, code: errno)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
        // Nothing else of this process reaches the child: a daemon it starts (a test's S3 store,
        // PostgreSQL) would otherwise hold this process's sockets — database connections among
        // them — open for as long as it runs.
        _ = Self.addCloseFrom(&actions, 3)
        // The child starts with no signal blocked and default dispositions, whatever the caller
        // (a test runner blocks SIGTERM in its threads) had: `timeout` and `pg_ctl stop` work.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        // `env --chdir` sets the working directory and finds the command on PATH.
        let argv = ["/usr/bin/env", "--chdir=\(workingDirectory)", executable] + arguments
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, &attributes, &cArguments, environ)
        close(output[1])
        close(errors[1])
        guard spawned == 0 else {
            close(output[0]); close(errors[0])
            throw SpawnError(executable: executable, code: spawned)
        }
        // Both pipes are drained at once so a chatty child never blocks on a full pipe.
        let drained = DispatchSemaphore(value: 0)
        let standardError = Drained()
        let errorDescriptor = errors[0]
        Thread {
            standardError.data = Self.readAll(errorDescriptor)
            drained.signal()
        }.start()
        let standardOutput = Self.readAll(output[0])
        drained.wait()
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // Exited: the exit code; killed by a signal: 128 plus its number, as shells report it.
        let code = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return Result(status: code, output: String(decoding: standardOutput, as: UTF8.self), errorOutput: String(decoding: standardError.data, as: UTF8.self))
    }

    /// `pipe2(2)`, which Swift's Glibc module does not export: pipes created close-on-exec at
    /// once, so a child spawned by another thread meanwhile never inherits them (a daemon holding
    /// a copy would keep the pipe open forever).
    private static let pipe2: @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32 = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2") else { fatalError("libc without pipe2") }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32).self)
    }()

    /// `posix_spawn_file_actions_addclosefrom_np(3)` (glibc 2.34), which Swift's Glibc module does
    /// not export: the child closes every descriptor from the given one up.
    private static let addCloseFrom: @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32 = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            fatalError("libc without posix_spawn_file_actions_addclosefrom_np")
        }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// What the draining thread read; read only after it signalled that it finished.
    private final class Drained: @unchecked Sendable {
        var data = Data()
    }

    /// Reads `descriptor` to its end and closes it.
    private static func readAll(_ descriptor: Int32) -> Data {
        defer { close(descriptor) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count > 0 {
                data.append(buffer, count: count)
            } else if count == 0 || errno != EINTR {
                return data
            }
        }
    }
}
