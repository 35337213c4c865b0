/// Why an OpenID Connect sign-in was refused; the raw value is the audit reason. The browser only
/// ever sees the generic refusal page.
enum OIDCFailure: String, Error, Equatable {
    case discoveryFailed = "oidc_discovery_failed"
    case discoveryIssuerMismatch = "oidc_discovery_issuer_mismatch"
    case keysUnavailable = "oidc_keys_unavailable"
    case unknownState = "oidc_unknown_or_consumed_state"
    case providerError = "oidc_provider_error"
    case codeMissing = "oidc_code_missing"
    case clientSecretUnusable = "oidc_client_secret_unusable"
    case tokenExchangeFailed = "oidc_token_exchange_failed"
    case malformed = "oidc_id_token_malformed"
    case forbiddenHeader = "oidc_forbidden_header"
    case algorithmNotAllowed = "oidc_algorithm_not_allowed"
    case unknownKey = "oidc_unknown_key"
    case signatureInvalid = "oidc_signature_invalid"
    case issuerMismatch = "oidc_issuer_mismatch"
    case audienceMismatch = "oidc_audience_mismatch"
    case authorizedPartyMismatch = "oidc_authorized_party_mismatch"
    case lifetimeInvalid = "oidc_lifetime_missing_or_invalid"
    case notYetValid = "oidc_not_yet_valid"
    case expired = "oidc_expired"
    case nonceMismatch = "oidc_nonce_mismatch"
    case subjectMissing = "oidc_subject_missing"
    /// `max_age` was asked for and `auth_time` is missing or older; or `prompt=login` was asked
    /// for and the user was not authenticated after the request started.
    case authenticationTooOld = "oidc_authentication_too_old"
    case userInfoFailed = "oidc_userinfo_failed"
    case userInfoSubjectMismatch = "oidc_userinfo_subject_mismatch"
}
