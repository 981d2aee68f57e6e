//! Access tokens: short-lived HS256 JWTs, issued and checked as RFC 8725
//! asks. The algorithm is pinned, `exp`, `iss`, `aud` and `sub` are required
//! and checked, and the header's `typ` is `at+jwt` (RFC 9068), so no other
//! token this server might sign can pass for an access token.
//!
//! The signing secret rotates (`auth::keyring`): tokens are signed with the
//! current secret and name it in the header's `kid`; verification takes
//! the secret that `kid` names, the current one or
//! `ORGQL_JWT_SECRET_FALLBACK`, so tokens signed before a rotation keep
//! working until they expire, and an instance that already knows the next
//! secret accepts what one already using it signs. A `kid` the ring does
//! not know is refused, never tried against every secret. A token with no
//! `kid` (signed before key ids) is tried against each secret of the ring,
//! the current one first: it is as trustworthy as its signature, and such
//! tokens are gone once the last one signed before the upgrade expires.

use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::keyring::Keyring;
use crate::error::AppError;

/// Labels the signing secrets' ids (`keyring::key_id`).
const KEY_ID_PURPOSE: &str = "orgql access token secret";
const ACCESS_TOKEN_TYPE: &str = "at+jwt";
const AUDIENCE: &str = "orgql";

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user's id.
    pub sub: Uuid,
    /// The session the token belongs to; revoking it voids the token.
    pub sid: Uuid,
    /// The active organization, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub org: Option<Uuid>,
    /// How the person authenticated (RFC 8176): `["pwd"]` or
    /// `["pwd", "otp"]`. Informative for clients; the server trusts the
    /// session row, which says the same.
    #[serde(default)]
    pub amr: Vec<String>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

/// Signs access tokens with the current secret and checks them with the
/// secret their `kid` names.
#[derive(Clone)]
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: Keyring<DecodingKey>,
    issuer: String,
    validation: Validation,
    /// Lifetime of an access token, in seconds.
    pub access_ttl_secs: i64,
}

impl TokenIssuer {
    /// An issuer with one secret.
    pub fn new(secret: &[u8], issuer: &str, access_ttl_secs: i64) -> Self {
        Self::with_fallbacks(secret, [], issuer, access_ttl_secs)
    }

