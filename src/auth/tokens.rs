//! Access tokens: short-lived HS256 JWTs, issued and checked as RFC 8725
//! asks. The algorithm is pinned, `exp`, `iss`, `aud` and `sub` are required
//! and checked, and the header's `typ` is `at+jwt` (RFC 9068), so no other
//! token this server might sign can pass for an access token.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;

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

/// Signs and checks access tokens with one secret.
#[derive(Clone)]
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    validation: Validation,
    /// Lifetime of an access token, in seconds.
    pub access_ttl_secs: i64,
}

impl TokenIssuer {
    pub fn new(secret: &[u8], issuer: &str, access_ttl_secs: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            issuer: issuer.to_owned(),
            validation,
            access_ttl_secs,
        }
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
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                tracing::debug!(target: "orgql::auth", error = %e, "access token refused");
                AppError::Unauthenticated
            })
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
