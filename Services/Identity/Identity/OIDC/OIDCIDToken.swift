import Foundation

/// Checks an ID token's claims once its signature has been verified (OpenID Connect Core §3.1.3.7):
/// `iss` equals the configured issuer, `aud` contains the client id (and with several audiences
/// `azp` names this client), `iat`/`exp` within a minute of skew, `nonce` equals the one this
/// browser's request carried, and a subject. Reads email (only when not marked unverified), name,
/// groups and the MFA signals (`amr`, or an `acr` the tenant trusts).
struct OIDCIDToken {
    static let maximumBytes = 16 * 1024
    static let allowedSkew: TimeInterval = 60

    /// What a verified ID token says.
    struct Claims: Sendable, Equatable {
        var subject: String
        var email: String?
        var name: String?
        var groups: [String]
        var multiFactor: Bool
    }

    let settings: OIDCSettings
    let nonce: String
    /// `acr` values that mean multi-factor authentication.
    let multiFactorContexts: [String]
    let now: Date
    /// The request's `max_age`: `auth_time` must be present and at most that old.
    var maxAge: Int? = nil
    /// With `prompt=login`, when the request started: `auth_time` must be present and not earlier.
    var reauthenticatedAfter: Date? = nil

    /// The algorithm a token's header names, if Rampart accepts it at all.
    static func algorithm(of jws: CompactJWS) throws(OIDCFailure) -> OIDCAlgorithm {
        guard let name = jws.algorithm, let algorithm = OIDCAlgorithm(rawValue: name) else { throw .algorithmNotAllowed }
        return algorithm
    }

    /// Parses a token strictly (size, base64url, JSON, no key-carrying headers).
    static func parse(_ token: String) throws(OIDCFailure) -> CompactJWS {
        do throws(CompactJWS.Failure) {
            return try CompactJWS(token, maximumBytes: maximumBytes)
        } catch {
            throw error == .forbiddenHeader ? .forbiddenHeader : .malformed
        }
    }

    /// The claims of `jws`, whose signature the caller has verified with one of the issuer's keys.
    func claims(of jws: CompactJWS) throws(OIDCFailure) -> Claims {
        let payload = jws.payload
        guard payload["iss"] as? String == settings.issuer else { throw .issuerMismatch }
        let audiences = jws.audiences
        guard audiences.contains(settings.clientID) else { throw .audienceMismatch }
        let authorizedParty = payload["azp"] as? String
        if audiences.count > 1 || authorizedParty != nil {
            guard authorizedParty == settings.clientID else { throw .authorizedPartyMismatch }
        }
        guard let issued = jws.date("iat"), let expires = jws.date("exp"), expires > issued else { throw .lifetimeInvalid }
        guard issued <= now.timeIntervalSince1970 + Self.allowedSkew else { throw .notYetValid }
        guard expires > now.timeIntervalSince1970 - Self.allowedSkew else { throw .expired }
        guard payload["nonce"] as? String == nonce else { throw .nonceMismatch }
        if maxAge != nil || reauthenticatedAfter != nil {
            guard let authenticated = jws.date("auth_time"), authenticated <= now.timeIntervalSince1970 + Self.allowedSkew else { throw .authenticationTooOld }
            if let maxAge, authenticated < now.timeIntervalSince1970 - Double(maxAge) - Self.allowedSkew { throw .authenticationTooOld }
            if let reauthenticatedAfter, authenticated < reauthenticatedAfter.timeIntervalSince1970 - Self.allowedSkew { throw .authenticationTooOld }
        }
        guard let subject = payload["sub"] as? String, (1...512).contains(subject.utf8.count) else { throw .subjectMissing }
        let unverified = (payload["email_verified"] as? Bool) == false
        let groups = (payload[settings.claims.groups] as? [String]) ?? (payload[settings.claims.groups] as? String).map { [$0] } ?? []
        let acr = payload["acr"] as? String
        return Claims(
            subject: subject,
            email: unverified ? nil : payload[settings.claims.email] as? String, name: payload[settings.claims.name] as? String,
            groups: groups, multiFactor: jws.assertsMultiFactor || acr.map(multiFactorContexts.contains) == true
        )
    }

    /// `claims` with what the UserInfo response says (OpenID Connect Core §5.3.2): its `sub` must
    /// equal the ID token's, or none of it is used; email (unless marked unverified), name and
    /// groups it holds replace the ID token's.
    func merging(userInfo data: Data, into claims: Claims) throws(OIDCFailure) -> Claims {
        guard let info = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw .userInfoFailed }
        guard info["sub"] as? String == claims.subject else { throw .userInfoSubjectMismatch }
        var merged = claims
        if (info["email_verified"] as? Bool) == false {
            merged.email = nil
        } else if let email = info[settings.claims.email] as? String {
            merged.email = email
        }
        if let name = info[settings.claims.name] as? String { merged.name = name }
        if let groups = (info[settings.claims.groups] as? [String]) ?? (info[settings.claims.groups] as? String).map({ [$0] }) { merged.groups = groups }
        return merged
    }
}
