import Foundation
@testable import Audit
import RampartCore
import RampartSecurity
import Testing

@Suite("Audit: GeoIP reader (MaxMind DB)")
struct AuditGeoIPTests {
    /// Addresses to compare: the edges and insides of every test network, random IPv4 addresses
    /// over the whole space and random IPv6 addresses inside and outside the test networks.
    static func addresses() -> [String] {
        var addresses = [
            "1.0.0.0", "1.0.0.255", "1.0.2.0", "5.10.0.0", "5.10.127.255", "5.10.128.0", "5.10.255.255", "5.11.0.1", "5.9.255.255",
            "5.12.0.0", "1.120.0.0", "1.127.255.255", "1.128.0.0", "23.20.0.0", "23.23.255.255", "23.24.0.0", "43.224.10.10",
            "41.0.0.1", "0.0.0.0", "255.255.255.255", "2a01:4f8::", "2a01:4f8:ffff:ffff:ffff:ffff:ffff:ffff", "2a01:4f9::1",
            "2001:44b8:1234::9", "2001:44b7::1", "::", "::1", "ffff::1",
        ]
        // Never in 1.0.1.0/24, the padding the reference reader refuses to decode.
        while addresses.count < 428 {
            let address = (0..<4).map { _ in UInt8.random(in: 0...255) }
            if address[0..<3] != [1, 0, 1] { addresses.append(address.map(String.init).joined(separator: ".")) }
        }
        for prefix in ["2a01:4f8", "2001:44b8", "2600:1f18", "fe80:0"] {
            for _ in 0..<25 {
                addresses.append(prefix + ":" + (0..<6).map { _ in String(UInt16.random(in: 0...UInt16.max), radix: 16) }.joined(separator: ":"))
            }
        }
        return addresses
    }

