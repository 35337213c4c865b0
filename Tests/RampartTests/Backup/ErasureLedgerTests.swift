import Foundation
import RampartCore
import RampartStorage
import Testing

@Suite("Erasure ledger: one line per erasure, whoever writes")
struct ErasureLedgerTests {
    let eu = Region(rawValue: "eu")!

    func entry(_ id: UUID) -> ErasureLedger.Entry {
        .init(kind: "tenant", id: id, region: eu, erasedAt: Date(timeIntervalSince1970: 1_800_000_000), certificateSHA256: String(repeating: "ab", count: 32))
    }

    /// The replicas of a region's backup service share one ledger file: writers racing to record
    /// the same erasures, and others of their own, leave each erasure exactly once and every
    /// line whole.
    @Test func concurrentWritersRecordEachErasureOnce() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("eu.jsonl").path
        let shared = (0..<10).map { _ in UUID() }
        let own = (0..<16).map { _ in UUID() }
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: own.count) { writer in
            // Each writer opens the ledger itself, as separate processes would.
            let ledger = ErasureLedger(path: path)
            do {
                for id in shared.shuffled() + [own[writer]] { try ledger.append(entry(id)) }
            } catch {
                failures.add("\(error)")
            }
        }
        #expect(failures.all.isEmpty)
        let ids = try ErasureLedger(path: path).entries().map(\.id)
        #expect(ids.count == shared.count + own.count)
        #expect(Set(ids) == Set(shared + own))
        #expect(try ErasureLedger(path: path).entries().allSatisfy { $0 == entry($0.id) })
    }

    @Test func aDamagedLineStopsTheReaderAndTheWriter() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("eu.jsonl").path
        let ledger = ErasureLedger(path: path)
        try ledger.append(entry(UUID()))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"kind\":\"tenant\",\"id\":\n".utf8))
        try handle.close()
        #expect(throws: ErasureLedger.LedgerError.self) { try ledger.entries() }
        #expect(throws: ErasureLedger.LedgerError.self) { try ledger.append(entry(UUID())) }
    }

    final class Failures: @unchecked Sendable {
        private let lock = NSLock()
        private var messages: [String] = []
        func add(_ message: String) { lock.withLock { messages.append(message) } }
        var all: [String] { lock.withLock { messages } }
    }
}
