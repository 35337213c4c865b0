import Crypto
import Foundation
import RampartSecurity

/// Files holding secrets: written atomically with mode 0600, never printed.
enum SecretFile {
    /// Writes `data` to `path` (mode 0600) through a temporary file and a rename.
    static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw ControlError("cannot write \(path)")
        }
        guard rename(temporary.path, url.path) == 0 else {
            unlink(temporary.path)
            throw ControlError("cannot write \(path)")
        }
    }

    static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    /// Writes a non-secret file (mode 0644) atomically.
    static func writePublic(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
        chmod(path, 0o644)
    }

    /// The file's text, trimmed; `nil` when absent.
    static func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).flatMap { String(data: $0, encoding: .utf8) }?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A new random password: 32 bytes, base64url (256 bits).
    static func generatePassword() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Base64URL.encode($0) }
    }

    /// The password stored at `path`, generated and stored first if there is none.
    static func password(at path: String) throws -> String {
        if let existing = read(path), !existing.isEmpty { return existing }
        let password = generatePassword()
        try write(password, to: path)
        return password
    }
}

/// A command failure; its text is the one line printed.
struct ControlError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