    /// An issuer that signs with `secret` and also accepts tokens signed
    /// with `fallbacks`.
    pub fn with_fallbacks<'a>(
        secret: &[u8],
        fallbacks: impl IntoIterator<Item = &'a [u8]>,
        issuer: &str,
        access_ttl_secs: i64,
    ) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: Keyring::new(KEY_ID_PURPOSE, secret, fallbacks, DecodingKey::from_secret),
            issuer: issuer.to_owned(),
            validation,
            access_ttl_secs,
        }
    }

    /// The id of the secret new tokens are signed with (their `kid`).
    pub fn current_key_id(&self) -> &str {
        self.decoding.current_id()
    }

    /// How many fallback secrets verify tokens besides the current one.
    pub fn fallbacks(&self) -> usize {
        self.decoding.fallbacks()
    }

    /// A signed access token and the moment it expires.
    pub fn issue(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        organization_id: Option<Uuid>,
        amr: &[&str],
        ttl_secs: i64,
    ) -> Result<(String, DateTime<Utc>), AppError> {
        let now = Utc::now();
        let expires_at = now + chrono::Duration::seconds(ttl_secs);
        let claims = AccessClaims {
            sub: user_id,
            sid: session_id,
            org: organization_id,
            amr: amr.iter().map(|m| (*m).to_owned()).collect(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = Some(self.decoding.current_id().to_owned());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| AppError::internal(e.to_string()))?;
        Ok((token, expires_at))
    }

    /// The claims of a valid access token. Every failure is the same
    /// UNAUTHENTICATED; the reason goes to the debug log.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, AppError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| {
            tracing::debug!(target: "orgql::auth", error = %e, "malformed access token");
            AppError::Unauthenticated
        })?;
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYPE) {
            tracing::debug!(target: "orgql::auth", "token of the wrong type");
            return Err(AppError::Unauthenticated);
        }
        let kid = header.kid.as_deref();
        let mut refusal = None;
        for key in self.decoding.candidates(kid) {
            match jsonwebtoken::decode::<AccessClaims>(token, key, &self.validation) {
                Ok(data) => return Ok(data.claims),
                // Another secret of the ring may have signed it.
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => refusal = Some(e),
                // Expired, wrong audience…: the same with any secret.
                Err(e) => {
                    refusal = Some(e);
                    break;
                }
            }
        }
        match refusal {
            Some(e) => {
                tracing::debug!(target: "orgql::auth", error = %e, "access token refused");
            }
            None => {
                tracing::debug!(target: "orgql::auth", ?kid, "access token naming a secret this server does not know");
            }
        }
        Err(AppError::Unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(b"a test secret of enough length!!", "http://test", 900)
    }

    #[test]
    fn an_issued_token_verifies() {
        let (token, _) = issuer()
            .issue(Uuid::now_v7(), Uuid::now_v7(), None, &["pwd"], 60)
            .unwrap();
        assert!(issuer().verify(&token).is_ok());
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let other = TokenIssuer::new(b"another secret of enough length!", "http://test", 900);
        let (token, _) = other
            .issue(Uuid::now_v7(), Uuid::now_v7(), None, &["pwd"], 60)
            .unwrap();
        assert!(issuer().verify(&token).is_err());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let (token, _) = issuer()
            .issue(Uuid::now_v7(), Uuid::now_v7(), None, &["pwd"], -60)
            .unwrap();
        assert!(issuer().verify(&token).is_err());
    }

    const OLD: &[u8] = b"the old secret, of at least thirty-two bytes";
    const NEW: &[u8] = b"the new secret, of at least thirty-two bytes";

    fn issued_by(secret: &[u8], fallbacks: &[&[u8]]) -> TokenIssuer {
        TokenIssuer::with_fallbacks(secret, fallbacks.iter().copied(), "http://test", 900)
    }

    fn token_of(issuer: &TokenIssuer) -> String {
        issuer
            .issue(Uuid::now_v7(), Uuid::now_v7(), None, &["pwd"], 60)
            .unwrap()
            .0
    }

    /// A token as `issue` makes it, but with `kid` in its header.
    fn token_with_kid(secret: &[u8], kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(secret)).unwrap()
    }

    #[test]
    fn an_issued_token_names_its_secret_by_id_in_the_header() {
        let issuer = issued_by(NEW, &[OLD]);
        let header = jsonwebtoken::decode_header(token_of(&issuer)).unwrap();
        let kid = header.kid.expect("a kid");
        assert_eq!(kid, issuer.current_key_id());
        assert_eq!(kid, super::super::keyring::key_id(KEY_ID_PURPOSE, NEW));
        assert_ne!(kid, issued_by(OLD, &[]).current_key_id());
    }

    #[test]
    fn a_token_signed_with_a_fallback_secret_verifies_while_it_is_listed() {
        let old_token = token_of(&issued_by(OLD, &[]));
        assert!(issued_by(NEW, &[OLD]).verify(&old_token).is_ok());
        assert!(issued_by(NEW, &[]).verify(&old_token).is_err());
    }

    #[test]
    fn an_instance_that_lists_the_next_secret_accepts_tokens_signed_with_it() {
        // The first step of a rolling rotation: the old secret is still
        // current, the new one a fallback.
        let new_token = token_of(&issued_by(NEW, &[OLD]));
        assert!(issued_by(OLD, &[NEW]).verify(&new_token).is_ok());
        assert!(issued_by(OLD, &[]).verify(&new_token).is_err());
    }

    #[test]
    fn a_token_without_kid_is_tried_against_every_secret_of_the_ring() {
        let from_before_key_ids = token_with_kid(OLD, None);
        assert!(issued_by(OLD, &[]).verify(&from_before_key_ids).is_ok());
        assert!(issued_by(NEW, &[OLD]).verify(&from_before_key_ids).is_ok());
        assert!(issued_by(NEW, &[]).verify(&from_before_key_ids).is_err());
    }

    #[test]
    fn a_token_whose_kid_the_ring_does_not_know_is_refused_even_if_a_secret_signed_it() {
        assert!(issuer().verify(&token_of(&issuer())).is_ok());
        let unknown = token_with_kid(
            b"a test secret of enough length!!",
            Some("0123456789abcdef"),
        );
        assert!(issuer().verify(&unknown).is_err());
    }

    #[test]
    fn a_token_whose_kid_names_another_secret_of_the_ring_is_refused() {
        let ring = issued_by(NEW, &[OLD]);
        let mislabelled = token_with_kid(OLD, Some(ring.current_key_id()));
        assert!(ring.verify(&mislabelled).is_err());
    }

    fn claims() -> AccessClaims {
        AccessClaims {
            sub: Uuid::now_v7(),
            sid: Uuid::now_v7(),
            org: None,
            amr: vec!["pwd".into()],
            iat: Utc::now().timestamp(),
            exp: Utc::now().timestamp() + 60,
            iss: "http://test".into(),
            aud: AUDIENCE.into(),
        }
    }

    #[test]
    fn a_token_without_the_access_type_is_refused() {
        let claims = AccessClaims {
            sub: Uuid::now_v7(),
            sid: Uuid::now_v7(),
            org: None,
            amr: vec!["pwd".into()],
            iat: Utc::now().timestamp(),
            exp: Utc::now().timestamp() + 60,
            iss: "http://test".into(),
            aud: AUDIENCE.into(),
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"a test secret of enough length!!"),
        )
        .unwrap();
        assert!(issuer().verify(&token).is_err());
    }
}
