import HTTPTypes
import RampartTransport
import Testing

@Suite("EntityTag: If-Match as the APIs read it")
struct EntityTagTests {
    func ifMatch(_ value: String?) throws -> String? {
        var headers = HTTPFields()
        if let value { headers[.ifMatch] = value }
        return try EntityTag.ifMatch(headers)
    }

    @Test func oneTagStrongOrWeakNamesItsOpaquePartAndStarOrNothingNamesNone() throws {
        #expect(try ifMatch(nil) == nil)
        #expect(try ifMatch("*") == nil)
        #expect(try ifMatch(" * ") == nil)
        #expect(try ifMatch(#""3""#) == "3")
        #expect(try ifMatch(#"W/"3""#) == "3")
        #expect(try ifMatch(#" "a1b2" "#) == "a1b2")
        #expect(try ifMatch(#""""#) == "")
        #expect(EntityTag.quoted("a1b2") == #""a1b2""#)
    }

    @Test func aListOrATagWithoutItsQuotesIsMalformed() {
        for bad in ["3", "W/", "W/3", #"""#, #""3"#, #"3""#, #""a", "b""#, #""a""b""#, "w/\"3\"", ""] {
            #expect(throws: EntityTag.Malformed.self, "\(bad)") { try ifMatch(bad) }
        }
    }
}
