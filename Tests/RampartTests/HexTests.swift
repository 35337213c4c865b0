import Foundation
import RampartCore
import Testing

@Suite("Hex: lowercase hexadecimal both ways")
struct HexTests {
    @Test func everyByteEncodesAsPrintfDoesAndDecodesBack() {
        let all = (0...255).map(UInt8.init)
        let encoded = Hex.encode(all)
        #expect(encoded == all.map { String(format: "%02x", $0) }.joined())
        #expect(Hex.decode(encoded) == Data(all))
        #expect(Hex.decode(encoded.uppercased()) == Data(all))
        #expect(Hex.encode(Data()) == "")
        #expect(Hex.decode("") == Data())
    }

    @Test func anythingButWholeBytesOfHexadecimalIsRefused() {
        for bad in ["a", "abc", "0g", "zz", "0x00", " 0", "é0"] {
            #expect(Hex.decode(bad) == nil, "\(bad)")
        }
    }
}
