import Foundation
@testable import Identity
import RampartCore
import Testing

/// Encrypted assertions: signed by `xmlsec1` as the IdP, then encrypted by `xmlsec1` to the
/// tenant's own encryption certificate; decrypted before the signature is checked, with the
/// wrapping defence intact and no padding or parsing oracle.
@Suite("SAML: encrypted assertions")
struct SAMLEncryptionTests {
    static let idp = SAMLResponseTests.idp
    static let spKey = try! SSOKeyRepository.generate(.samlEncryption, tenant: TenantID(rawValue: UUID()))
    static let otherSPKey = try! SSOKeyRepository.generate(.samlEncryption, tenant: TenantID(rawValue: UUID()))
    let provider = SAMLServiceProvider(host: "acme.eu.localhost:8443", audience: .staff)

    var settings: SAMLIdentityProviderSettings {
        SAMLIdentityProviderSettings(entityID: Self.idp.entityID, ssoURL: "https://idp.test/sso", certificates: [Self.idp.certificate])
    }

    func validate(_ xml: String, keys: [SSOKey] = [spKey], settings: SAMLIdentityProviderSettings? = nil) throws(SAMLFailure) -> SAMLAssertion {
        var validator = SAMLResponseValidator(serviceProvider: provider, identityProvider: settings ?? self.settings, now: .now)
        validator.decryptionKeysPEM = keys.map(\.privateKey.pemRepresentation)
        return try validator.validate(encoded: Data(xml.utf8).base64EncodedString())
    }

