import Foundation

/// An IdP's SAML metadata (an `EntityDescriptor`), imported into settings: entity id, the
/// HTTP-Redirect SSO endpoint and the signing certificates. Parsed as safely as a response.
enum SAMLIdentityProviderMetadata {
    /// Why a metadata document was not imported.
    enum Failure: Error, Equatable {
        case unreadable
        case noIdentityProvider
        case noRedirectEndpoint
        case certificateCount
    }

    static let namespace = "urn:oasis:names:tc:SAML:2.0:metadata"
    static let redirectBinding = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"

    static func settings(from xml: Data) throws(Failure) -> SAMLIdentityProviderSettings {
        guard let document = try? SAMLXMLDocument(xml: xml), let root = document.root else { throw .unreadable }
        let md = namespace, ds = SAMLResponseValidator.signatureNamespace
        let entities = root.is("EntityDescriptor", in: md) ? [root] : root.children("EntityDescriptor", in: md)
        guard entities.count == 1, let entity = entities.first, let entityID = entity.attribute("entityID"), !entityID.isEmpty,
              let descriptor = entity.child("IDPSSODescriptor", in: md)
        else { throw .noIdentityProvider }
        guard let ssoURL = descriptor.children("SingleSignOnService", in: md)
            .first(where: { $0.attribute("Binding") == redirectBinding })?.attribute("Location")
        else { throw .noRedirectEndpoint }
        let certificates = descriptor.children("KeyDescriptor", in: md)
            .filter { ($0.attribute("use") ?? "signing") == "signing" }
            .flatMap { $0.descendants("X509Certificate", in: ds) }
            .compactMap { $0.textOnly.flatMap(SAMLCertificate.normalized) }
        let distinct = certificates.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        guard (1...2).contains(distinct.count) else { throw .certificateCount }
        return SAMLIdentityProviderSettings(entityID: entityID, ssoURL: ssoURL, certificates: distinct)
    }
}
