import CArgon2
import Crypto
import Foundation
import NIOPosix
import Synchronization

/// Argon2id cost parameters; stored inside every hash, so they can be raised later.
public struct Argon2Parameters: Sendable, Equatable {
    /// Memory in KiB.
    public var memoryKiB: UInt32
    public var iterations: UInt32
    public var parallelism: UInt32

    public init(memoryKiB: UInt32, iterations: UInt32, parallelism: UInt32) {
        self.memoryKiB = memoryKiB
        self.iterations = iterations
        self.parallelism = parallelism
    }

    /// OWASP's Argon2id recommendation: 19 MiB, 2 passes, 1 lane.
    public static let owasp = Argon2Parameters(memoryKiB: 19 * 1024, iterations: 2, parallelism: 1)
    /// A cheap setting so test suites stay fast; never for production.
    public static let testing = Argon2Parameters(memoryKiB: 64, iterations: 1, parallelism: 1)
}

/// Hashes and verifies passwords with Argon2id (the system libargon2), off the event loops and
/// at most as many at once as the thread pool has threads, so a burst of sign-ins cannot starve
/// request handling.
public struct PasswordHasher: Sendable {
    public let parameters: Argon2Parameters
    private let pool: NIOThreadPool
    /// Counts Argon2id computations, so equal work on every sign-in path can be shown exactly.
    public let meter: Meter?

    /// A counter of Argon2id computations.
    public final class Meter: Sendable {
        private let value = Atomic<Int>(0)
        public init() {}
        public var count: Int { value.load(ordering: .relaxed) }
        func increment() { value.add(1, ordering: .relaxed) }
    }

    /// Passwords longer than this many UTF-8 bytes are refused before hashing (a cheap DoS guard;
    /// policies allow far less).
    public static let maximumInputBytes = 1024

    public init(parameters: Argon2Parameters = .owasp, pool: NIOThreadPool = .singleton, meter: Meter? = nil) {
        self.parameters = parameters
        self.pool = pool
        self.meter = meter
    }

    /// The outcome of checking a password against a stored hash.
    public enum Verification: Equatable, Sendable {
        case mismatch
        /// The password is right; `needsRehash` when the hash used weaker parameters than today's.
        case match(needsRehash: Bool)
    }

    /// A PHC-format Argon2id hash (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) with a fresh 16-byte salt.
    public func hash(_ password: String) async throws -> String {
        let input = try Self.normalizedBytes(password)
        let parameters = self.parameters
        let salt = SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) }
        meter?.increment()
        return try await pool.runIfActive {
            let length = argon2_encodedlen(parameters.iterations, parameters.memoryKiB, parameters.parallelism, UInt32(salt.count), 32, Argon2_id)
            var encoded = [CChar](repeating: 0, count: length)
            let status = input.withUnsafeBytes { password in
                salt.withUnsafeBytes { salt in
                    argon2id_hash_encoded(
                        parameters.iterations, parameters.memoryKiB, parameters.parallelism,
                        password.baseAddress, password.count, salt.baseAddress, salt.count, 32, &encoded, length
                    )
                }
            }
            guard status == ARGON2_OK.rawValue else { throw PasswordHashingError.failed(code: Int(status)) }
            return String(decoding: encoded.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// Checks `password` against `encoded` in constant time (libargon2 compares the digests so).
    public func verify(_ password: String, against encoded: String) async throws -> Verification {
        guard let input = try? Self.normalizedBytes(password), encoded.hasPrefix("$argon2id$") else { return .mismatch }
        let stored = Self.parameters(of: encoded)
        let current = parameters
        meter?.increment()
        return try await pool.runIfActive {
            let status = input.withUnsafeBytes { password in
                argon2id_verify(encoded, password.baseAddress, password.count)
            }
            guard status == ARGON2_OK.rawValue else { return .mismatch }
            let weaker = stored.map { $0.memoryKiB < current.memoryKiB || $0.iterations < current.iterations || $0.parallelism < current.parallelism } ?? true
            return .match(needsRehash: weaker)
        }
    }

    /// Burns the same work as one verification; answers for unknown accounts take as long as for known ones.
    public func verifyAgainstDummy(_ password: String) async throws {
        // One Argon2id computation with today's parameters costs what a verification costs.
        _ = try? await hash(password)
    }

    /// The parameters recorded in a PHC string, or `nil` if it cannot be read.
    static func parameters(of encoded: String) -> Argon2Parameters? {
        let fields = encoded.split(separator: "$")
        guard fields.count >= 4 else { return nil }
        var values: [Substring: UInt32] = [:]
        for pair in fields[2].split(separator: ",") {
            let parts = pair.split(separator: "=")
            guard parts.count == 2, let value = UInt32(parts[1]) else { return nil }
            values[parts[0]] = value
        }
        guard let memory = values["m"], let time = values["t"], let lanes = values["p"] else { return nil }
        return Argon2Parameters(memoryKiB: memory, iterations: time, parallelism: lanes)
    }

    /// NFKC-normalized UTF-8, so the same password typed on different keyboards hashes the same.
    static func normalizedBytes(_ password: String) throws -> [UInt8] {
        let bytes = Array(password.precomposedStringWithCompatibilityMapping.utf8)
        guard bytes.count <= maximumInputBytes else { throw PasswordHashingError.tooLong }
        return bytes
    }
}

/// Why hashing failed.
public enum PasswordHashingError: Error, Equatable, Sendable {
    case tooLong
    case failed(code: Int)
}
