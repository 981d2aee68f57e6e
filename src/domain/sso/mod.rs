//! Single sign-on per organization (OIDC or SAML), routed by verified
//! domains.
//!
//! What it enforces:
//! - Connections are managed with sso:manage (OWNER, ADMIN; issue #12) and
//!   only on the ENTERPRISE tier (DESIGN §6): on
//!   another tier creating, changing, testing, activating and signing in
//!   through one answer TIER_LIMIT_EXCEEDED (`ssoConnections`, limit 0).
//! - A client secret is sealed at rest (`auth::sealing`, bound to the
//!   connection's id) and never returned, logged or audited.
//! - A connection becomes ACTIVE only after a test sign-in through it
//!   succeeded since its IdP settings last changed; one ACTIVE connection
//!   per organization.
//! - Sign-in ([`sign_in`]): state, nonce and PKCE are single-use and expire
//!   after ten minutes; the app's `redirect_uri` must be on the server's
//!   allowlist; the ID token is verified by [`oidc`], the SAML Response by
//!   [`saml`] (signature, issuer, audience, recipient, times, InResponseTo,
//!   replay). A tenant's IdP speaks only for that tenant's verified
//!   domains (DESIGN §3, review H2): an address it asserts (OIDC with
//!   `email_verified`, SAML by its signature) counts only when its domain
//!   is one of the connection's organization's verified domains, for a
//!   new account (JIT, with the connection's default role within the seat
//!   limit), for linking an existing account, and again at every sign-in
//!   through an existing link (the asserted address and the account's
//!   own), so that `removeDomain` ends the links of that domain.
//!   Outside them: `email_not_verified` (an existing, unlinked account:
//!   `account_not_linkable` for OIDC). The connection must still be ACTIVE
//!   when the answer comes back (`sso_unavailable`).
//! - An SSO session's `amr` is `["sso"]`, bound to the connection and its
//!   organization; it never counts as a second factor, so `requireMfa`
//!   asks it for MFA in every organization (the connection's own too),
//!   whatever the account's own TOTP. The browser gets a one-time code (60 s), never a token, and the
//!   app trades it for a session through GraphQL (`exchangeSsoCode`). Each
//!   sign-in is audited with its connection.
//! - The server fetches from an OIDC IdP (discovery, JWKS, token endpoint)
//!   only over https from public addresses, never from a private, loopback
//!   or link-local one, whatever a discovery document names ([`oidc`],
//!   review L7).
//! - Deactivating or deleting the active connection turns `ssoRequired` off
//!   in the same audited change (enforcement without a way in would lock
//!   every member but the owners out).
//! - SAML only in a server built with the `saml` cargo feature (it links
//!   libxmlsec1 and libxml2): without it, creating, changing, activating,
//!   testing and signing in through a SAML connection, and its SP metadata,
//!   are refused with [`SAML_NOT_BUILT`] ([`ensure_built`]), and no SAML
//!   Response is read. SAML connections a SAML build made can still be
//!   read, deactivated and deleted.

pub mod connections;
pub mod oidc;
// SAML links libxmlsec1 and libxml2 (through samael), so it is built only
// with the `saml` cargo feature. Without it, `saml_unavailable` stands in
// under the same name and API, and [`ensure_built`] refuses SAML before
// any of it would run.
#[cfg(feature = "saml")]
pub mod saml;
#[cfg(not(feature = "saml"))]
#[path = "saml_unavailable.rs"]
pub mod saml;
#[cfg(feature = "saml")]
pub mod saml_xml;
pub mod sign_in;

use entity::values::{SsoProtocol, Tier};

use crate::domain::ids::{PublicId, SsoConnectionId};
use crate::error::{AppError, AppResult};

/// How long a sign-in in flight may take at the IdP.
pub const STATE_TTL_MINUTES: i64 = 10;
/// How long the app has to trade its one-time code.
pub const CODE_TTL_SECONDS: i64 = 60;

/// What an IdP's accepted answer says about the person, whichever the
/// protocol.
#[derive(Debug, Clone)]
pub struct VerifiedIdentity {
    /// The IdP's stable id for the person (OIDC `sub`, SAML NameID).
    pub subject: String,
    /// Whether the subject names the person next time too, so that it may
    /// be linked to their account (not a SAML transient NameID).
    pub linkable: bool,
    pub email: Option<String>,
    /// The IdP asserts the address is the person's.
    pub email_verified: bool,
    /// The protocol has no `email_verified` claim (SAML): the address is
    /// proven by the organization's verified domains alone, so outside
    /// them even an existing account is `email_not_verified`. (Every
    /// address, on both protocols, counts only within those domains.)
    pub needs_verified_domain: bool,
    pub name: Option<String>,
}

