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
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::reqwest;
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

/// Resolves a host name to its public addresses only: a name with none
/// (or one rebound to a private address after the URL was checked) is a
/// connection error.
struct PublicAddressesOnly;

impl reqwest::dns::Resolve for PublicAddressesOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let public: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|addr| is_public(addr.ip()))
                .collect();
            if public.is_empty() {
                return Err(format!("{} resolves to no public address", name.as_str()).into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether an address is on the public internet: not private, loopback,
/// link-local (cloud metadata services), shared (CGNAT), unspecified,
/// broadcast, multicast, reserved, documentation or unique-local; an IPv6
/// address that embeds an IPv4 one (mapped, compatible, NAT64) is judged
/// by that IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19)))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    if ip.is_loopback() || ip.is_unspecified() {
        return false;
    }
    if let Some(v4) = ip.to_ipv4() {
        // `::ffff:a.b.c.d` and the deprecated `::a.b.c.d`.
        return is_public_v4(v4);
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [_, _, _, _, _, _, high, low] = segments;
        return is_public_v4(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low)));
    }
    let first = segments[0];
    !(ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique-local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
        || (first == 0x2001 && segments[1] == 0x0db8)) // documentation
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

/// Whether a URL's host is a name other than `localhost`, or a public
/// address.
pub fn public_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            !name.is_empty() && name != "localhost" && !name.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => is_public_v4(ip),
        Some(url::Host::Ipv6(ip)) => is_public_v6(ip),
        None => false,
    }
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

    fn public(address: &str) -> bool {
        is_public(address.parse().unwrap())
    }

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).unwrap()
    }

    #[test]
    fn private_loopback_link_local_and_reserved_addresses_are_not_public() {
        for address in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "240.0.0.1",
            "224.0.0.1",
            "192.0.0.8",
            "198.18.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(!public(address), "{address} counted as public");
        }
    }

    #[test]
    fn addresses_on_the_internet_are_public() {
        for address in [
            "8.8.8.8",
            "1.1.1.1",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(public(address), "{address} counted as private");
        }
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

    #[tokio::test]
    async fn a_name_that_resolves_only_to_private_addresses_connects_nowhere() {
        use super::reqwest::dns::Resolve as _;
        for name in ["localhost", "127.0.0.1"] {
            let resolved = PublicAddressesOnly.resolve(name.parse().unwrap()).await;
            assert!(resolved.is_err(), "{name} resolved");
        }
    }
}
