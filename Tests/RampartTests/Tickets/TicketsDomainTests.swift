import Foundation
import Testing
@testable import Tickets

@Suite("Tickets: card redaction, HTML sanitizer, statuses, search words, uploads")
struct TicketsDomainTests {
    let redactor = CardRedactor()

    @Test func masksLuhnValidCardsOfKnownIssuersWithSpacesOrDashes() {
        let cases: [(String, String)] = [
            ("card 4111111111111111 thanks", "card 411111******1111 thanks"),
            ("4111 1111 1111 1111", "4111 11** **** 1111"),
            ("4111-1111-1111-1111.", "4111-11**-****-1111."),
            ("amex 378282246310005", "amex 378282*****0005"),
            ("mc 5555 5555 5555 4444 exp 12/29", "mc 5555 55** **** 4444 exp 12/29"),
            ("mc2 2223003122003222", "mc2 222300******3222"),
            ("discover 6011111111111117", "discover 601111******1117"),
            ("jcb 3530111333300000", "jcb 353011******0000"),
            ("diners 30569309025904", "diners 305693****5904"),
            ("visa19 4111111111111111110", "visa19 411111*********1110"),
            ("order 12 4111111111111111", "order 12 411111******1111"),
        ]
        for (input, expected) in cases {
            let (output, count) = redactor.redact(input)
            #expect(output == expected, "\(input)")
            #expect(count == 1, "\(input)")
        }
    }

    @Test func leavesInvalidLuhnUnknownIssuersLongerRunsAndNumbersInsideWordsAlone() {
        let untouched = [
            "4111111111111112",                  // Luhn fails
            "1234567812345670",                  // Luhn passes, no issuer starts with 1
            "order 41111111111111111111",        // 20 digits: a longer run, not a card
            "ref41111111111111111",              // glued to a word
            "4111111111111111abc",               // glued to a word
            "id_4111111111111111",               // underscore joins it to an identifier
            "4111  1111 1111 1111",              // double space: groups are not joined
            "call +1 555 0100 or 4111 1111",     // too few digits
            "tracking 9400111899223197428490",   // shipping number, 22 digits
            "12345",
        ]
        for input in untouched {
            let (output, count) = redactor.redact(input)
            #expect(output == input, "\(input)")
            #expect(count == 0, "\(input)")
        }
    }

    @Test func keepsTheConfiguredDigitsAndCountsEveryCard() {
        let strict = CardRedactor(keepFirst: 0, keepLast: 4)
        let (output, count) = strict.redact("a 4111111111111111, b 5555-5555-5555-4444")
        #expect(output == "a ************1111, b ****-****-****-4444")
        #expect(count == 2)
        #expect(CardRedactor(keepFirst: 0, keepLast: 0).redact("378282246310005").text == "***************")
    }

