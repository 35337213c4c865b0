/// Finds any of a set of phrases in a value in one pass (Aho–Corasick over bytes, ASCII
/// case-insensitive). Built once when the rules load; matching allocates nothing. A class so that
/// rules share one automaton without copying its tables.
final class PhraseMatcher: Sendable {
    /// The phrases, lowercased, as given.
    let phrases: [[UInt8]]
    /// Byte → column in the transition table; bytes in no phrase share column 0.
    private let byteClass: [UInt8]
    private let classCount: Int
    /// Next state for (state × class).
    private let transitions: [Int32]
    /// For each state, the index of a phrase ending there (directly or through its suffix links), or -1.
    private let output: [Int32]

    /// A matcher for `phrases` (empty phrases are ignored).
    init(_ phrases: [String]) {
        let lowered = phrases.map { Array($0.utf8).map(ASCII.lower) }.filter { !$0.isEmpty }
        self.phrases = lowered
        var byteClass = [UInt8](repeating: 0, count: 256)
        var classCount = 1
        for phrase in lowered {
            for byte in phrase where byteClass[Int(byte)] == 0 {
                byteClass[Int(byte)] = UInt8(classCount)
                classCount += 1
            }
        }
        for upper in UInt8(0x41)...UInt8(0x5A) { byteClass[Int(upper)] = byteClass[Int(upper | 0x20)] }
        // Trie.
        var trie: [[Int32]] = [[Int32](repeating: -1, count: classCount)]
        var output: [Int32] = [-1]
        for (phraseIndex, phrase) in lowered.enumerated() {
            var state = 0
            for byte in phrase {
                let column = Int(byteClass[Int(byte)])
                if trie[state][column] < 0 {
                    trie[state][column] = Int32(trie.count)
                    trie.append([Int32](repeating: -1, count: classCount))
                    output.append(-1)
                }
                state = Int(trie[state][column])
            }
            if output[state] < 0 { output[state] = Int32(phraseIndex) }
        }
        // Breadth-first suffix links, turning the trie into a complete automaton.
        var failure = [Int32](repeating: 0, count: trie.count)
        var queue: [Int] = []
        for column in 0..<classCount {
            if trie[0][column] < 0 {
                trie[0][column] = 0
            } else {
                queue.append(Int(trie[0][column]))
            }
        }
        var head = 0
        while head < queue.count {
            let state = queue[head]
            head += 1
            if output[state] < 0 { output[state] = output[Int(failure[state])] }
            for column in 0..<classCount {
                let next = trie[state][column]
                if next < 0 {
                    trie[state][column] = trie[Int(failure[state])][column]
                } else {
                    failure[Int(next)] = trie[Int(failure[state])][column]
                    queue.append(Int(next))
                }
            }
        }
        self.byteClass = byteClass
        self.classCount = classCount
        self.transitions = trie.flatMap { $0 }
        self.output = output
    }

    /// The first phrase found in `value`: its index and the range it occupies.
    func firstMatch(in value: [UInt8]) -> (phrase: Int, range: Range<Int>)? {
        if phrases.count == 1, phrases[0].count == 1, !ASCII.isLetter(phrases[0][0]) {
            return value.firstIndex(of: phrases[0][0]).map { (0, $0..<$0 + 1) }
        }
        let found: (phrase: Int, end: Int)? = transitions.withUnsafeBufferPointer { transitions in
            byteClass.withUnsafeBufferPointer { byteClass in
                output.withUnsafeBufferPointer { output in
                    value.withUnsafeBufferPointer { bytes in
                        var state = 0
                        for offset in 0..<bytes.count {
                            state = Int(transitions[state &* classCount &+ Int(byteClass[Int(bytes[offset])])])
                            let phrase = output[state]
                            if phrase >= 0 { return (Int(phrase), offset + 1) }
                        }
                        return nil
                    }
                }
            }
        }
        guard let found else { return nil }
        return (found.phrase, found.end - phrases[found.phrase].count..<found.end)
    }
}
