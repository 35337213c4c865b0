/// HTML character references, decoded the way a browser would decode them in text and attributes.
enum HTMLEntityDecoding {
    /// Named references attackers use to hide markup and URLs; names are matched case-insensitively.
    private static let named: [String: UInt32] = [
        "lt": 0x3C, "gt": 0x3E, "amp": 0x26, "quot": 0x22, "apos": 0x27, "nbsp": 0xA0, "tab": 0x09,
        "newline": 0x0A, "colon": 0x3A, "semi": 0x3B, "sol": 0x2F, "bsol": 0x5C, "lpar": 0x28, "rpar": 0x29,
        "lsqb": 0x5B, "rsqb": 0x5D, "lbrack": 0x5B, "rbrack": 0x5D, "lcub": 0x7B, "rcub": 0x7D, "lbrace": 0x7B,
        "rbrace": 0x7D, "equals": 0x3D, "excl": 0x21, "num": 0x23, "dollar": 0x24, "percnt": 0x25, "period": 0x2E,
        "comma": 0x2C, "grave": 0x60, "quest": 0x3F, "commat": 0x40, "ast": 0x2A, "plus": 0x2B, "hyphen": 0x2D,
        "lowbar": 0x5F, "verbar": 0x7C, "vert": 0x7C, "hat": 0x5E, "tilde": 0x7E,
    ]

    /// The value with references decoded, or nil when it has none.
    static func decode(_ value: [UInt8]) -> [UInt8]? {
        guard value.contains(0x26) else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(value.count)
        var index = 0
        var changed = false
        while index < value.count {
            guard value[index] == 0x26, let (scalar, length) = reference(value, index) else {
                output.append(value[index])
                index += 1
                continue
            }
            URLDecoding.appendUTF8(scalar, to: &output)
            index += length
            changed = true
        }
        return changed ? output : nil
    }

    /// The scalar and length of the reference starting with `&` at `start`.
    private static func reference(_ value: [UInt8], _ start: Int) -> (UInt32, Int)? {
        var index = start + 1
        guard index < value.count else { return nil }
        if value[index] == 0x23 {
            index += 1
            let hex = index < value.count && value[index] | 0x20 == 0x78
            if hex { index += 1 }
            let digitsStart = index
            // Browsers read every digit, leading zeros included (`&#0000000106;` is `j`); a number
            // past Unicode's range is U+FFFD.
            var scalar: UInt32 = 0
            while index < value.count {
                let byte = value[index]
                if hex, let digit = ASCII.hexValue(byte) {
                    scalar = scalar > 0x10FFFF ? scalar : scalar &* 16 &+ UInt32(digit)
                } else if !hex, ASCII.isDigit(byte) {
                    scalar = scalar > 0x10FFFF ? scalar : scalar &* 10 &+ UInt32(byte - 0x30)
                } else {
                    break
                }
                index += 1
            }
            guard index > digitsStart else { return nil }
            if index < value.count, value[index] == 0x3B { index += 1 }
            return (scalar == 0 || scalar > 0x10FFFF ? 0xFFFD : scalar, index - start)
        }
        let nameStart = index
        while index < value.count, index - nameStart < 10, ASCII.isLetter(value[index]) { index += 1 }
        guard index > nameStart else { return nil }
        let name = String(decoding: value[nameStart..<index].map(ASCII.lower), as: UTF8.self)
        guard let scalar = named[name] else { return nil }
        if index < value.count, value[index] == 0x3B { index += 1 }
        return (scalar, index - start)
    }
}
