//! OpenID Connect (Core 1.0) for single sign-on, with the `openidconnect`
//! crate: authorization code flow with PKCE (RFC 7636), `state` and
//! `nonce`; the ID token's signature is checked against the IdP's JWKS,
//! and its issuer, audience, expiry and nonce by the crate's verifier
//! (Core §3.1.3.7). Unsigned (`alg: none`) tokens are refused.
//!
//! (Long because the protocol and the network rules that keep it to public
//! https hosts belong together; their unit tests are at the end.)
//!
//! Every request the server sends for a connection (discovery, JWKS,
//! token, userinfo) goes only to an https URL on a public host (review
//! L7): [`may_reach`] checks each URL before it is sent, the endpoints a
//! discovery document names are checked as soon as it arrives (a hostile
//! document is refused whole), and a host name connects only to the public
//! addresses it resolves to ([`is_public`]), so that a name that resolves
//! (or rebinds) to a private, loopback or link-local address reaches
//! nothing. With `ORGQL_SSO_ALLOW_HTTP_ISSUERS` (development and tests)
//! the issuer's own origin (scheme, host and port) may be plain http on
//! any address, and nothing else private: a discovery document still
//! cannot point the server at another local service.
//!
//! Discovery documents and their JWKS are cached per issuer for ten
//! minutes; a token signed with a key the cache does not know triggers one
//! fresh discovery (the IdP rotated its keys) before it is refused.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::reqwest;

use crate::domain::outbound::{PublicAddressesOnly, public_host};
use openidconnect::{AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse};
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

/// The HTTP client that talks to IdPs, shared by every request: no
/// redirects (they would open the server to SSRF through a hostile IdP),
/// short timeouts, and, unless development issuers are allowed, a resolver
/// that connects a host name only to its public addresses.
pub struct IdpHttp {
    client: reqwest::Client,
    /// `ORGQL_SSO_ALLOW_HTTP_ISSUERS`: the issuer's own origin may be
    /// plain http on a private or loopback address.
    allow_dev: bool,
}

impl IdpHttp {
    pub fn new(allow_dev: bool) -> Self {
        let builder = reqwest::ClientBuilder::new()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10));
        let builder = if allow_dev {
            builder
        } else {
            builder.dns_resolver(Arc::new(PublicAddressesOnly))
        };
        Self {
            client: builder.build().unwrap_or_default(),
            allow_dev,
        }
    }

    /// The client for one connection's requests, refusing every URL that
    /// [`may_reach`] does not allow for `issuer`.
    fn for_issuer<'a>(&'a self, issuer: &'a url::Url) -> GuardedClient<'a> {
        GuardedClient {
            client: &self.client,
            issuer,
            allow_dev: self.allow_dev,
        }
    }
}

/// [`IdpHttp`] for one issuer: a request to a URL the server may not reach
/// fails before anything is sent.
struct GuardedClient<'a> {
    client: &'a reqwest::Client,
    issuer: &'a url::Url,
    allow_dev: bool,
}

type ClientError = HttpClientError<reqwest::Error>;

impl<'c> AsyncHttpClient<'c> for GuardedClient<'_> {
    type Error = ClientError;
    type Future =
        Pin<Box<dyn Future<Output = Result<HttpResponse, ClientError>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        let allowed = url::Url::parse(&request.uri().to_string())
            .is_ok_and(|target| may_reach(self.issuer, &target, self.allow_dev));
        if allowed {
            self.client.call(request)
        } else {
            let refused = format!("refused to reach {} for this issuer", request.uri());
            Box::pin(async move { Err(HttpClientError::Other(refused)) })
        }
    }
}

/// Whether the server may send a request to `target` for a connection
/// whose issuer is `issuer` (review L7): an https URL whose host is a name
/// or a public address (the resolver checks what a name resolves to).
/// With development issuers allowed, the issuer's own origin (scheme, host
/// and port) too, and nothing else private.
pub fn may_reach(issuer: &url::Url, target: &url::Url, allow_dev: bool) -> bool {
    if allow_dev && issuer.origin() == target.origin() {
        return true;
    }
    target.scheme() == "https" && public_host(target)
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
        http: &IdpHttp,
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
        let guarded = http.for_issuer(issuer_url.url());
        let metadata = CoreProviderMetadata::discover_async(issuer_url.clone(), &guarded)
            .await
            .map_err(|e| OidcFailure::Provider(format!("discovery: {e}")))?;
        // The JWKS was fetched through the guard; the endpoints used later
        // are checked now, so that a hostile document is refused whole.
        let later = [
            metadata.token_endpoint().map(|endpoint| endpoint.url()),
            metadata.userinfo_endpoint().map(|endpoint| endpoint.url()),
        ];
        if let Some(refused) = later
            .into_iter()
            .flatten()
            .find(|target| !may_reach(issuer_url.url(), target, http.allow_dev))
        {
            return Err(OidcFailure::Provider(format!(
                "discovery names an endpoint the server may not reach: {refused}"
            )));
        }
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
    http: &IdpHttp,
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
    http: &IdpHttp,
    settings: &OidcClientSettings<'_>,
    code: &str,
    nonce: &str,
    pkce_verifier: &str,
) -> Result<VerifiedIdentity, OidcFailure> {
    let metadata = cache.metadata(http, settings.issuer_url, false).await?;
    let issuer = url::Url::parse(settings.issuer_url)
        .map_err(|e| OidcFailure::Provider(format!("issuer: {e}")))?;
    let client = client(metadata, settings)?;
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| OidcFailure::Provider(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
        .request_async(&http.for_issuer(&issuer))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).unwrap()
    }

    #[test]
    fn only_https_urls_on_public_hosts_may_be_reached() {
        let issuer = url("https://idp.example.com");
        for allowed in [
            "https://idp.example.com/jwks",
            "https://keys.example.net/jwks",
            "https://8.8.8.8/token",
        ] {
            assert!(may_reach(&issuer, &url(allowed), false), "{allowed}");
        }
        for refused in [
            "http://idp.example.com/jwks",
            "https://localhost/jwks",
            "https://a.localhost./jwks",
            "https://127.0.0.1/jwks",
            "https://0x7f.1/jwks",
            "https://2130706433/jwks",
            "https://[::1]/jwks",
            "https://[::ffff:7f00:1]/jwks",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.1/token",
            "https://[fd00::1]/token",
            "ftp://idp.example.com/jwks",
            "file:///etc/passwd",
        ] {
            assert!(!may_reach(&issuer, &url(refused), false), "{refused}");
        }
    }

    #[test]
    fn in_development_only_the_issuers_own_origin_may_be_private() {
        let issuer = url("http://127.0.0.1:4000");
        assert!(may_reach(&issuer, &url("http://127.0.0.1:4000/jwks"), true));
        assert!(!may_reach(
            &issuer,
            &url("http://127.0.0.1:4000/jwks"),
            false
        ));
        assert!(!may_reach(
            &issuer,
            &url("http://127.0.0.1:4001/jwks"),
            true
        ));
        assert!(!may_reach(
            &issuer,
            &url("https://127.0.0.1:4000/jwks"),
            true
        ));
        assert!(!may_reach(
            &issuer,
            &url("http://localhost:4000/jwks"),
            true
        ));
        assert!(may_reach(
            &issuer,
            &url("https://keys.example.net/jwks"),
            true
        ));
    }
}
