import Foundation
@testable import Audit
import RampartStorage
#if canImport(Glibc)
import Glibc
#endif

/// A small City database written by mmdb-writer (`Fixtures/geoip/geoip.py`, PyPI packages that
/// `Deploy/local/install-deps.sh` installs), and MaxMind's reference reader to compare with.
enum GeoIPTestDatabase {
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/geoip/geoip.py").path
    }

    /// Writes the test database with `recordSize`-bit records, the cities' records after
    /// `padding` bytes; returns its path.
    static func write(recordSize: Int = 24, padding: Int = 0) async throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rampart-geoip-\(UUID().uuidString.prefix(8)).mmdb").path
        let result = try await Subprocess("python3", [script, "write", path, String(recordSize), String(padding)]).run()
        guard result.status == 0 else { throw TestSetupError("geoip.py write failed: \(result.errorOutput)") }
        return path
    }

    /// The reference reader's record of each address, in the canonical form ``canonical(_:)``
    /// writes.
    static func reference(_ database: String, addresses: [String]) async throws -> [String: String] {
        let input = Data(addresses.joined(separator: "\n").utf8)
        let result = try await Subprocess("python3", [script, "read", database], input: input).run()
        guard result.status == 0 else { throw TestSetupError("geoip.py read failed: \(result.errorOutput)") }
        var records: [String: String] = [:]
        for line in result.output.split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            records[String(line[..<space])] = String(line[line.index(after: space)...])
        }
        return records
    }

    /// `value` as geoip.py prints the reference reader's records: sorted keys, integers in
    /// decimal, floats as shortest round-trip text, bytes in hex.
    static func canonical(_ value: MaxMindValue?) -> String {
        guard let value else { return "null" }
        switch value {
        case .string(let text): return "\"\(text)\""
        case .double(let number): return "\(number)"
        case .float(let number): return "\(Double(number))"
        case .bytes(let bytes): return "b" + bytes.map { String(format: "%02x", $0) }.joined()
        case .unsigned(let number): return "\(number)"
        case .uint128(let bytes): return "\(bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) })"
        case .int32(let number): return "\(number)"
        case .boolean(let flag): return flag ? "true" : "false"
        case .array(let items): return "[" + items.map { canonical($0) }.joined(separator: ",") + "]"
        case .map(let entries): return "{" + entries.keys.sorted().map { "\($0):\(canonical(entries[$0]))" }.joined(separator: ",") + "}"
        }
    }

    /// An address's bytes, whatever range it is in (the reader's tests look up any address).
    static func bytes(_ address: String) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 16)
        if address.contains(":") {
            return inet_pton(AF_INET6, address, &bytes) == 1 ? bytes : []
        }
        return inet_pton(AF_INET, address, &bytes) == 1 ? Array(bytes[0..<4]) : []
    }
}
