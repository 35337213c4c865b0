import Testing
@testable import Identity

/// Tests for the byte-mode QR encoder. Golden matrices were produced by python-qrcode 7.4.2
/// (`QRData(..., mode=MODE_8BIT_BYTE)`, fixed version and mask, `border=0`).
@Suite("QRCode")
struct QRCodeTests {
    /// A realistic TOTP enrollment URI (145 bytes).
    static let otpauth = "otpauth://totp/Rampart%20(acme):ada%40acme.test?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Rampart%20(acme)&algorithm=SHA1&digits=6&period=30"

    /// Parses rows of `0`/`1` into a module matrix.
    static func matrix(_ rows: String) -> [[Bool]] {
        rows.split(whereSeparator: \.isNewline).map { row in
            row.filter { !$0.isWhitespace }.map { $0 == "1" }
        }
    }

    // MARK: Structure

    @Test("size is 21 + 4·(version − 1)", arguments: [1, 2, 6, 7, 10, 27, 40])
    func sizeFollowsVersion(version: Int) throws {
        let code = try QRCode(bytes: [], correction: .low, mask: 0, minimumVersion: version)
        #expect(code.version == version)
        #expect(code.size == 21 + 4 * (version - 1))
        #expect(code.modules.count == code.size)
        #expect(code.modules.allSatisfy { $0.count == code.size })
    }

    @Test("finder patterns and separators sit in three corners; the bottom-right is free", arguments: [1, 7, 40])
    func finderPatterns(version: Int) throws {
        let code = try QRCode(bytes: Array("Rampart".utf8), correction: .medium, mask: 0, minimumVersion: version)
        let far = code.size - 7
        for (left, top) in [(0, 0), (far, 0), (0, far)] {
            for dy in 0..<7 {
                for dx in 0..<7 {
                    let ring = max(abs(dx - 3), abs(dy - 3))
                    #expect(code.modules[top + dy][left + dx] == (ring != 2))
                }
            }
        }
        // Separators: the light ring just inside the symbol around each finder.
        for i in 0..<8 {
            #expect(!code.modules[7][i] && !code.modules[i][7])
            #expect(!code.modules[7][code.size - 1 - i] && !code.modules[i][code.size - 8])
            #expect(!code.modules[code.size - 8][i] && !code.modules[code.size - 1 - i][7])
        }
        #expect(code.modules[code.size - 8][8], "dark module")
    }

    @Test("timing patterns alternate dark and light", arguments: [1, 5, 25])
    func timingPatterns(version: Int) throws {
        let code = try QRCode(bytes: [0x00, 0xFF], correction: .quartile, mask: 5, minimumVersion: version)
        for i in 8..<(code.size - 8) {
            #expect(code.modules[6][i] == (i % 2 == 0))
            #expect(code.modules[i][6] == (i % 2 == 0))
        }
    }

    @Test("smallest fitting version is chosen")
    func smallestVersion() throws {
        #expect(try QRCode(text: "HELLO").version == 1)
        let uri = Array(Self.otpauth.utf8)
        #expect(try QRCode(bytes: uri, correction: .low, mask: 0).version == 7)
        #expect(try QRCode(bytes: uri, correction: .medium, mask: 0).version == 8)
        #expect(try QRCode(bytes: uri, correction: .quartile, mask: 0).version == 10)
        #expect(try QRCode(bytes: uri, correction: .high, mask: 0).version == 12)
        #expect(try QRCode(bytes: [UInt8](repeating: 0x41, count: 2953), correction: .low, mask: 0).version == 40)
    }

    @Test("text is encoded as its UTF-8 bytes")
    func textIsUTF8() throws {
        let text = "Grüße 東京 🙂"
        #expect(try QRCode(text: text, correction: .quartile) == QRCode(bytes: Array(text.utf8), correction: .quartile))
    }

    // MARK: Golden matrices (python-qrcode 7.4.2)

