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

    /// Every arrangement of up to four pieces (`/`, `\`, `.`, `..`, a name): what normalization
    /// leaves (the value itself when it reports nothing to change) has no backslash, no empty
    /// segment and no dot segment, and normalizing it again changes nothing.
    @Test func pathNormalizationLeavesNoDotSegmentEmptySegmentOrBackslash() {
        let pieces = ["/", "\\", ".", "..", "a"]
        var values: [String] = [""]
        for _ in 0..<4 { values = values.flatMap { value in pieces.map { value + $0 } } }
        for value in Set(values) {
            let normalized = WAFTransformation.normalizePath.apply(Array(value.utf8)).map { String(decoding: $0, as: UTF8.self) } ?? value
            let segments = normalized.split(separator: "/", omittingEmptySubsequences: false)
            let inner = segments.dropFirst().dropLast()
            #expect(!normalized.contains("\\") && !inner.contains("") && !segments.contains(".") && !segments.contains(".."),
                    "\(value) -> \(normalized)")
            #expect(WAFTransformation.normalizePath.apply(Array(normalized.utf8)) == nil, "\(value) -> \(normalized)")
        }
    }

    /// The shipped chains share their common beginnings as steps (fewer steps than transformations
    /// in all), and every chain's value through the shared steps is what its transformations give
    /// one after another, whichever chains ran before it on the same field.
    @Test func sharedTransformationStepsGiveEachChainsOwnResult() throws {
        let ruleSet = try WafCorpus.shippedWAF().ruleSet
        let steps = ruleSet.steps
        #expect(steps.steps.count < ruleSet.chains.map(\.count).reduce(0, +))
        let inputs = ["%253Cscript%253E&#x61;lert(1)", "ＳＥＬＥＣＴ/**/1%00--", "..%5c..%2fetc/passwd", "Plain words", ""]
        for input in inputs.map({ Array($0.utf8) }) {
            var results = [[UInt8]?](repeating: nil, count: steps.steps.count)
            var memo = NormalizationMemo()
            for chain in ruleSet.chains.indices.reversed() {
                var expected = input
                for transformation in ruleSet.chains[chain] { expected = transformation.apply(expected) ?? expected }
                #expect(steps.value(ofChain: chain, input: input, results: &results, memo: &memo) == expected, "chain \(ruleSet.chains[chain])")
            }
        }
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