    @Test func sanitizerNeutralizesEveryVectorOfTheFixture() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/xss/vectors.json")
        let vectors = try JSONDecoder().decode([String].self, from: Data(contentsOf: url))
        #expect(vectors.count >= 100)
        let sanitizer = HTMLSanitizer()
        for vector in vectors {
            let output = sanitizer.sanitize(vector)
            try Self.expectSafe(output, vector: vector)
            // Sanitizing is stable: what it produced passes through unchanged.
            #expect(sanitizer.sanitize(output) == output, "\(vector)")
        }
    }

    /// Structural check of sanitized HTML: only allowed elements and attributes, only safe URLs,
    /// and no `<` that starts anything but an allowed tag.
    static func expectSafe(_ html: String, vector: String) throws {
        var tokenizer = HTMLTokenizer(html)
        while let token = tokenizer.next() {
            guard case .startTag(let name, let attributes) = token else { continue }
            #expect(HTMLSanitizer.allowedElements.contains(name), "\(vector) → \(html)")
            for (attribute, value) in attributes {
                let allowed = HTMLSanitizer.globalAttributes.contains(attribute) || HTMLSanitizer.elementAttributes[name]?.contains(attribute) == true
                    || (name == "a" && attribute == "rel")
                #expect(allowed, "\(attribute) in \(vector) → \(html)")
                if attribute == "href" || attribute == "src" {
                    let lowered = value.lowercased()
                    let safe = ["http://", "https://", "mailto:"].contains(where: lowered.hasPrefix)
                        || (attribute == "src" && HTMLSanitizer.imageDataTypes.contains(where: lowered.hasPrefix))
                    #expect(safe, "\(value) in \(vector) → \(html)")
                }
            }
        }
        let lowered = html.lowercased()
        // Attribute values are quoted with every quote inside escaped: what they hold is inert text.
        let tags = lowered.replacingOccurrences(of: #""[^"]*""#, with: #""""#, options: .regularExpression)
        for element in ["<script", "<iframe", "<svg", "<style", "<object", "<embed", "<form", "<input", "<meta", "<base", "<link", "<math"] {
            #expect(!lowered.contains(element), "\(vector) → \(html)")
        }
        #expect(tags.range(of: #"<[^>]*\s(on[a-z]+|style|formaction|srcdoc)\s*="#, options: .regularExpression) == nil, "\(vector) → \(html)")
        #expect(lowered.range(of: #"(href|src)="\s*(javascript|vbscript|data:text)"#, options: .regularExpression) == nil, "\(vector) → \(html)")
    }

    @Test func sanitizerKeepsOrdinaryEmailHTML() {
        let html = #"<p>Hello <b>Ana</b>,</p><p>See <a href="https://docs.example.com/a?b=1&amp;c=2" target="_blank">the docs</a>.</p><ul><li>one<li>two</ul><img src="https://cdn.example.com/x.png" alt="logo" width="120"><pre><code>SELECT 1 &lt; 2;</code></pre>"#
        let output = HTMLSanitizer().sanitize(html)
        #expect(output == #"<p>Hello <b>Ana</b>,</p><p>See <a href="https://docs.example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow">the docs</a>.</p><ul><li>one<li>two</li></li></ul><img src="https://cdn.example.com/x.png" alt="logo" width="120"><pre><code>SELECT 1 &lt; 2;</code></pre>"#)
        #expect(HTMLSanitizer.text(of: output).contains("SELECT 1 < 2;"))
    }

    @Test func statusTransitionsAreValidated() {
        #expect(TicketStatus.new.canMove(to: .open))
        #expect(TicketStatus.open.canMove(to: .resolved))
        #expect(TicketStatus.resolved.canMove(to: .open))
        #expect(TicketStatus.resolved.canMove(to: .closed))
        #expect(!TicketStatus.open.canMove(to: .new))
        #expect(!TicketStatus.resolved.canMove(to: .awaitingCustomer))
        for next in TicketStatus.allCases where next != .closed { #expect(!TicketStatus.closed.canMove(to: next)) }
        #expect(TicketStatus.open.afterReply(byStaff: true) == .awaitingCustomer)
        #expect(TicketStatus.awaitingCustomer.afterReply(byStaff: false) == .awaitingAgent)
        #expect(TicketStatus.resolved.afterReply(byStaff: false) == .awaitingAgent)
    }

    @Test func searchWordsAreFoldedAndSplit() {
        #expect(SearchTerms.words(in: "Résumé: café-crème, CAFÉ & a x2!") == ["resume", "cafe", "creme", "x2"])
        #expect(SearchTerms.words(in: "<b>") == [])
    }

    @Test func uploadsAreJudgedByTheirBytes() {
        #expect(AttachmentType.sniff([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]) == .png)
        #expect(AttachmentType.sniff(Array("%PDF-1.7\n".utf8)) == .pdf)
        #expect(AttachmentType.sniff(Array("plain notes\nline two".utf8)) == .text)
        #expect(AttachmentType.sniff(Array("<!DOCTYPE html><script>alert(1)</script>".utf8)) == nil)
        #expect(AttachmentType.sniff(Array("<svg onload=alert(1)>".utf8)) == nil)
        #expect(AttachmentType.sniff([0x4D, 0x5A, 0x90, 0x00]) == nil)        // a Windows executable
        #expect(AttachmentType.sniff([0xFF, 0xFE, 0x00]) == nil)             // not UTF-8
        #expect(AttachmentRepository.safeFilename("../../etc/pass\"wd.exe", type: .text) == "passwd.txt")
        #expect(AttachmentRepository.safeFilename("", type: .png) == "attachment.png")
    }

    @Test func strictBodiesRefuseUnknownFieldsAtAnyDepth() throws {
        #expect(throws: (any Error).self) { try TicketsRequest.decode(NewTicket.self, from: Data(#"{"subject":"a","message":{"body":"b"},"priorty":"high"}"#.utf8)) }
        #expect(throws: (any Error).self) { try TicketsRequest.decode(NewTicket.self, from: Data(#"{"subject":"a","message":{"body":"b","colour":1}}"#.utf8)) }
        let ticket = try TicketsRequest.decode(NewTicket.self, from: Data(#"{"subject":"a","message":{"body":"b","format":"html"}}"#.utf8))
        #expect(ticket.message.format == .html)
        #expect(ticket.message.kind == .reply)
    }
}