    func expect(_ xml: String, refusedWith failure: SAMLFailure, keys: [SSOKey] = [spKey], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: failure, sourceLocation: sourceLocation) { try validate(xml, keys: keys) }
    }

    /// The spec's assertion signed by the IdP (alone), ready to encrypt.
    static func signedAssertion(_ spec: SAMLResponseSpec = SAMLResponseSpec()) throws -> String {
        SAMLResponseTests.assertion(in: try spec.signed(by: idp))
    }

    /// A response whose assertion is signed, then encrypted to `key`.
    static func encryptedResponse(_ spec: SAMLResponseSpec = SAMLResponseSpec(), to key: SSOKey = spKey,
                                  content: SAMLTestEncryption.Content = .aes256GCM, keyBesideData: Bool = false) throws -> String {
        try encryptedResponse(spec, toCertificate: key.certificate, content: content, keyBesideData: keyBesideData)
    }

    /// A response whose assertion is signed, then encrypted to `certificate` (base64 DER).
    static func encryptedResponse(_ spec: SAMLResponseSpec, toCertificate certificate: String, content: SAMLTestEncryption.Content = .aes256GCM,
                                  keyBesideData: Bool = false) throws -> String {
        spec.responseXML(assertion: try SAMLTestEncryption.encryptedAssertion(try signedAssertion(spec), to: certificate, content: content,
                                                                               keyBesideData: keyBesideData))
    }

    // MARK: - What must pass

    @Test(arguments: SAMLTestEncryption.Content.allCases)
    func acceptsASignedAssertionEncryptedWithRSAOAEPAnd(_ content: SAMLTestEncryption.Content) throws {
        let spec = SAMLResponseSpec()
        let assertion = try validate(try Self.encryptedResponse(spec, content: content))
        #expect(assertion.subject == "ada-subject-1")
        #expect(assertion.id == spec.assertionID)
        #expect(assertion.attributes["groups"] == ["helpdesk-agents"])
    }

    @Test func acceptsTheKeyBesideTheDataAndEitherKeyOfARollover() throws {
        #expect(try validate(try Self.encryptedResponse(keyBesideData: true)).subject == "ada-subject-1")
        #expect(try validate(try Self.encryptedResponse(to: Self.otherSPKey), keys: [Self.spKey, Self.otherSPKey]).subject == "ada-subject-1")
    }

    @Test func requiringEncryptionRefusesAPlainAssertionAndAcceptsAnEncryptedOne() throws {
        var required = settings
        required.requireEncryptedAssertions = true
        #expect(throws: SAMLFailure.assertionNotEncrypted) { try validate(try SAMLResponseSpec().signed(by: Self.idp), settings: required) }
        #expect(try validate(try Self.encryptedResponse(), settings: required).subject == "ada-subject-1")
    }

    // MARK: - What must not

    @Test func refusesAnAssertionEncryptedToAnotherKeyOrWithPKCS1KeyTransport() throws {
        expect(try Self.encryptedResponse(to: Self.otherSPKey), refusedWith: .decryptionFailed)
        expect(try Self.encryptedResponse(), refusedWith: .decryptionFailed, keys: [])
        // RSA PKCS#1 v1.5 key transport (Bleichenbacher's oracle) is never enabled, even with the right key.
        let pkcs1 = try SAMLTestEncryption.encryptedAssertion(try Self.signedAssertion(), to: Self.spKey.certificate,
                                                               keyTransport: "http://www.w3.org/2001/04/xmlenc#rsa-1_5")
        expect(SAMLResponseSpec().responseXML(assertion: pkcs1), refusedWith: .decryptionFailed)
    }

    @Test func refusesADecryptedAssertionThatIsUnsignedOrWhoseSignatureDoesNotVerify() throws {
        var unsigned = SAMLResponseSpec()
        unsigned.signed = false
        let encrypted = try SAMLTestEncryption.encryptedAssertion(unsigned.assertionXML, to: Self.spKey.certificate)
        expect(unsigned.responseXML(assertion: encrypted), refusedWith: .assertionNotSigned)
        // Signed by the attacker, whose certificate is in KeyInfo, then encrypted to the tenant's public key.
        let forged = SAMLResponseTests.assertion(in: try SAMLResponseSpec().signed(by: SAMLResponseTests.attacker))
        expect(SAMLResponseSpec().responseXML(assertion: try SAMLTestEncryption.encryptedAssertion(forged, to: Self.spKey.certificate)),
               refusedWith: .signatureInvalid)
    }

    @Test func refusesEveryWrappingOfAnEncryptedAndAPlainAssertion() throws {
        let spec = SAMLResponseSpec()
        let encryptedSigned = try SAMLTestEncryption.encryptedAssertion(try Self.signedAssertion(spec), to: Self.spKey.certificate)
        let plainSigned = try Self.signedAssertion(spec)
        let evil = SAMLResponseTests.evilAssertion()
        let encryptedEvil = try SAMLTestEncryption.encryptedAssertion(evil, to: Self.spKey.certificate)
        // An unsigned plain assertion before or after the encrypted signed one.
        expect(spec.responseXML(assertion: evil + encryptedSigned), refusedWith: .assertionCount)
        expect(spec.responseXML(assertion: encryptedSigned + evil), refusedWith: .assertionCount)
        // A genuine plain signed assertion beside an encrypted unsigned one, either order.
        expect(spec.responseXML(assertion: plainSigned + encryptedEvil), refusedWith: .assertionCount)
        expect(spec.responseXML(assertion: encryptedEvil + plainSigned), refusedWith: .assertionCount)
        // The encrypted signed assertion hidden in Extensions behind an unsigned plain one.
        var hidden = spec
        hidden.extraResponseXML = "<samlp:Extensions>\(encryptedSigned)</samlp:Extensions>"
        expect(hidden.responseXML(assertion: evil), refusedWith: .assertionCount)
        // Two encrypted assertions.
        expect(spec.responseXML(assertion: encryptedSigned + encryptedEvil), refusedWith: .assertionCount)
        // An encrypted attacker's assertion that wraps the genuine signed one.
        let wrapper = evil.replacingOccurrences(of: "</saml:Assertion>", with: plainSigned + "</saml:Assertion>")
        expect(spec.responseXML(assertion: try SAMLTestEncryption.encryptedAssertion(wrapper, to: Self.spKey.certificate)), refusedWith: .assertionCount)
        // Encrypted content that is not an assertion at all.
        let subject = #"<saml:Subject xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:NameID>admin</saml:NameID></saml:Subject>"#
        expect(spec.responseXML(assertion: try SAMLTestEncryption.encryptedAssertion(subject, to: Self.spKey.certificate)), refusedWith: .decryptionFailed)
    }

    /// Every way of tampering with CBC cipher text that a padding-oracle attack relies on gets the
    /// same reason as any other failure: wrong padding and well-padded garbage are indistinguishable.
    @Test func tamperedCBCCipherTextGetsOneGenericRefusalWhateverBroke() throws {
        let response = try Self.encryptedResponse(content: .aes128CBC)
        let cipherValues = response.ranges(of: /<xenc:CipherValue>([^<]*)<\/xenc:CipherValue>/)
        let dataRange = try #require(cipherValues.last)
        let original = try #require(Data(base64Encoded: String(response[dataRange]).replacing(/<\/?xenc:CipherValue>/, with: ""),
                                         options: .ignoreUnknownCharacters))
        func tampered(_ change: (inout [UInt8]) -> Void) -> String {
            var bytes = [UInt8](original)
            change(&bytes)
            return response.replacingCharacters(in: dataRange, with: "<xenc:CipherValue>\(Data(bytes).base64EncodedString())</xenc:CipherValue>")
        }
        let variants = [
            tampered { $0[$0.count - 17] ^= 0x01 },         // the last plaintext byte: the padding length
            tampered { $0[$0.count - 20] ^= 0x40 },         // inside the padding
            tampered { $0[3] ^= 0x01 },                     // the IV: a well-padded block of garbage XML
            tampered { $0[20] ^= 0x80 },                    // a whole garbled block in the middle
            tampered { $0.removeLast(16) },                 // a block short
            tampered { $0.removeLast(3) },                  // not a whole number of blocks
            tampered { $0 = Array($0.prefix(32)) },         // only the IV and one block
        ]
        for variant in variants { expect(variant, refusedWith: .decryptionFailed) }
        let keyRange = try #require(cipherValues.first)
        expect(response.replacingCharacters(in: keyRange, with: "<xenc:CipherValue>\(Data(repeating: 7, count: 384).base64EncodedString())</xenc:CipherValue>"),
               refusedWith: .decryptionFailed)
        // GCM's tag catches any change.
        let gcm = try Self.encryptedResponse(content: .aes256GCM)
        let gcmRange = try #require(gcm.ranges(of: /<xenc:CipherValue>([^<]*)<\/xenc:CipherValue>/).last)
        var gcmBytes = [UInt8](try #require(Data(base64Encoded: String(gcm[gcmRange]).replacing(/<\/?xenc:CipherValue>/, with: ""),
                                                 options: .ignoreUnknownCharacters)))
        gcmBytes[gcmBytes.count / 2] ^= 0x01
        expect(gcm.replacingCharacters(in: gcmRange, with: "<xenc:CipherValue>\(Data(gcmBytes).base64EncodedString())</xenc:CipherValue>"),
               refusedWith: .decryptionFailed)
    }
}
