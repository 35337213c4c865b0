import Foundation

/// Validates a SAML 2.0 `Response` posted to the ACS, in the order the sign-in depends on: size
/// and safe parsing, decryption of an encrypted assertion (with the tenant's own keys), the
/// signature with pinned certificates only, then nothing but the element the
/// verified reference points to (XML-signature-wrapping defence), then issuer, status,
/// destination, recipient, audience, request correlation and time window. Outstanding-request
/// consumption and the replay cache are database state and follow in `SAMLSignIn`.
struct SAMLResponseValidator {
    let serviceProvider: SAMLServiceProvider
    let identityProvider: SAMLIdentityProviderSettings
    let now: Date
    /// The tenant's SAML encryption private keys (PEM), newest first; empty when it has none.
    var decryptionKeysPEM: [String] = []

    /// Clock skew tolerated either side of the assertion's validity window.
    static let allowedSkew: TimeInterval = 120

    static let protocolNamespace = "urn:oasis:names:tc:SAML:2.0:protocol"
    static let assertionNamespace = "urn:oasis:names:tc:SAML:2.0:assertion"
    static let signatureNamespace = "http://www.w3.org/2000/09/xmldsig#"

    /// `SAMLResponse` as posted: base64 of the XML.
    func validate(encoded: String) throws(SAMLFailure) -> SAMLAssertion {
        guard encoded.utf8.count <= SAMLXMLDocument.maximumBytes / 3 * 4 + 4096 else { throw .tooLarge }
        guard let xml = Data(base64Encoded: encoded.filter { !$0.isWhitespace }) else { throw .notBase64 }
        return try validate(xml: xml)
    }

    func validate(xml: Data) throws(SAMLFailure) -> SAMLAssertion {
        let document: SAMLXMLDocument
        do throws(SAMLXMLDocument.ParseError) { document = try SAMLXMLDocument(xml: xml) } catch {
            switch error {
            case .tooLarge: throw .tooLarge
            case .documentTypeDeclaration: throw .documentTypeDeclaration
            case .malformed: throw .malformed
            case .libraryUnavailable: throw .libraryUnavailable
            }
        }
        let (response, assertion) = try verifiedAssertion(in: document)
        return try read(assertion, response: response)
    }

    /// The one assertion, directly under the `Response`, whose signature verifies with a pinned
    /// certificate and whose only reference points at the assertion itself.
    private func verifiedAssertion(in document: SAMLXMLDocument) throws(SAMLFailure) -> (response: SAMLElement, assertion: SAMLElement) {
        let p = Self.protocolNamespace, a = Self.assertionNamespace, ds = Self.signatureNamespace
        guard let response = document.root, response.is("Response", in: p), response.attribute("Version") == "2.0" else { throw .notAResponse }
        // Exactly one assertion, plain or encrypted, anywhere in the message: an encrypted one
        // beside (or around) a plain one is a wrapping attempt whichever of them is signed.
        let encrypted = response.descendants("EncryptedAssertion", in: a)
        guard encrypted.count + response.descendants("Assertion", in: a).count == 1 else { throw .assertionCount }
        if let encryptedAssertion = encrypted.first {
            guard response.children("EncryptedAssertion", in: a) == [encryptedAssertion] else { throw .assertionCount }
            guard SAMLAssertionDecryption(privateKeysPEM: decryptionKeysPEM).decrypt(encryptedAssertion, in: document) != nil else {
                throw .decryptionFailed
            }
        } else if identityProvider.requireEncryptedAssertions {
            throw .assertionNotEncrypted
        }
        let assertions = response.descendants("Assertion", in: a)
        guard assertions.count == 1, let assertion = assertions.first, response.children("Assertion", in: a) == [assertion] else { throw .assertionCount }
        guard document.registerIDs() else { throw .duplicateIDs }
        let signatures = assertion.children("Signature", in: ds)
        guard signatures.count == 1, let signature = signatures.first else { throw .assertionNotSigned }
        // The only other signature allowed is the Response's own; one anywhere else is a wrapper.
        let allowed = signatures + response.children("Signature", in: ds)
        guard response.descendants("Signature", in: ds).allSatisfy({ allowed.contains($0) }) else { throw .unexpectedSignature }
        let covered: SAMLElement
        do throws(SAMLSignature.Failure) {
            covered = try SAMLSignature(certificates: identityProvider.certificates, allowSHA1: identityProvider.allowSHA1)
                .verify(signature, in: document)
        } catch {
            switch error {
            case .invalidCertificate: throw .invalidCertificate
            case .notVerified: throw .signatureInvalid
            case .unexpectedReference: throw .referenceMismatch
            }
        }
        guard covered == assertion else { throw .referenceMismatch }
        return (response, assertion)
    }