/// Server-wide SSO settings and the shared IdP client.
pub struct SsoSettings {
    /// This server's public base URL (`ORGQL_PUBLIC_URL`), without a
    /// trailing slash.
    pub public_url: String,
    /// Where the browser may be sent back to (`ORGQL_SSO_REDIRECT_URIS`):
    /// exact matches only.
    pub redirect_uris: Vec<String>,
    /// Whether issuers may be plain `http://` and on a private or loopback
    /// address (`ORGQL_SSO_ALLOW_HTTP_ISSUERS`, for development and tests;
    /// only the issuer's own origin, `oidc::may_reach`).
    pub allow_http_issuers: bool,
    pub http: oidc::IdpHttp,
    pub providers: oidc::ProviderCache,
}

impl SsoSettings {
    pub fn new(public_url: &str, redirect_uris: Vec<String>, allow_http_issuers: bool) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            redirect_uris,
            allow_http_issuers,
            http: oidc::IdpHttp::new(allow_http_issuers),
            providers: oidc::ProviderCache::default(),
        }
    }

    /// The OIDC redirect URI to register at the IdP.
    pub fn oidc_callback_url(&self) -> String {
        format!("{}/sso/oidc/callback", self.public_url)
    }

    /// The one-time link a test sign-in starts from in the browser.
    pub fn test_link_url(&self, ticket: &str) -> String {
        format!("{}/sso/test?ticket={ticket}", self.public_url)
    }

    /// orgql's SAML service provider for one connection: its own entity
    /// id, `/sso/saml/{connection id}` (public id form, where its metadata
    /// is served), so that an assertion meant for one connection (or one
    /// organization) is not taken by another that trusts the same IdP; and
    /// the one Assertion Consumer Service URL all connections share.
    pub fn saml_sp(&self, connection_id: uuid::Uuid) -> saml::ServiceProviderUrls {
        saml::ServiceProviderUrls {
            entity_id: format!(
                "{}/sso/saml/{}",
                self.public_url,
                SsoConnectionId::from(connection_id).public()
            ),
            acs_url: format!("{}/sso/saml/acs", self.public_url),
        }
    }

    /// Where a browser starts signing in to an organization.
    pub fn start_url(&self, slug: &str) -> String {
        format!("{}/sso/{slug}/start", self.public_url)
    }

    /// The app's `redirect_uri`, when it is on the allowlist.
    pub fn allowed_redirect(&self, redirect_uri: &str) -> AppResult<String> {
        if self
            .redirect_uris
            .iter()
            .any(|allowed| allowed == redirect_uri)
        {
            Ok(redirect_uri.to_owned())
        } else {
            Err(AppError::bad_input(
                "redirectUri",
                "not on the server's SSO redirect allowlist (ORGQL_SSO_REDIRECT_URIS)",
            ))
        }
    }
}

/// Whether this server was built with SAML (the `saml` cargo feature).
pub const SAML_BUILT: bool = cfg!(feature = "saml");

/// What a server built without SAML answers wherever SAML is asked of it:
/// the operator's next step.
pub const SAML_NOT_BUILT: &str = "this server was built without SAML support: \
    build it with `cargo build --release --features saml` (needs libxmlsec1-dev and \
    libclang-dev), or use the release build";

/// BAD_USER_INPUT on `protocol` when this server cannot speak `protocol`:
/// SAML on a server built without it. Called before anything would create,
/// change, activate, start or describe a SAML connection; connections a
/// SAML build made can still be read, deactivated and deleted.
pub fn ensure_built(protocol: SsoProtocol) -> AppResult<()> {
    match protocol {
        SsoProtocol::Saml if !SAML_BUILT => Err(AppError::bad_input("protocol", SAML_NOT_BUILT)),
        _ => Ok(()),
    }
}

/// SSO is an ENTERPRISE feature (DESIGN §6).
pub fn ensure_tier(tier: Tier) -> AppResult<()> {
    crate::domain::tiers::ensure_enterprise(tier, "ssoConnections")
}
