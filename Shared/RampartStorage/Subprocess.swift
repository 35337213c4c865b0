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
        /// Standard output as bytes (a body curl fetched, a signed document).
        public let outputData: Data
        public let errorOutput: String
        /// Standard output as text.
        public var output: String { String(decoding: outputData, as: UTF8.self) }
    }

    public let executable: String
    public let arguments: [String]
    /// The child's working directory; `/` by default, so a child running as another OS user
    /// never starts in a folder it may not enter.
    public let workingDirectory: String

    /// `command` is looked up on `PATH` unless it is a path.
    /// What the child reads on standard input: nothing (`/dev/null`) unless given.
    public let input: Data?

    public init(_ command: String, _ arguments: [String], workingDirectory: String = "/", input: Data? = nil) {
        executable = command
        self.arguments = arguments
        self.workingDirectory = workingDirectory
        self.input = input
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
            Thread { continuation.resume(with: Swift.Result { try runHere() }) }.start()
        }
    }

    /// Runs the process to its end on the calling thread, for synchronous callers (a test
    /// signing a document with a command-line tool). Async code uses `run()`.
    public func runHere() throws -> Result {
        let child = try start(input: input == nil ? .closed : .pipe)
        if let input {
            child.write(input)
            child.closeInput()
        }
        return child.waitHere()
    }

    /// Where the child's standard input comes from.
    public enum Input: Sendable {
        /// `/dev/null`.
        case closed
        /// A pipe the caller writes to with `Child.write`.
        case pipe
    }

    /// A started child. Its standard output and error are drained by threads of its own from the
    /// start, so a chatty child never blocks on a full pipe, whatever its caller is doing.
    public final class Child: @unchecked Sendable {
        public let pid: pid_t
        private let lock = NSLock()
        private var inputDescriptor: Int32?
        private var status: Int32?
        /// Left by each of the two draining threads when its pipe reached its end.
        private let drained = DispatchGroup()
        private var outputData = Data()
        private var errorData = Data()

        init(pid: pid_t, input: Int32?, output: Int32, errors: Int32) {
            self.pid = pid
            inputDescriptor = input
            drained.enter()
            drained.enter()
            Thread { [self] in
                let data = Subprocess.readAll(output)
                lock.withLock { outputData = data }
                drained.leave()
            }.start()
            Thread { [self] in
                let data = Subprocess.readAll(errors)
                lock.withLock { errorData = data }
                drained.leave()
            }.start()
        }

        /// Writes `data` to the child's standard input; false once the child stopped reading.
        @discardableResult
        public func write(_ data: Data) -> Bool {
            guard let descriptor = lock.withLock({ inputDescriptor }) else { return false }
            return data.withUnsafeBytes { Subprocess.writeAll(descriptor, $0) }
        }

        /// Closes the child's standard input: end of file for it.
        public func closeInput() {
            lock.withLock {
                if let inputDescriptor { close(inputDescriptor) }
                inputDescriptor = nil
            }
        }

        /// Whether the child has not exited yet.
        public var isRunning: Bool {
            lock.withLock {
                guard status == nil else { return false }
                var raw: Int32 = 0
                let reaped = waitpid(pid, &raw, WNOHANG)
                if reaped == pid { status = Subprocess.exitCode(raw) }
                return reaped == 0
            }
        }

        /// Sends `signal` (SIGTERM unless named) to a child that is still running.
        public func terminate(_ signal: Int32 = SIGTERM) {
            if isRunning { kill(pid, signal) }
        }

        /// Waits, on a thread of its own, for the child to end and for its output.
        public func wait() async -> Result {
            await withCheckedContinuation { continuation in
                Thread { continuation.resume(returning: self.waitHere()) }.start()
            }
        }

        /// Waits on the calling thread for the child to end and for its output.
        public func waitHere() -> Result {
            closeInput()
            drained.wait()
            var raw: Int32 = 0
            var reaped: pid_t = -1
            if lock.withLock({ status == nil }) {
                repeat { reaped = waitpid(pid, &raw, 0) } while reaped == -1 && errno == EINTR
            }
            return lock.withLock {
                // Not reaped here: `isRunning` saw the exit first and kept the status.
                if reaped == pid { status = Subprocess.exitCode(raw) }
                return Result(status: status ?? -1, outputData: outputData, errorOutput: String(decoding: errorData, as: UTF8.self))
            }
        }
    }

    /// Starts the process without waiting for it: for a child the caller talks to over time (a
    /// TLS client fed a request piece by piece) or signals (a service stopped with SIGTERM).
    /// `environment` replaces this process's environment when given.
    public func start(input inputKind: Input = .closed, environment: [String: String]? = nil) throws -> Child {
        var input: [Int32] = [-1, -1], output: [Int32] = [-1, -1], errors: [Int32] = [-1, -1]
        guard inputKind == .closed || Self.pipe2(&input, O_CLOEXEC) == 0,
              Self.pipe2(&output, O_CLOEXEC) == 0,
              Self.pipe2(&errors, O_CLOEXEC) == 0 else {
            let code = errno
            for fd in input + output + errors where fd >= 0 { close(fd) }
            throw SpawnError(executable: executable, code: code)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if inputKind == .pipe {
            posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
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
        var cEnvironment: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { cEnvironment?.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = cEnvironment.map { _ in posix_spawn(&pid, "/usr/bin/env", &actions, &attributes, &cArguments, &cEnvironment!) }
            ?? posix_spawn(&pid, "/usr/bin/env", &actions, &attributes, &cArguments, environ)
        // The child's ends belong to the child alone now.
        for fd in [input[0], output[1], errors[1]] where fd >= 0 { close(fd) }
        guard spawned == 0 else {
            for fd in [input[1], output[0], errors[0]] where fd >= 0 { close(fd) }
            throw SpawnError(executable: executable, code: spawned)
        }
        return Child(pid: pid, input: inputKind == .pipe ? input[1] : nil, output: output[0], errors: errors[0])
    }

    /// A child that exits before reading all its input makes the write fail with EPIPE instead
    /// of the signal killing this process (what servers do anyway).
    private static let brokenPipesIgnored: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// Exited: the exit code; killed by a signal: 128 plus its number, as shells report it.
    static func exitCode(_ status: Int32) -> Int32 {
        (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    /// Writes all of `bytes` to `descriptor`; false when the reader went away.
    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        _ = brokenPipesIgnored
        var offset = 0
        while offset < bytes.count {
            let count = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if count > 0 {
                offset += count
            } else if count < 0 && errno != EINTR {
                return false
            }
        }
        return true
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

    /// Reads `descriptor` to its end and closes it.
    static func readAll(_ descriptor: Int32) -> Data {
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
