/// A QR code (ISO/IEC 18004) in byte mode.
///
/// Encodes one byte-mode segment, picks the smallest version that fits, adds
/// Reed–Solomon error correction, and chooses the mask with the lowest
/// penalty score (rules N1–N4) unless a mask is given.
public struct QRCode: Sendable, Equatable {
    /// The error correction level; higher levels survive more damage but hold less data.
    public enum ErrorCorrection: Sendable {
        /// Level L: recovers about 7% of codewords.
        case low
        /// Level M: recovers about 15% of codewords.
        case medium
        /// Level Q: recovers about 25% of codewords.
        case quartile
        /// Level H: recovers about 30% of codewords.
        case high
    }

    /// Why a QR code could not be built.
    public enum EncodingError: Error, Sendable {
        /// The data does not fit in any version from `minimumVersion` through 40 at the requested level.
        case tooLong
    }

    /// Modules per side: `21 + 4 * (version - 1)`.
    public let size: Int
    /// The symbol version, 1...40.
    public let version: Int
    /// The data mask pattern, 0...7.
    public let mask: Int
    /// The module matrix; `modules[y][x] == true` for dark. No quiet zone is included.
    public let modules: [[Bool]]

    /// Smallest version (1...40) that fits `bytes` at `correction`; mask chosen by the standard penalty rules unless `mask` (0...7) is given.
    ///
    /// - Precondition: `mask`, when given, is in `0...7`.
    /// - Throws: `EncodingError.tooLong` when the bytes fit no version from `minimumVersion` through 40.
    public init(
        bytes: [UInt8],
        correction: ErrorCorrection = .medium,
        mask: Int? = nil,
        minimumVersion: Int = 1
    ) throws(EncodingError) {
        if let mask { precondition((0...7).contains(mask), "QR mask must be in 0...7") }
        let firstVersion = max(1, minimumVersion)
        guard firstVersion <= 40,
              let version = (firstVersion...40).first(where: { Self.fits(bytes.count, version: $0, correction: correction) })
        else { throw .tooLong }

        let data = Self.dataCodewords(bytes, version: version, correction: correction)
        let codewords = Self.interleaved(data, version: version, correction: correction)

        var canvas = Canvas(version: version)
        canvas.place(codewords)

        var chosen = mask ?? 0
        var matrix = canvas.finished(mask: chosen, correction: correction)
        if mask == nil {
            var lowest = Self.penalty(matrix)
            for candidate in 1..<8 {
                let trial = canvas.finished(mask: candidate, correction: correction)
                let score = Self.penalty(trial)
                if score < lowest { (chosen, matrix, lowest) = (candidate, trial, score) }  // ties keep the lower mask
            }
        }
        self.version = version
        self.size = canvas.size
        self.mask = chosen
        self.modules = matrix
    }

    /// Encodes the UTF-8 bytes of `text` at the smallest fitting version, with an automatically chosen mask.
    ///
    /// - Throws: `EncodingError.tooLong` when the text fits no version.
    public init(text: String, correction: ErrorCorrection = .medium) throws(EncodingError) {
        try self.init(bytes: Array(text.utf8), correction: correction)
    }

