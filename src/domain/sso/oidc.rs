//! OpenID Connect (Core 1.0) for single sign-on, with the `openidconnect`
//! crate: authorization code flow with PKCE (RFC 7636), `state` and
//! `nonce`; the ID token's signature is checked against the IdP's JWKS,
//! and its issuer, audience, expiry and nonce by the crate's verifier
//! (Core §3.1.3.7). Unsigned (`alg: none`) tokens are refused.
//!
//! Discovery documents and their JWKS are cached per issuer for ten
//! minutes; a token signed with a key the cache does not know triggers one
//! fresh discovery (the IdP rotated its keys) before it is refused.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};

/// How long a discovery document (and its keys) is trusted.
const CACHE_TTL: Duration = Duration::from_secs(600);

/// Discovery documents by issuer, shared by every request.
#[derive(Default)]
pub struct ProviderCache {
    entries: Mutex<HashMap<String, (CoreProviderMetadata, Instant)>>,
}

/// The HTTP client that talks to IdPs: no redirects (they would open the
/// server to SSRF through a hostile IdP), short timeouts.
pub fn http_client() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

/// Why an IdP's answer was not accepted. Logged in full; the browser is
/// told only the kind.
#[derive(Debug, thiserror::Error)]
pub enum OidcFailure {
    /// Discovery, JWKS or the token endpoint could not be reached or made
    /// no sense.
    #[error("identity provider unavailable: {0}")]
    Provider(String),
    /// The ID token failed a check (signature, issuer, audience, expiry,
    /// nonce), or none came.
    #[error("ID token refused: {0}")]
    InvalidToken(String),
}

/// Where to send the browser, and what the callback must check against.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

pub use super::VerifiedIdentity;

/// A connection's OIDC settings, its secret opened.
pub struct OidcClientSettings<'a> {
    pub issuer_url: &'a str,
    pub client_id: &'a str,
    pub client_secret: String,
    pub redirect_uri: String,
}

impl ProviderCache {
    async fn metadata(
        &self,
        http: &openidconnect::reqwest::Client,
        issuer: &str,
        fresh: bool,
    ) -> Result<CoreProviderMetadata, OidcFailure> {
        if !fresh {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((metadata, at)) = entries.get(issuer)
                && at.elapsed() < CACHE_TTL
            {
                return Ok(metadata.clone());
            }
        }
        let issuer_url =
            IssuerUrl::new(issuer.to_owned()).map_err(|e| OidcFailure::Provider(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer_url, http)
            .await
            .map_err(|e| OidcFailure::Provider(format!("discovery: {e}")))?;
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(issuer.to_owned(), (metadata.clone(), Instant::now()));
        Ok(metadata)
    }
}

fn client(
    metadata: CoreProviderMetadata,
    settings: &OidcClientSettings<'_>,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    OidcFailure,
> {
    let redirect = RedirectUrl::new(settings.redirect_uri.clone())
        .map_err(|e| OidcFailure::Provider(e.to_string()))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(settings.client_id.to_owned()),
        Some(ClientSecret::new(settings.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

/// The IdP's authorization URL for a new sign-in, with a fresh state,
/// nonce and PKCE verifier (S256).
pub async fn authorization(
    cache: &ProviderCache,
    http: &openidconnect::reqwest::Client,
    settings: &OidcClientSettings<'_>,
) -> Result<Authorization, OidcFailure> {
    let metadata = cache.metadata(http, settings.issuer_url, false).await?;
    let client = client(metadata, settings)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Authorization {
        url: url.to_string(),
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
    })
}

/// Trades the authorization code for tokens and verifies the ID token.
pub async fn verify_callback(
    cache: &ProviderCache,
    http: &openidconnect::reqwest::Client,
    settings: &OidcClientSettings<'_>,
    code: &str,
    nonce: &str,
    pkce_verifier: &str,
) -> Result<VerifiedIdentity, OidcFailure> {
    let metadata = cache.metadata(http, settings.issuer_url, false).await?;
    let client = client(metadata, settings)?;
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| OidcFailure::Provider(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
        .request_async(http)
        .await
        .map_err(|e| OidcFailure::Provider(format!("token endpoint: {e}")))?;
    let id_token = response
        .id_token()
        .ok_or_else(|| OidcFailure::InvalidToken("no ID token in the token response".into()))?;
    let nonce = Nonce::new(nonce.to_owned());
    let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
        Ok(claims) => claims.clone(),
        Err(first) => {
            // Perhaps the IdP rotated its keys: look once more, afresh.
            let metadata = cache.metadata(http, settings.issuer_url, true).await?;
            let client = self::client(metadata, settings)?;
            id_token
                .claims(&client.id_token_verifier(), &nonce)
                .map_err(|e| OidcFailure::InvalidToken(format!("{first}; after refresh: {e}")))?
                .clone()
        }
    };
    Ok(VerifiedIdentity {
        subject: claims.subject().as_str().to_owned(),
        // OIDC Core §2: `sub` is never reassigned.
        linkable: true,
        email: claims.email().map(|e| e.as_str().to_lowercase()),
        // Necessary, not sufficient: the address must also be in one of
        // the organization's verified domains (`sign_in::provision`).
        email_verified: claims.email_verified() == Some(true),
        needs_verified_domain: false,
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned()),
    })
}