    @Test(arguments: [24, 28, 32])
    func readsWhatTheReferenceReaderReads(recordSize: Int) async throws {
        // With 28 and 32 bits, 16.8 MB of padding put the cities' records beyond 2^24, so the
        // record bits above 24 (the shared nibble of 28-bit nodes) are exercised.
        let path = try await GeoIPTestDatabase.write(recordSize: recordSize, padding: recordSize == 24 ? 0 : 16_800_000)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let database = try MaxMindDatabase(contentsOf: path)
        #expect(database.recordSize == recordSize)
        #expect(database.ipVersion == 6)
        #expect(database.databaseType == "GeoLite2-City")
        let addresses = Self.addresses()
        let reference = try await GeoIPTestDatabase.reference(path, addresses: addresses)
        #expect(reference.count == Set(addresses).count)
        var located = 0
        for address in addresses {
            let ours = try database.lookup(GeoIPTestDatabase.bytes(address))
            if ours != nil { located += 1 }
            #expect(GeoIPTestDatabase.canonical(ours) == reference[address], "\(address)")
        }
        // The comparison is not vacuous: the fixed addresses alone find records.
        #expect(located >= 15)
        // Every data type the format has, through every pointer size the file uses.
        let types = try #require(try database.lookup(GeoIPTestDatabase.bytes("1.0.0.7")))
        #expect(types["uint128"] == .uint128([0x10] + [UInt8](repeating: 0, count: 11) + [0x03]))
        #expect(types["int32"] == .int32(-123_456))
        #expect(types["float"] == .float(0.5))
        #expect(types["bool_false"] == .boolean(false))
        #expect(types["utf8"] == .string("Zürich – 東京"))
        if case .string(let long)? = types["long"] { #expect(long.count == 600_000) } else { Issue.record("no long string") }
    }

    @Test func locatesCitiesAndSkipsAddressesThatSayNothingAboutAPlace() async throws {
        let path = try await GeoIPTestDatabase.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let locator = GeoIPLocator(database: try MaxMindDatabase(contentsOf: path))
        let berlin = try #require(try locator.locate("5.10.1.1"))
        #expect(berlin == GeoLocation(city: "Berlin", country: "DE", latitude: 52.52, longitude: 13.405))
        #expect(try locator.locate("5.10.200.1")?.city == "Hamburg")
        #expect(try locator.locate("::ffff:5.10.1.1") == berlin)
        #expect(try locator.locate("2001:44b8::7")?.city == "Sydney")
        let sydney = try #require(try locator.locate("1.121.0.1"))
        #expect(abs(berlin.distance(to: sydney) - 16_090) < 30)
        #expect(abs(berlin.distance(to: try #require(try locator.locate("5.11.2.3"))) - 27) < 3)
        // Not in the database, no coordinates (country only), private, loopback, link-local,
        // shared, documentation, unique local, not an address at all.
        for address in ["8.8.8.8", "41.0.0.1", "10.1.2.3", "192.168.1.1", "172.16.0.1", "127.0.0.1", "169.254.1.1", "100.64.0.1",
                        "192.0.2.1", "fd00::1", "fe80::1", "::1", "2001:db8::1", "", "5.10.1", "5.10.1.1.1", "banana", "5.10.1.1/24"] {
            #expect(try locator.locate(address) == nil, "\(address)")
        }
    }

    @Test func truncatedOrCorruptFilesAreErrorsNeverCrashes() async throws {
        let path = try await GeoIPTestDatabase.write(recordSize: 28)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        for length in [0, 1, 16, 100, original.count / 2, original.count - 300, original.count - 20, original.count - 1] {
            #expect(throws: MaxMindError.self, "\(length) bytes") { try MaxMindDatabase(bytes: Array(original.prefix(length))) }
        }
        #expect(throws: MaxMindError.metadataNotFound) { try MaxMindDatabase(bytes: (0..<50_000).map { _ in UInt8.random(in: 0...255) }) }
        // The data section cut short, the metadata kept: opening works, the lookup that reads past
        // the cut is an error.
        let marker = try #require(Self.lastRange(of: MaxMindDatabase.marker, in: original))
        let cut = try MaxMindDatabase(bytes: Array(original[..<(marker - 599_000)]) + Array(original[marker...]))
        #expect(throws: MaxMindError.self) { try cut.lookup(GeoIPTestDatabase.bytes("5.10.1.1")) }
        // Random damage anywhere before the metadata: every open and lookup either answers or
        // throws MaxMindError.
        let probes = ["5.10.1.1", "5.10.200.1", "5.11.0.1", "1.120.0.1", "1.0.0.1", "8.8.8.8", "2a01:4f8::1", "43.224.0.1"].map(GeoIPTestDatabase.bytes)
        for _ in 0..<200 {
            var damaged = original
            for _ in 0..<Int.random(in: 1...8) {
                // Mostly in the tree and the start of the data section, where the records are.
                let index = Bool.random() ? Int.random(in: 0..<min(4096, marker)) : Int.random(in: 0..<marker)
                damaged[index] = UInt8.random(in: 0...255)
            }
            guard let database = try? MaxMindDatabase(bytes: damaged) else { continue }
            for probe in probes {
                do { _ = try database.lookup(probe) } catch is MaxMindError {} catch { Issue.record("unexpected \(error)") }
            }
        }
    }

    @Test func hostileStructuresAreRefused() throws {
        // A map whose value points back at the map itself: endless without a depth limit.
        let cycle = try Tiny.database(data: [0xE1, 0x41, 0x6B, 0x20, 0x00])
        #expect(throws: MaxMindError.tooComplex(offset: 22)) { try cycle.lookup([5, 10, 1, 1]) }
        // A pointer to a pointer, which the specification forbids.
        let chain = try Tiny.database(data: [0x20, 0x02, 0x20, 0x02, 0x41, 0x6B])
        #expect(throws: MaxMindError.self) { try chain.lookup([5, 10, 1, 1]) }
        // A string claiming more bytes than the section has.
        let long = try Tiny.database(data: [0x5F, 0xFF, 0xFF, 0xFF, 0x41])
        #expect(throws: MaxMindError.outOfBounds(offset: 26)) { try long.lookup([5, 10, 1, 1]) }
        // A double of the wrong size, invalid UTF-8, a data cache container where a value belongs.
        for data: [UInt8] in [[0x64, 0, 0, 0, 0], [0x42, 0xC3, 0x28], [0x00, 0x05]] {
            let database = try Tiny.database(data: data)
            #expect(throws: MaxMindError.self) { try database.lookup([5, 10, 1, 1]) }
        }
        // Metadata that breaks the file's own layout.
        #expect(throws: MaxMindError.invalidMetadata("record_size 25 is not 24, 28 or 32")) { try Tiny.database(data: [0x41, 0x6B], recordSize: 25) }
        #expect(throws: MaxMindError.invalidMetadata("search tree larger than the file")) { try Tiny.database(data: [0x41, 0x6B], nodeCount: 1000) }
        #expect(throws: MaxMindError.self) { try Tiny.database(data: [0x41, 0x6B], separator: [UInt8](repeating: 1, count: 16)) }
        #expect(throws: MaxMindError.invalidMetadata("binary_format_major_version is not 2")) { try Tiny.database(data: [0x41, 0x6B], major: 3) }
        // And a well-formed tiny file reads.
        #expect(try Tiny.database(data: [0x41, 0x6B]).lookup([5, 10, 1, 1]) == .string("k"))
    }

    @Test func theServiceRefusesToStartWithABadDatabaseAndNamesTheKey() async throws {
        let pki = try TestPKI()
        let truncated = pki.directory.appendingPathComponent("truncated.mmdb")
        let written = try await GeoIPTestDatabase.write()
        defer { try? FileManager.default.removeItem(atPath: written) }
        try Data(contentsOf: URL(fileURLWithPath: written)).prefix(4000).write(to: truncated)
        let country = pki.directory.appendingPathComponent("country.mmdb")
        try Data(try Tiny.bytes(data: [0x41, 0x6B], type: "GeoLite2-Country")).write(to: country)
        var values = try ServiceProcessTests().environment(.audit, pki: pki, database: nil, port: 1)
        for (path, reason) in [(truncated.path, "no MaxMind DB metadata found"), (country.path, "is not a City database"),
                               (pki.directory.appendingPathComponent("missing.mmdb").path, "does not exist or is not readable")] {
            values[GeoIPLocator.configKey] = path
            let config = try ServiceConfig(service: .audit, source: ConfigSource(values: values))
            let error = #expect(throws: ConfigError.self) { try GeoIPLocator.load(config: config) }
            #expect(error?.key == "RAMPART_AUDIT_GEOIP_DB")
            #expect(error?.reason.contains(reason) == true, "\(error?.reason ?? "")")
        }
        values[GeoIPLocator.configKey] = truncated.path
        let outcome = try await ServiceProcessTests.run("rampart-audit", environment: values)
        #expect(outcome.status == 78)
        #expect(outcome.stderr.hasPrefix("rampart-audit: configuration error: RAMPART_AUDIT_GEOIP_DB: \(truncated.path): no MaxMind DB metadata found"))
        #expect(outcome.stderr.split(separator: "\n").count == 1)
        values[GeoIPLocator.configKey] = nil
        #expect(try GeoIPLocator.load(config: ServiceConfig(service: .audit, source: ConfigSource(values: values))) == nil)
    }

    static func lastRange(of needle: [UInt8], in bytes: [UInt8]) -> Int? {
        var index = bytes.count - needle.count
        while index >= 0 {
            if bytes[index..<index + needle.count].elementsEqual(needle) { return index }
            index -= 1
        }
        return nil
    }

    /// Hand-built IPv4 databases of one node whose both records point at `data`'s first byte.
    enum Tiny {
        static func database(data: [UInt8], recordSize: Int = 24, nodeCount: UInt32 = 1, separator: [UInt8] = [UInt8](repeating: 0, count: 16),
                             major: UInt16 = 2) throws -> MaxMindDatabase {
            try MaxMindDatabase(bytes: bytes(data: data, recordSize: recordSize, nodeCount: nodeCount, separator: separator, major: major))
        }

        static func bytes(data: [UInt8], recordSize: Int = 24, nodeCount: UInt32 = 1, separator: [UInt8] = [UInt8](repeating: 0, count: 16),
                          major: UInt16 = 2, type: String = "GeoLite2-City") throws -> [UInt8] {
            // Record value node_count + 16: the data section's first byte.
            let tree: [UInt8] = [0, 0, 17, 0, 0, 17]
            func string(_ text: String) -> [UInt8] { [0x40 | UInt8(text.utf8.count)] + Array(text.utf8) }
            func uint16(_ value: UInt16) -> [UInt8] { [0xA2, UInt8(value >> 8), UInt8(value & 0xff)] }
            let metadata: [UInt8] = [0xE5]
                + string("node_count") + [0xC4] + withUnsafeBytes(of: nodeCount.bigEndian, Array.init)
                + string("record_size") + uint16(UInt16(recordSize))
                + string("ip_version") + uint16(4)
                + string("binary_format_major_version") + uint16(major)
                + string("database_type") + string(type)
            return tree + separator + data + MaxMindDatabase.marker + metadata
        }
    }
}