    @Test("HELLO, version 1-M, mask 0")
    func goldenHello() throws {
        let code = try QRCode(bytes: Array("HELLO".utf8), correction: .medium, mask: 0)
        #expect(code.version == 1)
        #expect(code.modules == Self.matrix("""
        111111100111001111111
        100000101011001000001
        101110100010001011101
        101110100011001011101
        101110101010101011101
        100000100110101000001
        111111101010101111111
        000000000101100000000
        101010100101000010010
        101010000110001000010
        000001100110100011111
        101011010110001000010
        011001110110101010100
        000000001011010100110
        111111100001011100111
        100000100011110110000
        101110101011011100111
        101110100100001100110
        101110101010100010101
        100000100110001010010
        111111101010101100111
        """))
    }

    @Test("otpauth URI, natural version 8-M, mask 3")
    func goldenOTPAuth() throws {
        let code = try QRCode(bytes: Array(Self.otpauth.utf8), correction: .medium, mask: 3)
        #expect(code.version == 8)
        #expect(code.modules == Self.matrix("""
        1111111010100010100000000001011010010100101111111
        1000001011001001001000111101001110100111101000001
        1011101000100000011000000101010110111101101011101
        1011101011001000111001010111001101111101001011101
        1011101000101010100100111111010111001100001011101
        1000001001101011100111100011101100000010001000001
        1111111010101010101010101010101010101010101111111
        0000000011101011100100100011011111001101100000000
        1011011100000111111111111111110000110010101001011
        0101010101010000001101000101001111011100011001000
        0100001011101111010111101000101111100100011001100
        1100000011100110101101101100011011110110010001110
        0000011011000100101101111000011100011000001101001
        1101110001001001010010000111000001001111000011101
        1111101010100110101001100100111100011000101111010
        0001110101111110101001011001101011100001011110010
        1001101100011000110001000001010011000111110111101
        1110010001001011000000100101010111110100110111101
        1000011111101011000010001110100100100111000111011
        0100110011001100011111001100100000001111010101001
        1000001000110111101000000000110001110100000001010
        0001110001000011001101011001001010010101011101010
        1111111111000001110100111111001010110001111111110
        0011100011111101000100100010100001001101100011110
        1001101010001010000111101010010100011110101011100
        0000100010011010010011100011000101011111100011011
        0101111111111111110000111111100100100110111110110
        0100010101110110001100000111101110000001101100001
        1110001011010101110010110101010111010010101001010
        0101100100100011110010000000110001100101110000101
        0011101010110001011010101101100000101011101001111
        1010100000000000000101010000100101011010101111000
        1101001101100110011111001111110100110000001100000
        0111000111000100010000011110011100001000001101000
        0101111010001110000110110010101101100000110110000
        1110000011111011000110101011000001011011011001100
        0000101111011110110101111000000100011111111011110
        1100100110101011011110000010110111000111000011100
        0100011010101100110111011100111011001010110001110
        0111000011111011000000001011011101110100010100010
        1110001111000100000000111111010110100110111110100
        0000000010111001111101100010110111111000100010111
        1111111011101110011101101011011001001010101011001
        1000001011110000100010100010110000001110100011010
        1011101001010000000001111110110000010111111110110
        1011101010000011110001000001011001001100000111111
        1011101011011001000111010100001011100001001111011
        1000001000111011111101110100000010101001100001100
        1111111010010111101011011110000000111010110000111
        """))
    }

    @Test("UTF-8 text, version 2-Q, mask 5")
    func goldenUTF8() throws {
        let code = try QRCode(bytes: Array("Grüße 東京 🙂".utf8), correction: .quartile, mask: 5, minimumVersion: 2)
        #expect(code.version == 2)
        #expect(code.modules == Self.matrix("""
        1111111011010001101111111
        1000001011100001101000001
        1011101000000110101011101
        1011101001010011001011101
        1011101001010001001011101
        1000001000110101001000001
        1111111010101010101111111
        0000000000001000000000000
        0100001111000001110000011
        1110100010100111011000101
        1110111001101110010010110
        0101110011010100011100100
        1110011001111101110100011
        1110100010100001010111110
        1010011001001111001001011
        1011010110001010011011010
        1001101101011010111111011
        0000000011010010100010001
        1111111010110100101010001
        1000001000010010100010110
        1011101001001010111110001
        1011101001001100010001011
        1011101001000101100000101
        1000001010110101111101001
        1111111000110111011011001
        """))
    }

    @Test("version 7-H with version information, mask 6")
    func goldenVersion7() throws {
        let code = try QRCode(bytes: Array("Rampart".utf8), correction: .high, mask: 6, minimumVersion: 7)
        #expect(code.version == 7)
        #expect(code.modules == Self.matrix("""
        111111100011000001010101011011101000101111111
        100000100001101101010101010001111001001000001
        101110101110010110010001101111010001001011101
        101110101011010001101111110110010101101011101
        101110100001101011011111111110000111101011101
        100000100110111011111000111101111000001000001
        111111101010101010101010101010101010101111111
        000000000101110110011000111000101101000000000
        000110110101011000011111100101110111100001100
        101111000001111100000101001000111010101111011
        000101110101010001100000000010101100111101001
        011000000010000010000000000000000101100010010
        011110100110100000011010111011000101111001111
        111111010100100000011011101001010111001010111
        101110101000011110101010110100101110011000001
        010100011100110100011111010000111011001111100
        111100111100011010010100101110101000111101010
        000101011110100010111100000011110011100110010
        100101110111000010111010011000111010101111011
        110000010011011110011011001011011110100001001
        111111111001001100111111110010001101111110110
        110010001110010111001000101011000101100010111
        110010101001111000101010111111110100101010111
        100110001110001010111000110110010011100011111
        110111111011011110001111100000111011111110101
        101110010101001001000101100010101001110111001
        100110110010111111111110100011110010001100010
        100101000010011110010010011100001100101101011
        101001111110001111111011001001010111001011101
        111101001101110110000010000101101101110111100
        110100100010101010101100001111000111111010100
        111001010100111000010011011000001000001110110
        111111100010001101001110000001010011101111101
        010001001111010110001101001001111011000100111
        000010111110100100000001000000101000010110101
        011110001110010011000101011011000101100100110
        100110101100001001001111101001000101111111011
        000000001100111011011000110010110111100010111
        111111101101100000101010100010001110101011101
        100000100010101111001000101011011010100010100
        101110101101010010111111111011001001111110110
        101110101011111110011000101001010011100110000
        101110100101100000101101110010111010001111011
        100000100110011000011011001111011110001101011
        111111100100010011101010001101101101001110100
        """))
    }

    @Test("automatic mask follows the ISO penalty rules (same choice as Nayuki qrcodegen 1.8.0)")
    func automaticMask() throws {
        let code = try QRCode(text: Self.otpauth)
        #expect(code.mask == 2)
        #expect(try code == QRCode(bytes: Array(Self.otpauth.utf8), mask: 2))
    }

    // MARK: Limits

    @Test("3000 bytes at level H is too long")
    func tooLong() {
        #expect(throws: QRCode.EncodingError.tooLong) {
            try QRCode(bytes: [UInt8](repeating: 0x41, count: 3000), correction: .high)
        }
        #expect(throws: QRCode.EncodingError.tooLong) {
            try QRCode(bytes: [UInt8](repeating: 0x41, count: 2954), correction: .low)
        }
        #expect(throws: QRCode.EncodingError.tooLong) {
            try QRCode(bytes: [], minimumVersion: 41)
        }
    }

    // MARK: SVG

    @Test("svg escapes the label and carries no script")
    func svgEscapesLabel() throws {
        let code = try QRCode(text: "HELLO")
        let svg = code.svg(label: #"Scan "me" <script>alert('x')</script> & go"#)
        #expect(!svg.lowercased().contains("<script"))
        #expect(svg.contains(#"aria-label="Scan &quot;me&quot; &lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; go""#))
        #expect(svg.contains(#"role="img""#))
        #expect(!svg.contains("href"))
        #expect(svg.ranges(of: "<path").count == 1, "exactly one path")
        #expect(!code.svg(label: "a\u{0}b\u{1B}c").unicodeScalars.contains { $0.value < 0x20 }, "XML-invalid controls dropped")
    }

    @Test("svg viewBox spans the symbol plus the quiet zone")
    func svgViewBox() throws {
        let code = try QRCode(text: "HELLO")
        #expect(code.svg(label: "QR").contains(#"viewBox="0 0 29 29""#))
        #expect(code.svg(label: "QR", quietZone: 0).contains(#"viewBox="0 0 21 21""#))
        #expect(code.svg(label: "QR", quietZone: -3).contains(#"viewBox="0 0 21 21""#))
        #expect(code.svg(label: "QR").hasPrefix("<svg "))
        #expect(code.svg(label: "QR").hasSuffix("</svg>"))
    }
}