    /// Reads the verified assertion (and the response's envelope fields) and checks each.
    private func read(_ assertion: SAMLElement, response: SAMLElement) throws(SAMLFailure) -> SAMLAssertion {
        let p = Self.protocolNamespace, a = Self.assertionNamespace
        guard let issuer = assertion.child("Issuer", in: a)?.textOnly, issuer == identityProvider.entityID else { throw .issuerMismatch }
        if let outer = response.child("Issuer", in: a), outer.textOnly != identityProvider.entityID { throw .issuerMismatch }
        guard response.child("Status", in: p)?.child("StatusCode", in: p)?.attribute("Value") == "urn:oasis:names:tc:SAML:2.0:status:Success"
        else { throw .statusNotSuccess }
        guard response.attribute("Destination") == serviceProvider.acsURL else { throw .destinationMismatch }

        let subjects = assertion.children("Subject", in: a)
        let nameIDs = subjects.first?.children("NameID", in: a) ?? []
        guard subjects.count == 1, let subjectElement = subjects.first, nameIDs.count == 1,
              let subject = nameIDs[0].textOnly, !subject.isEmpty, subject.count <= 512
        else { throw .subjectInvalid }
        let confirmations = subjectElement.children("SubjectConfirmation", in: a)
            .filter { $0.attribute("Method") == "urn:oasis:names:tc:SAML:2.0:cm:bearer" }
            .compactMap { $0.child("SubjectConfirmationData", in: a) }
        guard let confirmation = confirmations.first(where: { $0.attribute("Recipient") == serviceProvider.acsURL }) else { throw .recipientMismatch }

        let conditionsList = assertion.children("Conditions", in: a)
        guard conditionsList.count == 1, let conditions = conditionsList.first else { throw .audienceMismatch }
        let restrictions = conditions.children("AudienceRestriction", in: a)
        guard !restrictions.isEmpty, restrictions.allSatisfy({ restriction in
            restriction.children("Audience", in: a).contains { $0.textOnly == serviceProvider.entityID }
        }) else { throw .audienceMismatch }

        let requestID = response.attribute("InResponseTo")
        guard requestID == confirmation.attribute("InResponseTo") else { throw .inResponseToMismatch }

        let notBefore = conditions.attribute("NotBefore").map(Self.date)
        let ends = [conditions.attribute("NotOnOrAfter"), confirmation.attribute("NotOnOrAfter")].compactMap { $0 }.map(Self.date)
        // An unparsable time counts as outside the window, as does a missing end.
        if let notBefore, notBefore.map({ $0 > now.addingTimeInterval(Self.allowedSkew) }) ?? true { throw .notYetValid }
        guard !ends.isEmpty, let notOnOrAfter = ends.compactMap({ $0 }).min(), ends.allSatisfy({ $0 != nil }),
              notOnOrAfter.addingTimeInterval(Self.allowedSkew) > now
        else { throw .expired }

        var attributes: [String: [String]] = [:]
        for attribute in assertion.children("AttributeStatement", in: a).flatMap({ $0.children("Attribute", in: a) }) {
            guard let name = attribute.attribute("Name") else { continue }
            for value in attribute.children("AttributeValue", in: a) {
                guard let text = value.textOnly else { throw .attributeNotText }
                attributes[name, default: []].append(text)
            }
        }
        let contexts = assertion.children("AuthnStatement", in: a)
            .compactMap { $0.child("AuthnContext", in: a)?.child("AuthnContextClassRef", in: a)?.textOnly }
        guard let id = assertion.attribute("ID"), (1...256).contains(id.utf8.count) else { throw .referenceMismatch }
        return SAMLAssertion(id: id, issuer: issuer, subject: subject, inResponseTo: requestID, notOnOrAfter: notOnOrAfter,
                             attributes: attributes, authenticationContexts: contexts)
    }

    /// `xs:dateTime` as SAML uses it (UTC, optional fractional seconds).
    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
