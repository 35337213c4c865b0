import Foundation
import Tickets

/// The benchmark's made-up helpdesk: a fixed vocabulary of 2,000 invented words and, per
/// tenant, the same tickets on every run (a seeded generator), so runs compare.
struct TicketCorpus {
    /// Invented words of three syllables: nothing a real word list would reveal, all searchable.
    static let vocabulary: [String] = {
        let syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "de", "po", "la", "ge", "zu", "fi", "ba", "no"]
        var generator = SeededGenerator(seed: 2026)
        var words: Set<String> = []
        while words.count < 2000 {
            words.insert((0..<3).map { _ in syllables[Int(generator.next() % UInt64(syllables.count))] }.joined())
        }
        return words.sorted()
    }()

    /// Statuses in rough helpdesk proportions (most tickets end resolved or closed).
    static let statuses: [TicketStatus] = [.new, .open, .open, .awaitingCustomer, .awaitingAgent, .resolved, .resolved, .closed, .closed, .closed]
    static let priorities: [TicketPriority] = [.low, .normal, .normal, .normal, .high, .urgent]

    var generator: SeededGenerator

    init(tenant: Int) {
        generator = SeededGenerator(seed: UInt64(tenant) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
    }

    mutating func words(_ count: Int) -> String {
        (0..<count).map { _ in Self.vocabulary[Int(generator.next() % UInt64(Self.vocabulary.count))] }.joined(separator: " ")
    }

    /// `count` tickets spread over the year before `now`: a subject of 4 words, the customer's
    /// opening message of 10 and, unless still new, an agent's reply of 6 two hours later.
    mutating func tickets(_ count: Int, now: Date) -> [TicketSeeder.Ticket] {
        let customer = "user:\(UUID(uuid: (0, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 1)).uuidString.lowercased())"
        let agent = "user:\(UUID(uuid: (0, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 2)).uuidString.lowercased())"
        return (0..<count).map { _ in
            let opened = now.addingTimeInterval(-Double(generator.next() % (365 * 86_400)))
            let status = Self.statuses[Int(generator.next() % UInt64(Self.statuses.count))]
            var messages = [TicketSeeder.Message(body: words(10), kind: .reply, authorType: "customer", author: customer, createdAt: opened)]
            if status != .new {
                messages.append(.init(body: words(6), kind: .reply, authorType: "agent", author: agent, createdAt: opened.addingTimeInterval(7_200)))
            }
            return TicketSeeder.Ticket(subject: words(4), status: status,
                                       priority: Self.priorities[Int(generator.next() % UInt64(Self.priorities.count))], messages: messages)
        }
    }
}

/// SplitMix64: a small seeded generator, so every run seeds the same tickets.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
