import Foundation

/// Files an operator names on the command line (IdP metadata, public keys, secrets): read whole,
/// as UTF-8 text without surrounding whitespace. A refusal names the option and the path, never
/// what the file holds.
enum OperatorFile {
    /// The text of the file at `path`, given with `option`; refused when it is missing, a folder,
    /// unreadable, not UTF-8 or empty.
    static func text(_ path: String, option: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw ControlError("\(option): \(path) does not exist") }
        guard !isDirectory.boolValue else { throw ControlError("\(option): \(path) is a folder, not a file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw ControlError("\(option): \(path) cannot be read") }
        guard let text = String(data: data, encoding: .utf8) else { throw ControlError("\(option): \(path) is not UTF-8 text") }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw ControlError("\(option): \(path) is empty") }
        return trimmed
    }
}
