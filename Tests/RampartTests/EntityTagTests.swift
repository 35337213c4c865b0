import HTTPTypes
import RampartTransport
import Testing

@Suite("EntityTag: If-Match as the APIs read it")
struct EntityTagTests {
    func ifMatch(_ values: String?...) throws -> EntityTag.Precondition? {
        var headers = HTTPFields()
        for value in values { if let value { headers.append(HTTPField(name: .ifMatch, value: value)) } }
        return try EntityTag.ifMatch(headers)
    }

    @Test func starOrNothingSetsNoPreconditionAndEachStrongTagListedIsAdmitted() throws {
        #expect(try ifMatch(nil) == nil)
        #expect(try ifMatch("*") == nil)
        #expect(try ifMatch(" * ") == nil)
        #expect(try ifMatch(#""3""#)?.tags == ["3"])
        #expect(try ifMatch(#" "a1b2" "#)?.tags == ["a1b2"])
        #expect(try ifMatch(#""""#)?.tags == [""])
        #expect(try ifMatch(#""a", "b""#)?.tags == ["a", "b"])
        #expect(try ifMatch("\"a,b\",\t\"c\"")?.tags == ["a,b", "c"])
        #expect(try ifMatch(#", "a" ,, "b","#)?.tags == ["a", "b"])
        #expect(try ifMatch(#""a""#, #""b""#)?.tags == ["a", "b"])
        let precondition = try #require(try ifMatch(#""3", "4""#))
        #expect(precondition.admits("4"))
        #expect(!precondition.admits("5"))
        #expect(!precondition.admits("\"4\""))
        #expect(EntityTag.quoted("a1b2") == #""a1b2""#)
    }

    @Test func aWeakTagIsReadButNeverAdmitsAVersion() throws {
        // RFC 9110 §13.1.1: If-Match uses the strong comparison.
        let weak = try #require(try ifMatch(#"W/"3""#))
        #expect(weak.tags.isEmpty)
        #expect(!weak.admits("3"))
        #expect(try ifMatch(#"W/"3", "4""#)?.tags == ["4"])
    }

    @Test func anythingButStarOrAListOfQuotedTagsIsMalformed() {
        for bad in ["3", "W/", "W/3", #"""#, #""3"#, #"3""#, #""a""b""#, #""a" "b""#, "w/\"3\"", "", ",", " , ", "*, \"3\"",
                    "\"a\u{7F}\"", "\"a b\""] {
            #expect(throws: EntityTag.Malformed.self, "\(bad)") { try ifMatch(bad) }
        }
        #expect(throws: EntityTag.Malformed.self) { try ifMatch("*", #""3""#) }
    }
}
