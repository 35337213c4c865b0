@testable import Gateway
import Testing

@Suite("WAF transformations")
struct WafTransformationTests {
    func apply(_ transformation: WAFTransformation, _ text: String) -> String {
        let bytes = Array(text.utf8)
        return String(decoding: transformation.apply(bytes) ?? bytes, as: UTF8.self)
    }

    @Test func urlDecodeDecodesOnePassAndKeepsInvalidEscapes() {
        #expect(apply(.urlDecode, "%27%20OR%201%3D1") == "' OR 1=1")
        #expect(apply(.urlDecode, "%2527") == "%27")
        #expect(apply(.urlDecode, "100% sure %zz %4") == "100% sure %zz %4")
        #expect(apply(.urlDecode, "a+b") == "a+b")
        #expect(apply(.urlDecode, "%u003cscript%u003E") == "<script>")
        #expect(WAFTransformation.urlDecode.apply(Array("plain".utf8)) == nil)
    }

    @Test func multiPassURLDecodingUndoesDoubleAndTripleEncoding() {
        #expect(apply(.urlDecodeMulti, "%252e%252e%252f") == "../")
        #expect(apply(.urlDecodeMulti, "%25252e") == ".")
        #expect(apply(.urlDecodeMulti, "50%25 off") == "50% off")
    }

    @Test func htmlEntityDecodingHandlesNamedDecimalHexAndMissingSemicolons() {
        #expect(apply(.htmlEntityDecode, "&lt;script&gt;") == "<script>")
        #expect(apply(.htmlEntityDecode, "&#106;&#x61;&#X76;a") == "java")
        #expect(apply(.htmlEntityDecode, "&#60script&#62") == "<script>")
        #expect(apply(.htmlEntityDecode, "java&Tab;script&colon;") == "java\tscript:")
        #expect(apply(.htmlEntityDecode, "Smith &amp; Sons &unknown; & co") == "Smith & Sons &unknown; & co")
        #expect(apply(.htmlEntityDecode, "&#0;") == "\u{FFFD}")
    }

    @Test func unicodeNormalizationFoldsFullwidthAndLeavesOtherScriptsReadable() {
        #expect(apply(.unicodeNormalize, "＜ｓｃｒｉｐｔ＞") == "<script>")
        #expect(apply(.unicodeNormalize, "ﬁle") == "file")
        #expect(apply(.unicodeNormalize, "你好 мир مرحبا") == "你好 мир مرحبا")
        #expect(WAFTransformation.unicodeNormalize.apply(Array("ascii only".utf8)) == nil)
    }

    @Test func lowercaseTouchesOnlyASCII() {
        #expect(apply(.lowercase, "SeLeCt ÄÖ") == "select ÄÖ")
        #expect(WAFTransformation.lowercase.apply(Array("already lower".utf8)) == nil)
    }

    @Test func whitespaceCompressionMakesOneSpaceOfEveryRun() {
        #expect(apply(.compressWhitespace, "union \t\n  select\r\nx") == "union select x")
        #expect(WAFTransformation.compressWhitespace.apply(Array("a b c".utf8)) == nil)
    }

    @Test func pathNormalizationResolvesDotSegmentsAndBackslashes() {
        #expect(apply(.normalizePath, "/var/www/../../etc/./passwd") == "/etc/passwd")
        #expect(apply(.normalizePath, "..\\..\\windows\\win.ini") == "windows/win.ini")
        #expect(apply(.normalizePath, "//etc///shadow") == "/etc/shadow")
        #expect(WAFTransformation.normalizePath.apply(Array("/api/v1/tickets".utf8)) == nil)
    }

    @Test func nullsAndCommentsAreRemoved() {
        #expect(apply(.removeNulls, "scr\u{0}ipt") == "script")
        #expect(apply(.removeComments, "UN/**/ION SEL/*x*/ECT") == "UNION SELECT")
        #expect(apply(.removeComments, "a<!-- hidden -->b/* open") == "ab")
    }

    @Test func commandLineUndoesShellQuotingTricks() {
        #expect(apply(.commandLine, "c'a't /e\"t\"c/pa\\ss^wd") == "cat /etc/passwd")
        #expect(apply(.commandLine, "ls;id,whoami") == "ls id whoami")
    }

    @Test func invalidEscapesAreDetected() {
        #expect(URLDecoding.hasInvalidEscape("q=%zz"))
        #expect(URLDecoding.hasInvalidEscape("q=100%"))
        #expect(!URLDecoding.hasInvalidEscape("q=100%25&x=%E6%89%93"))
    }
}
