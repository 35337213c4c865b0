import CXMLSec
import Crypto
import Foundation
import RampartCore

/// Verifies an enveloped XML signature with libxmlsec1 against pinned certificates only, and
/// says which element it covers.
///
/// The key is set on the signature context before verification, so libxmlsec1 never reads
/// `KeyInfo` (an attacker's certificate there is ignored); references may only point into the same
/// document; only exclusive/inclusive canonicalization and the enveloped-signature transform are
/// allowed (no XPath, XSLT or external URIs), and only SHA-256 or stronger unless SHA-1 is allowed.
struct SAMLSignature {
    /// Why a signature was not accepted.
    enum Failure: Error, Equatable {
        case invalidCertificate
        case notVerified
        case unexpectedReference
    }

    /// The pinned signing certificates (base64 DER); one, or two during a rollover.
    let certificates: [String]
    let allowSHA1: Bool

    /// Verifies `signature` and returns the element its one reference points to.
    func verify(_ signature: SAMLElement, in document: SAMLXMLDocument) throws(Failure) -> SAMLElement {
        let keys = certificates.compactMap(Self.key(base64DER:))
        defer { keys.forEach { xmlSecKeyDestroy($0) } }
        guard !keys.isEmpty, keys.count == certificates.count else { throw .invalidCertificate }
        for key in keys {
            if let uri = verify(signature, with: key) {
                guard uri.hasPrefix("#"), let target = document.element(withID: String(uri.dropFirst())) else { throw .unexpectedReference }
                return target
            }
        }
        throw .notVerified
    }

    /// The reference URI when `key` verifies the signature and it has exactly one reference.
    private func verify(_ signature: SAMLElement, with key: xmlSecKeyPtr) -> String? {
        guard let context = xmlSecDSigCtxCreate(nil) else { return nil }
        defer { xmlSecDSigCtxDestroy(context) }
        guard let copy = xmlSecKeyDuplicate(key) else { return nil }
        context.pointee.signKey = copy
        context.pointee.enabledReferenceUris = xmlSecTransformUriType(xmlSecTransformUriTypeSameDocument)
        for transform in Self.canonicalizations + signatureMethods where xmlSecDSigCtxEnableSignatureTransform(context, transform) < 0 { return nil }
        for transform in Self.canonicalizations + [xmlSecTransformEnvelopedGetKlass()] + digestMethods
            where xmlSecDSigCtxEnableReferenceTransform(context, transform) < 0 { return nil }
        guard xmlSecDSigCtxVerify(context, signature.pointer) >= 0, context.pointee.status == xmlSecDSigStatusSucceeded else { return nil }
        return withUnsafeMutablePointer(to: &context.pointee.signedInfoReferences) { references -> String? in
            guard xmlSecPtrListGetSize(references) == 1,
                  let reference = xmlSecPtrListGetItem(references, 0)?.assumingMemoryBound(to: xmlSecDSigReferenceCtx.self),
                  reference.pointee.status == xmlSecDSigStatusSucceeded, let uri = reference.pointee.uri
            else { return nil }
            return String(cString: uri)
        }
    }

    private static var canonicalizations: [xmlSecTransformId?] {
        [
            xmlSecTransformExclC14NGetKlass(), xmlSecTransformExclC14NWithCommentsGetKlass(),
            xmlSecTransformInclC14NGetKlass(), xmlSecTransformInclC14NWithCommentsGetKlass(),
        ]
    }

    private var signatureMethods: [xmlSecTransformId?] {
        [
            xmlSecOpenSSLTransformRsaSha256GetKlass(), xmlSecOpenSSLTransformRsaSha384GetKlass(), xmlSecOpenSSLTransformRsaSha512GetKlass(),
            xmlSecOpenSSLTransformEcdsaSha256GetKlass(), xmlSecOpenSSLTransformEcdsaSha384GetKlass(), xmlSecOpenSSLTransformEcdsaSha512GetKlass(),
        ] + (allowSHA1 ? [xmlSecOpenSSLTransformRsaSha1GetKlass()] : [])
    }

    private var digestMethods: [xmlSecTransformId?] {
        [xmlSecOpenSSLTransformSha256GetKlass(), xmlSecOpenSSLTransformSha384GetKlass(), xmlSecOpenSSLTransformSha512GetKlass()]
            + (allowSHA1 ? [xmlSecOpenSSLTransformSha1GetKlass()] : [])
    }

    /// The public key of a pinned certificate (base64 DER, as configuration stores it).
    static func key(base64DER: String) -> xmlSecKeyPtr? {
        guard XMLSecurityLibrary.ready, let pem = SAMLCertificate.pem(base64DER: base64DER) else { return nil }
        let bytes = Array(pem.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            // xmlSecSize is `unsigned int` under XMLSEC_NO_SIZE_T (a macro, so not imported by name).
            xmlSecOpenSSLAppKeyLoadMemory(buffer.baseAddress, UInt32(buffer.count), xmlSecKeyDataFormatCertPem, nil, nil, nil)
        }
    }
}

/// Certificates as configuration holds them: base64 DER.
enum SAMLCertificate {
    /// Base64 DER of a PEM certificate or of base64 DER, when libxmlsec1 can load it as a certificate.
    static func normalized(_ text: String) -> String? {
        guard let der = base64DER(text), let key = SAMLSignature.key(base64DER: der) else { return nil }
        xmlSecKeyDestroy(key)
        return der
    }

    /// PEM for base64 DER (whitespace ignored); `nil` if it is not base64.
    static func pem(base64DER: String) -> String? {
        let compact = base64DER.filter { !$0.isWhitespace }
        guard let der = Data(base64Encoded: compact), !der.isEmpty else { return nil }
        let lines = der.base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN CERTIFICATE-----\n\(lines)\n-----END CERTIFICATE-----\n"
    }

    /// SHA-256 of the DER, in hex: how audit events and `sso show` name a certificate.
    static func fingerprint(_ base64DER: String) -> String {
        Hex.encode(SHA256.hash(data: Data(base64Encoded: base64DER) ?? Data()))
    }

    /// Base64 DER of a PEM certificate or of base64 DER, whitespace removed; `nil` if neither.
    static func base64DER(_ text: String) -> String? {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.hasPrefix("-----") }
        let compact = lines.joined().filter { !$0.isWhitespace }
        guard let der = Data(base64Encoded: compact), der.count > 100 else { return nil }
        return der.base64EncodedString()
    }
}
