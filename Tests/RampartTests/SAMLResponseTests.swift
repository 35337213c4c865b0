import Foundation
@testable import Identity
import Testing

/// The SAML response validator against responses signed by the `xmlsec1` tool, and the attack
/// catalogue: each test breaks one promise and checks the precise reason it was refused for.
@Suite("SAML: response validation and the attack catalogue")
struct SAMLResponseTests {
    static let idp = try! SAMLTestIdP()
    static let attacker = try! SAMLTestIdP()
    let provider = SAMLServiceProvider(host: "acme.eu.localhost:8443", audience: .staff)

    var settings: SAMLIdentityProviderSettings {
        SAMLIdentityProviderSettings(entityID: Self.idp.entityID, ssoURL: "https://idp.test/sso", certificates: [Self.idp.certificate])
    }

    func validate(_ xml: String, settings: SAMLIdentityProviderSettings? = nil, now: Date = .now) throws(SAMLFailure) -> SAMLAssertion {
        try SAMLResponseValidator(serviceProvider: provider, identityProvider: settings ?? self.settings, now: now)
            .validate(encoded: Data(xml.utf8).base64EncodedString())
    }

    func expect(_ xml: String, refusedWith failure: SAMLFailure, settings: SAMLIdentityProviderSettings? = nil,
                sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: failure, sourceLocation: sourceLocation) { try validate(xml, settings: settings) }
    }

    /// The signed assertion element of a signed response.
    static func assertion(in xml: String) -> String {
        guard let start = xml.range(of: "<saml:Assertion "), let end = xml.range(of: "</saml:Assertion>", options: .backwards) else { return "" }
        return String(xml[start.lowerBound..<end.upperBound])
    }

    static func signature(in xml: String) -> String {
        guard let start = xml.range(of: "<ds:Signature"), let end = xml.range(of: "</ds:Signature>") else { return "" }
        return String(xml[start.lowerBound..<end.upperBound])
    }

    /// An unsigned assertion for the administrator the attacker wants to become.
    static func evilAssertion(id: String = "_evil") -> String {
        var evil = SAMLResponseSpec()
        evil.assertionID = id
        evil.nameID = "admin-subject"
        evil.attributes = [("email", ["admin@acme.test"]), ("groups", ["helpdesk-admins"])]
        evil.signed = false
        return evil.assertionXML
    }

    // MARK: - What must pass

    @Test func acceptsAResponseSignedByThePinnedCertificateAndReadsTheVerifiedAssertion() throws {
        let spec = SAMLResponseSpec()
        let assertion = try validate(try spec.signed(by: Self.idp))
        #expect(assertion.subject == "ada-subject-1")
        #expect(assertion.id == spec.assertionID)
        #expect(assertion.issuer == Self.idp.entityID)
        #expect(assertion.inResponseTo == spec.inResponseTo)
        #expect(assertion.attributes["email"] == ["ada@acme.test"])
        #expect(assertion.attributes["groups"] == ["helpdesk-agents"])
        #expect(assertion.authenticationContexts == ["urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"])
    }

    @Test func acceptsEitherOfTwoPinnedCertificatesDuringARollover() throws {
        var rollover = settings
        rollover.certificates = [Self.attacker.certificate, Self.idp.certificate]
        #expect(try validate(try SAMLResponseSpec().signed(by: Self.idp), settings: rollover).subject == "ada-subject-1")
    }

    @Test func toleratesTwoMinutesOfClockSkewAndNoMore() throws {
        var early = SAMLResponseSpec()
        early.notBefore = Date.now.addingTimeInterval(90)
        #expect(try validate(try early.signed(by: Self.idp)).subject == "ada-subject-1")
        var late = SAMLResponseSpec()
        late.notOnOrAfter = Date.now.addingTimeInterval(-90)
        #expect(try validate(try late.signed(by: Self.idp)).subject == "ada-subject-1")
    }

    // MARK: - XML signature wrapping (XSW)

    @Test func xsw1RefusesAnUnsignedAssertionPlacedBeforeTheSignedOne() throws {
        let signed = try SAMLResponseSpec().signed(by: Self.idp)
        let attacked = signed.replacingOccurrences(of: "<saml:Assertion ", with: Self.evilAssertion() + "<saml:Assertion ")
        expect(attacked, refusedWith: .assertionCount)
    }

    @Test func xsw2RefusesAnUnsignedAssertionPlacedAfterTheSignedOne() throws {
        let signed = try SAMLResponseSpec().signed(by: Self.idp)
        let attacked = signed.replacingOccurrences(of: "</samlp:Response>", with: Self.evilAssertion() + "</samlp:Response>")
        expect(attacked, refusedWith: .assertionCount)
    }

    @Test func xsw3RefusesTheSignedAssertionWrappedInsideTheAttackersAssertion() throws {
        let signed = try SAMLResponseSpec().signed(by: Self.idp)
        let original = Self.assertion(in: signed)
        let evil = Self.evilAssertion().replacingOccurrences(of: "</saml:Assertion>", with: original + "</saml:Assertion>")
        expect(signed.replacingOccurrences(of: original, with: evil), refusedWith: .assertionCount)
    }

    @Test func xsw4RefusesTheSignedAssertionHiddenInADSObjectOfTheCopiedSignature() throws {
        let signed = try SAMLResponseSpec().signed(by: Self.idp)
        let original = Self.assertion(in: signed)
        let signature = Self.signature(in: original)
        let hidden = signature.replacingOccurrences(of: "</ds:Signature>", with: "<ds:Object>\(original)</ds:Object></ds:Signature>")
        let evil = Self.evilAssertion().replacingOccurrences(of: "<saml:Subject>", with: hidden + "<saml:Subject>")
        expect(signed.replacingOccurrences(of: original, with: evil), refusedWith: .assertionCount)
    }

    @Test func xsw5RefusesTheSignedAssertionMovedIntoExtensionsBehindAnUnsignedOne() throws {
        let signed = try SAMLResponseSpec().signed(by: Self.idp)
        let original = Self.assertion(in: signed)
        let attacked = signed.replacingOccurrences(of: original, with: "<samlp:Extensions>\(original)</samlp:Extensions>" + Self.evilAssertion())
        expect(attacked, refusedWith: .assertionCount)
    }

    @Test func xsw6RefusesTheSignatureTransplantedOntoAnAssertionWithTheSignedID() throws {
        let spec = SAMLResponseSpec()
        let signed = try spec.signed(by: Self.idp)
        let original = Self.assertion(in: signed)
        // The attacker's assertion takes the signed one's ID and its signature; the signed one is gone.
        let evil = Self.evilAssertion(id: spec.assertionID)
            .replacingOccurrences(of: "<saml:Subject>", with: Self.signature(in: original) + "<saml:Subject>")
        expect(signed.replacingOccurrences(of: original, with: evil), refusedWith: .signatureInvalid)
    }

    @Test func xsw7RefusesAValidSignatureWhoseReferencePointsAtAnotherElement() throws {
        var spec = SAMLResponseSpec()
        // A genuine signature by the IdP over some other element with an ID (here an Extensions
        // block), sitting inside an assertion the IdP never signed.
        spec.referenceURI = "#_ext"
        spec.extraResponseXML = #"<samlp:Extensions ID="_ext"><x:Note xmlns:x="urn:example">signed elsewhere</x:Note></samlp:Extensions>"#
        let signed = try Self.idp.sign(spec.responseXML(), ids: ["urn:oasis:names:tc:SAML:2.0:protocol:Extensions"])
        expect(signed, refusedWith: .referenceMismatch)
    }

    @Test func xsw8RefusesAnXMLIDThatMakesTheReferenceResolveToAnotherElement() throws {
        let spec = SAMLResponseSpec()
        let signed = try spec.signed(by: Self.idp)
        let attacked = signed.replacingOccurrences(of: "<samlp:Status>", with: #"<samlp:Extensions xml:id="\#(spec.assertionID)"/><samlp:Status>"#)
        expect(attacked, refusedWith: .duplicateIDs)
    }

    @Test func xsw9RefusesASecondElementCarryingTheSignedAssertionsID() throws {
        let spec = SAMLResponseSpec()
        let signed = try spec.signed(by: Self.idp)
        let attacked = signed.replacingOccurrences(of: "<samlp:Status>", with: #"<samlp:Extensions ID="\#(spec.assertionID)"/><samlp:Status>"#)
        expect(attacked, refusedWith: .duplicateIDs)
    }

    @Test func xsw10RefusesAnExtraSignatureElementInsideTheAssertion() throws {
        let signed = try SAMLResponseSpec().signed(by: Self.idp)
        let original = Self.assertion(in: signed)
        let doubled = original.replacingOccurrences(of: "<saml:Subject>", with: Self.signature(in: original) + "<saml:Subject>")
        expect(signed.replacingOccurrences(of: original, with: doubled), refusedWith: .assertionNotSigned)
    }

    @Test func xsw11RefusesASignatureCopiedIntoTheSubject() throws {
        let signed = try SAMLResponseSpec().signed(by: Self.idp)
        let original = Self.assertion(in: signed)
        let moved = original.replacingOccurrences(of: "<saml:NameID ", with: Self.signature(in: original) + "<saml:NameID ")
        expect(signed.replacingOccurrences(of: original, with: moved), refusedWith: .unexpectedSignature)
    }

    @Test func refusesAnUnsignedAssertionAndASignedOneWhoseContentChanged() throws {
        var unsigned = SAMLResponseSpec()
        unsigned.signed = false
        expect(unsigned.responseXML(), refusedWith: .assertionNotSigned)
        let signed = try SAMLResponseSpec().signed(by: Self.idp)
        expect(signed.replacingOccurrences(of: ">ada-subject-1<", with: ">admin-subject<"), refusedWith: .signatureInvalid)
    }

    // MARK: - Comment injection (CVE-2017-11427 family)

    @Test func refusesANameIDSplitByACommentThoughTheSignatureStillVerifies() throws {
        var spec = SAMLResponseSpec()
        spec.nameID = "ada@acme.test.evil.test"
        let signed = try spec.signed(by: Self.idp)
        // Exclusive C14N drops comments, so the signature still verifies: only the text check stops it.
        let attacked = signed.replacingOccurrences(of: ">ada@acme.test.evil.test<", with: ">ada@acme.test<!---->.evil.test<")
        expect(attacked, refusedWith: .subjectInvalid)
    }

    @Test func refusesAnAttributeValueSplitByAComment() throws {
        let signed = try SAMLResponseSpec().signed(by: Self.idp)
        let attacked = signed.replacingOccurrences(of: ">helpdesk-agents<", with: ">helpdesk-<!---->agents<")
        expect(attacked, refusedWith: .attributeNotText)
    }

    // MARK: - Keys and algorithms

    @Test func refusesAResponseSignedByAnAttackerWhoseCertificateIsInKeyInfo() throws {
        let forged = try SAMLResponseSpec().signed(by: Self.attacker)
        #expect(forged.contains(Self.attacker.certificate.prefix(40)))
        expect(forged, refusedWith: .signatureInvalid)
    }

    @Test func refusesSHA1UnlessTheTenantOptedIn() throws {
        var spec = SAMLResponseSpec()
        spec.algorithm = .sha1
        let signed = try spec.signed(by: Self.idp)
        expect(signed, refusedWith: .signatureInvalid)
        var legacy = settings
        legacy.allowSHA1 = true
        #expect(try validate(signed, settings: legacy).subject == "ada-subject-1")
    }

    @Test func refusesAnHMACSignatureKeyedWithThePublicCertificate() throws {
        // Key confusion: the attacker knows the pinned certificate and uses its bytes as an HMAC key.
        var spec = SAMLResponseSpec()
        spec.algorithm = .hmacSHA256
        let forged = try Self.idp.sign(spec.responseXML(), hmacKey: try #require(Data(base64Encoded: Self.idp.certificate)))
        #expect(forged.contains("hmac-sha256"))
        expect(forged, refusedWith: .signatureInvalid)
    }

    // MARK: - Parsing

    @Test func refusesXMLBombsExternalEntitiesMalformedAndOversizedMessages() throws {
        let bomb = """
            <?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\
            <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\
            <samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Version="2.0">&lol3;</samlp:Response>
            """
        expect(bomb, refusedWith: .documentTypeDeclaration)
        let external = #"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"#
        expect(external, refusedWith: .documentTypeDeclaration)
        expect("<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"><unclosed>", refusedWith: .malformed)
        let huge = SAMLResponseSpec().responseXML().replacingOccurrences(of: "<samlp:Status>", with: String(repeating: "<!-- padding -->", count: 20_000) + "<samlp:Status>")
        expect(huge, refusedWith: .tooLarge)
        #expect(throws: SAMLFailure.notBase64) {
            try SAMLResponseValidator(serviceProvider: provider, identityProvider: settings, now: .now).validate(encoded: "not*base64")
        }
        expect(#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Version="2.0"/>"#, refusedWith: .notAResponse)
    }

    @Test func refusesAnEncryptedAssertionWithoutAKeyToDecryptIt() throws {
        var spec = SAMLResponseSpec()
        spec.signed = false
        let encrypted = #"<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion>"#
        expect(spec.responseXML(assertion: encrypted), refusedWith: .decryptionFailed)
    }

    // MARK: - Conditions

    @Test func refusesTheWrongIssuerStatusDestinationRecipientAndAudience() throws {
        var issuer = SAMLResponseSpec()
        issuer.issuer = "https://other-idp.test"
        expect(try issuer.signed(by: Self.idp), refusedWith: .issuerMismatch)
        var status = SAMLResponseSpec()
        status.status = "urn:oasis:names:tc:SAML:2.0:status:Requester"
        expect(try status.signed(by: Self.idp), refusedWith: .statusNotSuccess)
        var destination = SAMLResponseSpec()
        destination.destination = "https://globex.eu.localhost:8443/auth/saml/acs"
        expect(try destination.signed(by: Self.idp), refusedWith: .destinationMismatch)
        var recipient = SAMLResponseSpec()
        recipient.recipient = "https://globex.eu.localhost:8443/auth/saml/acs"
        expect(try recipient.signed(by: Self.idp), refusedWith: .recipientMismatch)
        var audience = SAMLResponseSpec()
        audience.audience = "https://globex.eu.localhost:8443/auth/saml/metadata"
        expect(try audience.signed(by: Self.idp), refusedWith: .audienceMismatch)
        // The customers' service provider is a different audience: a staff assertion does not fit it.
        let customers = SAMLServiceProvider(host: "acme.eu.localhost:8443", audience: .customers)
        #expect(throws: SAMLFailure.destinationMismatch) {
            try SAMLResponseValidator(serviceProvider: customers, identityProvider: settings, now: .now)
                .validate(xml: Data(try SAMLResponseSpec().signed(by: Self.idp).utf8))
        }
    }

    @Test func refusesExpiredAndNotYetValidAssertions() throws {
        var expired = SAMLResponseSpec()
        expired.notBefore = Date.now.addingTimeInterval(-900)
        expired.notOnOrAfter = Date.now.addingTimeInterval(-300)
        expect(try expired.signed(by: Self.idp), refusedWith: .expired)
        var future = SAMLResponseSpec()
        future.notBefore = Date.now.addingTimeInterval(300)
        future.notOnOrAfter = Date.now.addingTimeInterval(900)
        expect(try future.signed(by: Self.idp), refusedWith: .notYetValid)
    }

    @Test func refusesAResponseWhoseInResponseToDiffersFromTheSignedOne() throws {
        let spec = SAMLResponseSpec()
        let signed = try spec.signed(by: Self.idp)
        let attacked = signed.replacingOccurrences(of: #"Destination="\#(spec.acsURL)" InResponseTo="\#(spec.inResponseTo!)""#,
                                                   with: #"Destination="\#(spec.acsURL)" InResponseTo="_ffffffffffffffffffffffffffffffff""#)
        #expect(attacked != signed)
        expect(attacked, refusedWith: .inResponseToMismatch)
    }
}