    /// An SVG document: one <path> of dark modules (no scripts, no external refs), `quietZone` modules of margin (default 4), scalable via viewBox, with role="img" and an aria-label given by the caller (escape it for XML).
    ///
    /// One user unit is one module. A white `<rect>` backs the symbol so it scans on dark pages;
    /// a negative `quietZone` is treated as 0.
    public func svg(label: String, quietZone: Int = 4) -> String {
        let margin = max(0, quietZone)
        let extent = size + 2 * margin
        var path = ""
        for (y, row) in modules.enumerated() {
            var x = 0
            while x < size {
                guard row[x] else { x += 1; continue }
                let start = x
                while x < size, row[x] { x += 1 }
                path += "M\(start + margin),\(y + margin)h\(x - start)v1h-\(x - start)z"
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(extent) \(extent)" \
            role="img" aria-label="\(Self.xmlEscaped(label))" shape-rendering="crispEdges">\
            <rect width="\(extent)" height="\(extent)" fill="#fff"/>\
            <path fill="#000" d="\(path)"/></svg>
            """
    }
}

// MARK: - Data encoding

extension QRCode {
    /// Whether `count` bytes fit in `version` at `correction`.
    private static func fits(_ count: Int, version: Int, correction: ErrorCorrection) -> Bool {
        let bits = 4 + countBits(version) + 8 * count
        return bits <= 8 * dataCapacity(version: version, correction: correction)
    }

    /// Width of the byte-mode character count field.
    private static func countBits(_ version: Int) -> Int {
        version <= 9 ? 8 : 16
    }

    /// The segment bits, terminator, bit padding and pad bytes, as data codewords.
    private static func dataCodewords(_ bytes: [UInt8], version: Int, correction: ErrorCorrection) -> [UInt8] {
        let capacity = dataCapacity(version: version, correction: correction)
        var bits: [Bool] = []
        bits.reserveCapacity(capacity * 8)
        func append(_ value: Int, _ count: Int) {
            for i in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> i) & 1 == 1) }
        }
        append(0b0100, 4)
        append(bytes.count, countBits(version))
        for byte in bytes { append(Int(byte), 8) }
        append(0, min(4, capacity * 8 - bits.count))
        append(0, (8 - bits.count % 8) % 8)

        var data = stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<start + 8].reduce(UInt8(0)) { $0 << 1 | ($1 ? 1 : 0) }
        }
        var pad: UInt8 = 0xEC
        while data.count < capacity {
            data.append(pad)
            pad ^= 0xEC ^ 0x11
        }
        return data
    }

    /// Splits data into blocks, appends each block's Reed–Solomon codewords, and interleaves them.
    private static func interleaved(_ data: [UInt8], version: Int, correction: ErrorCorrection) -> [UInt8] {
        let blockCount = blocks(version, correction)
        let eccLength = eccPerBlock(version, correction)
        let total = rawModules(version) / 8
        let shortCount = blockCount - total % blockCount
        let dataLength = total / blockCount - eccLength
        let divisor = reedSolomonDivisor(degree: eccLength)

        var dataBlocks: [ArraySlice<UInt8>] = []
        var eccBlocks: [[UInt8]] = []
        var offset = 0
        for index in 0..<blockCount {
            let length = dataLength + (index < shortCount ? 0 : 1)
            let block = data[offset..<offset + length]
            offset += length
            dataBlocks.append(block)
            eccBlocks.append(reedSolomonRemainder(block, divisor: divisor))
        }

        var result: [UInt8] = []
        result.reserveCapacity(total)
        for column in 0...dataLength {
            for block in dataBlocks where column < block.count {
                result.append(block[block.startIndex + column])
            }
        }
        for column in 0..<eccLength {
            for block in eccBlocks { result.append(block[column]) }
        }
        return result
    }

    /// Number of data codewords (total minus error correction) for a version and level.
    private static func dataCapacity(version: Int, correction: ErrorCorrection) -> Int {
        rawModules(version) / 8 - eccPerBlock(version, correction) * blocks(version, correction)
    }

    /// Modules available for data and ECC (including remainder bits) once function patterns are placed.
    private static func rawModules(_ version: Int) -> Int {
        var result = (16 * version + 128) * version + 64
        if version >= 2 {
            let alignCount = version / 7 + 2
            result -= (25 * alignCount - 10) * alignCount - 55
            if version >= 7 { result -= 36 }
        }
        return result
    }

    /// Row of the tables below for a level.
    private static func tableRow(_ correction: ErrorCorrection) -> Int {
        switch correction {
        case .low: 0
        case .medium: 1
        case .quartile: 2
        case .high: 3
        }
    }

    /// Error correction codewords per block (ISO/IEC 18004 Table 9), indexed by level then version − 1.
    private static let eccTable: [[Int]] = [
        [7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28,
         28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
        [10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
         26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
        [13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30,
         28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
        [17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28,
         30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
    ]

    /// Number of error correction blocks (ISO/IEC 18004 Table 9), indexed by level then version − 1.
    private static let blockTable: [[Int]] = [
        [1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8,
         8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
        [1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
         17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
        [1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20,
         23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68],
        [1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25,
         25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81],
    ]

    /// Error correction codewords per block.
    private static func eccPerBlock(_ version: Int, _ correction: ErrorCorrection) -> Int {
        eccTable[tableRow(correction)][version - 1]
    }

    /// Number of error correction blocks.
    private static func blocks(_ version: Int, _ correction: ErrorCorrection) -> Int {
        blockTable[tableRow(correction)][version - 1]
    }
}

// MARK: - Reed–Solomon over GF(256), primitive polynomial 0x11D

extension QRCode {
    /// Powers of α = 2 in GF(256): `exponents[i] == αⁱ` for i in 0..<255.
    private static let exponents: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 255)
        var value = 1
        for i in 0..<255 {
            table[i] = UInt8(value)
            value <<= 1
            if value > 0xFF { value ^= 0x11D }
        }
        return table
    }()

    /// Discrete logarithms base α: `logarithms[αⁱ] == i`; entry 0 is unused.
    private static let logarithms: [Int] = {
        var table = [Int](repeating: 0, count: 256)
        for (i, value) in exponents.enumerated() { table[Int(value)] = i }
        return table
    }()

    /// Product of two field elements.
    private static func multiply(_ x: UInt8, _ y: UInt8) -> UInt8 {
        guard x != 0, y != 0 else { return 0 }
        return exponents[(logarithms[Int(x)] + logarithms[Int(y)]) % 255]
    }

    /// Coefficients of ∏(x − αⁱ) for i in 0..<degree, highest power first, leading 1 omitted.
    private static func reedSolomonDivisor(degree: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: degree)
        result[degree - 1] = 1
        for i in 0..<degree {
            let root = exponents[i]
            for j in 0..<degree {
                result[j] = multiply(result[j], root)
                if j + 1 < degree { result[j] ^= result[j + 1] }
            }
        }
        return result
    }

    /// The remainder of `data · x^degree` divided by the generator polynomial.
    private static func reedSolomonRemainder(_ data: ArraySlice<UInt8>, divisor: [UInt8]) -> [UInt8] {
        let degree = divisor.count
        var result = [UInt8](repeating: 0, count: degree)
        for byte in data {
            let factor = byte ^ result[0]
            for i in 0..<degree - 1 { result[i] = result[i + 1] ^ multiply(divisor[i], factor) }
            result[degree - 1] = multiply(divisor[degree - 1], factor)
        }
        return result
    }
}

// MARK: - Module placement

extension QRCode {
    /// A module grid under construction: function patterns drawn, data placed, unmasked.
    private struct Canvas {
        /// Modules per side.
        let size: Int
        /// Symbol version.
        let version: Int
        /// Module colours, row-major: `dark[y * size + x]`.
        var dark: [Bool]
        /// Modules belonging to function patterns (never masked, never data), row-major.
        var reserved: [Bool]

        /// Draws every function pattern for `version`, reserving the format areas.
        init(version: Int) {
            self.version = version
            size = 4 * version + 17
            dark = Array(repeating: false, count: size * size)
            reserved = dark

            for i in 0..<size {
                set(6, i, i % 2 == 0)
                set(i, 6, i % 2 == 0)
            }
            for (x, y) in [(3, 3), (size - 4, 3), (3, size - 4)] { drawFinder(x, y) }
            let centers = Self.alignmentCenters(version)
            let last = centers.count - 1
            for (i, y) in centers.enumerated() {
                for (j, x) in centers.enumerated() {
                    let overlapsFinder = (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0)
                    if !overlapsFinder { drawAlignment(x, y) }
                }
            }
            drawFormat(0)
            drawVersion()
        }

        /// Sets a function module.
        private mutating func set(_ x: Int, _ y: Int, _ isDark: Bool) {
            dark[y * size + x] = isDark
            reserved[y * size + x] = true
        }

        /// A finder pattern centred at (x, y) plus its separator.
        private mutating func drawFinder(_ x: Int, _ y: Int) {
            for dy in -4...4 {
                for dx in -4...4 where (0..<size).contains(x + dx) && (0..<size).contains(y + dy) {
                    let ring = max(abs(dx), abs(dy))
                    set(x + dx, y + dy, ring != 2 && ring != 4)
                }
            }
        }

        /// A 5×5 alignment pattern centred at (x, y).
        private mutating func drawAlignment(_ x: Int, _ y: Int) {
            for dy in -2...2 {
                for dx in -2...2 { set(x + dx, y + dy, max(abs(dx), abs(dy)) != 1) }
            }
        }

        /// Alignment pattern centre coordinates (ISO/IEC 18004 Annex E), ascending.
        static func alignmentCenters(_ version: Int) -> [Int] {
            guard version > 1 else { return [] }
            let count = version / 7 + 2
            let step = version == 32 ? 26 : (version * 4 + count * 2 + 1) / (count * 2 - 2) * 2
            let last = version * 4 + 10
            return [6] + (0..<count - 1).reversed().map { last - $0 * step }
        }

        /// Both copies of the 15-bit format information, plus the dark module.
        mutating func drawFormat(_ formatData: Int) {
            var remainder = formatData
            for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
            let bits = (formatData << 10 | remainder) ^ 0x5412
            func bit(_ i: Int) -> Bool { (bits >> i) & 1 == 1 }

            for i in 0...5 { set(8, i, bit(i)) }
            set(8, 7, bit(6))
            set(8, 8, bit(7))
            set(7, 8, bit(8))
            for i in 9..<15 { set(14 - i, 8, bit(i)) }

            for i in 0..<8 { set(size - 1 - i, 8, bit(i)) }
            for i in 8..<15 { set(8, size - 15 + i, bit(i)) }
            set(8, size - 8, true)
        }

        /// Both copies of the 18-bit version information (versions 7 and up).
        private mutating func drawVersion() {
            guard version >= 7 else { return }
            var remainder = version
            for _ in 0..<12 { remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25) }
            let bits = version << 12 | remainder
            for i in 0..<18 {
                let isDark = (bits >> i) & 1 == 1
                let a = size - 11 + i % 3
                let b = i / 3
                set(a, b, isDark)
                set(b, a, isDark)
            }
        }

        /// Places codewords in the two-column zigzag, right to left, skipping the vertical timing column.
        /// Remainder bits are left light.
        mutating func place(_ codewords: [UInt8]) {
            var index = 0
            var right = size - 1
            while right >= 1 {
                if right == 6 { right = 5 }
                let upward = (right + 1) & 2 == 0
                for step in 0..<size {
                    let y = upward ? size - 1 - step : step
                    for x in [right, right - 1] where !reserved[y * size + x] && index < codewords.count * 8 {
                        dark[y * size + x] = (codewords[index >> 3] >> UInt8(7 - (index & 7))) & 1 == 1
                        index += 1
                    }
                }
                right -= 2
            }
        }

        /// The final matrix for `mask`, with matching format information.
        func finished(mask: Int, correction: ErrorCorrection) -> [[Bool]] {
            var copy = self
            for y in 0..<size {
                for x in 0..<size where !reserved[y * size + x] && Self.masks(mask, x, y) {
                    copy.dark[y * size + x].toggle()
                }
            }
            let level = switch correction {
            case .low: 1
            case .medium: 0
            case .quartile: 3
            case .high: 2
            }
            copy.drawFormat(level << 3 | mask)
            return (0..<size).map { y in Array(copy.dark[y * size..<(y + 1) * size]) }
        }

        /// Whether mask pattern `mask` inverts the module at (x, y).
        private static func masks(_ mask: Int, _ x: Int, _ y: Int) -> Bool {
            switch mask {
            case 0: (x + y) % 2 == 0
            case 1: y % 2 == 0
            case 2: x % 3 == 0
            case 3: (x + y) % 3 == 0
            case 4: (x / 3 + y / 2) % 2 == 0
            case 5: x * y % 2 + x * y % 3 == 0
            case 6: (x * y % 2 + x * y % 3) % 2 == 0
            default: ((x + y) % 2 + x * y % 3) % 2 == 0
            }
        }
    }
}

// MARK: - Mask penalty (ISO/IEC 18004 §7.8.3)

extension QRCode {
    /// Total penalty N1 + N2 + N3 + N4 of a finished matrix.
    static func penalty(_ modules: [[Bool]]) -> Int {
        let size = modules.count
        var score = 0
        var column = [Bool](repeating: false, count: size)
        for i in 0..<size {
            score += linePenalty(modules[i])
            for y in 0..<size { column[y] = modules[y][i] }
            score += linePenalty(column)
        }
        for y in 0..<size - 1 {
            for x in 0..<size - 1 {
                let colour = modules[y][x]
                if modules[y][x + 1] == colour, modules[y + 1][x] == colour, modules[y + 1][x + 1] == colour {
                    score += 3
                }
            }
        }
        let darkCount = modules.reduce(0) { $0 + $1.filter { $0 }.count }
        let total = size * size
        // Smallest k with |dark/total − 1/2| ≤ (k + 1) · 5%.
        let k = (abs(darkCount * 20 - total * 10) + total - 1) / total - 1
        return score + k * 10
    }

    /// N1 (runs of five or more) and N3 (1:1:3:1:1 finder-like patterns with four light modules on a side)
    /// for one row or column. The area outside the symbol counts as light for N3.
    private static func linePenalty(_ line: [Bool]) -> Int {
        var runs: [Int] = []
        var colour = false
        var length = 0
        for module in line {
            if module == colour {
                length += 1
            } else {
                runs.append(length)
                colour = module
                length = 1
            }
        }
        runs.append(length)
        if colour { runs.append(0) }
        // runs alternates light, dark, …, light; the first and last light runs may be empty.

        var score = runs.filter { $0 >= 5 }.reduce(0) { $0 + $1 - 2 }

        runs[0] += line.count
        runs[runs.count - 1] += line.count
        for i in stride(from: 1, to: runs.count - 5, by: 2) {
            let n = runs[i]
            guard runs[i + 1] == n, runs[i + 2] == 3 * n, runs[i + 3] == n, runs[i + 4] == n else { continue }
            let before = runs[i - 1]
            let after = runs[i + 5]
            if before >= 4 * n && after >= n { score += 40 }
            if after >= 4 * n && before >= n { score += 40 }
        }
        return score
    }

    /// `text` with XML special characters escaped and characters not allowed in XML 1.0 removed.
    private static func xmlEscaped(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            case "\t", "\n", "\r": result += "&#\(scalar.value);"
            case "\u{20}"..."\u{D7FF}", "\u{E000}"..."\u{FFFD}", "\u{10000}"..."\u{10FFFF}":
                result.unicodeScalars.append(scalar)
            default: break
            }
        }
        return result
    }
}
