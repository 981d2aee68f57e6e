//! SAML in a server built without the `saml` cargo feature: the API of
//! `saml.rs` (compiled in its place, under the same name), where nothing
//! reads, verifies or writes SAML. samael, xmlsec and libxml2 are not
//! linked, so `cargo run` and `cargo test` need nothing but Rust.
//!
//! What it enforces: no SAML Response is ever accepted. Callers refuse SAML
//! first ([`super::ensure_built`], BAD_USER_INPUT on `protocol` with
//! [`super::SAML_NOT_BUILT`]); should one reach these functions anyway,
//! each fails with [`SamlFailure::NotBuilt`].
//!
//! Connections a SAML build made stay readable here (their fields and SP
//! URLs), and may be deactivated and deleted: their certificate is decoded
//! without OpenSSL ([`certificate_der`]) so that the audit entry still
//! names its fingerprint.

use base64::Engine as _;
use chrono::{DateTime, Utc};

use super::VerifiedIdentity;

/// orgql's side of one SAML connection (see `saml.rs`).
pub struct ServiceProviderUrls {
    /// The SP entity id (also where the metadata is served).
    pub entity_id: String,
    /// The Assertion Consumer Service URL (HTTP-POST).
    pub acs_url: String,
}

/// A connection's IdP settings (see `saml.rs`).
pub struct IdpSettings<'a> {
    pub entity_id: &'a str,
    pub sso_url: &'a str,
    /// PEM.
    pub certificate: &'a str,
}

/// Why a Response was not accepted (see `saml.rs`); here, always
/// [`SamlFailure::NotBuilt`].
#[derive(Debug, thiserror::Error)]
pub enum SamlFailure {
    /// The IdP answered with a failure status (never, here: no Response is
    /// read).
    #[error("the IdP refused the sign-in: {0}")]
    Denied(String),
    #[error("{}", super::SAML_NOT_BUILT)]
    NotBuilt,
}

/// A sign-in to start (see `saml.rs`).
pub struct Request {
    pub url: String,
    pub request_id: String,
}

/// What an accepted assertion says (see `saml.rs`).
pub struct Accepted {
    pub assertion_id: String,
    pub usable_until: DateTime<Utc>,
    pub identity: VerifiedIdentity,
}

/// The DER bytes of a PEM X.509 certificate: the base64 between its
/// `BEGIN CERTIFICATE` and `END CERTIFICATE` lines (RFC 7468 §5), the form
/// a SAML build stored. Its X.509 content is not checked: only the
/// fingerprint of a stored certificate is asked of it.
pub fn certificate_der(pem: &str) -> Result<Vec<u8>, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let body = pem
        .trim()
        .strip_prefix(BEGIN)
        .and_then(|rest| rest.strip_suffix(END))
        .ok_or_else(|| "not a PEM certificate".to_owned())?;
    let base64: String = body.split_ascii_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(base64)
        .map_err(|e| e.to_string())
}

/// A certificate as a SAML build stores it: refused, this build cannot
/// read X.509.
pub fn canonical_certificate(_pem: &str) -> Result<String, String> {
    Err(super::SAML_NOT_BUILT.to_owned())
}

/// An AuthnRequest: refused.
pub fn authn_request(
    _sp: &ServiceProviderUrls,
    _idp_sso_url: &str,
    _relay_state: &str,
) -> Result<Request, SamlFailure> {
    Err(SamlFailure::NotBuilt)
}

/// orgql's SP metadata: refused.
pub fn sp_metadata(_sp: &ServiceProviderUrls) -> Result<String, SamlFailure> {
    Err(SamlFailure::NotBuilt)
}

/// A `SAMLResponse`: refused, unread.
pub async fn verify_response(
    _sp: &ServiceProviderUrls,
    _idp: &IdpSettings<'_>,
    _saml_response: &str,
    _request_id: &str,
) -> Result<Accepted, SamlFailure> {
    Err(SamlFailure::NotBuilt)
}

#[cfg(test)]
mod tests {
    use sha2::Digest as _;

    use super::*;

    #[test]
    fn a_stored_certificate_decodes_to_the_der_openssl_reads() {
        let pem = include_str!("../../../fuzz/idp-certificate.pem");
        let der = certificate_der(pem).unwrap();
        // `openssl x509 -in fuzz/idp-certificate.pem -outform der | sha256sum`
        assert_eq!(
            hex::encode(sha2::Sha256::digest(der)),
            "b0d35541d20c33050a63adf1b68c6428c11de29059cbce4def9e515957a198b9"
        );
    }

    #[test]
    fn text_that_is_not_a_pem_certificate_is_refused() {
        assert!(certificate_der("MIIBijCCAS+gAwIBAgIU").is_err());
        assert!(
            certificate_der("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----").is_err()
        );
    }

    #[tokio::test]
    async fn no_saml_response_is_accepted() {
        let sp = ServiceProviderUrls {
            entity_id: "https://orgql.test/sso/saml/sso_x".into(),
            acs_url: "https://orgql.test/sso/saml/acs".into(),
        };
        let idp = IdpSettings {
            entity_id: "idp",
            sso_url: "https://idp.test/sso",
            certificate: "",
        };
        let refused = verify_response(&sp, &idp, "PHNhbWxwOlJlc3BvbnNlLz4=", "_r").await;
        assert!(matches!(refused, Err(SamlFailure::NotBuilt)));
        assert!(authn_request(&sp, "https://idp.test/sso", "state").is_err());
        assert!(sp_metadata(&sp).is_err());
    }
}
