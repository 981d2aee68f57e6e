//! The sign-in flow through an organization's ACTIVE connection: start
//! (browser → IdP), the OIDC callback or the SAML ACS (IdP → server → app
//! with a one-time code; both end in one shared [`finish`]),
//! and the exchange of that code for a session (GraphQL). Also the test
//! sign-in an administrator runs before activating a connection, and
//! home-realm discovery by email domain.
//!
//! (Past 400 lines: one flow, read top to bottom in the order a browser
//! goes through it; its refusals are an enum at the top.)

use chrono::{Duration, Utc};
use entity::values::{Role, SsoProtocol, SsoStatus};
use entity::{
    organization, sso_code, sso_connection, sso_identity, sso_login_state, sso_saml_assertion, user,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    SqlErr, sea_query::Expr,
};
use serde_json::json;

use super::connections::{FlightBinding, active_of, depart, open_secret, saml_idp, store_flight};
use super::oidc::{self, OidcClientSettings};
use super::{CODE_TTL_SECONDS, SsoSettings, VerifiedIdentity, ensure_tier, saml};
use crate::auth::{AuthConfig, Sealer, secrets};
use crate::domain::audit::{AuditAction, AuditActor, Entry};
use crate::domain::authz::{Authentication, RequestMeta, access};
use crate::domain::domains;
use crate::domain::ids::new_id;
use crate::domain::members;
use crate::domain::sessions::{self, IssuedTokens, SignInWrite};
use crate::domain::users::{self, Credential, NewUser};
use crate::domain::values::Slug;
use crate::domain::write::Write;
use crate::error::{AppError, AppResult};

/// Why a sign-in was refused, as the app reads it from its `redirect_uri`
/// (`?error=…`, the variant's name in snake case). The detail is logged,
/// never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Refusal {
    /// The IdP's answer failed a check (token or SAML response: signature,
    /// issuer, audience, recipient, expiry, nonce or InResponseTo, replay),
    /// came back on the other protocol's endpoint, or the IdP could not be
    /// reached.
    InvalidResponse,
    /// The IdP said the sign-in failed or was cancelled.
    AccessDenied,
    /// The IdP did not assert a verified email address (OIDC), or the
    /// address (or, for a linked identity, the account's own) is outside
    /// the organization's verified domains (both protocols).
    EmailNotVerified,
    /// An account with this email exists, and its domain is not one of the
    /// organization's verified domains: SSO may not take it over.
    AccountNotLinkable,
    /// Not a member, and the connection does not provision people.
    NotProvisioned,
    /// The organization's tier has no room for another member.
    SeatLimit,
    /// The organization's tier has no SSO, or it is suspended, or the
    /// connection is no longer active.
    #[strum(serialize = "sso_unavailable")]
    Unavailable,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Where the callback sends the browser.
#[derive(Debug)]
pub enum Outcome {
    /// Back to the app: with `code`, `sso_test=passed` or `error`. The
    /// sign-in in flight is over: the browser's binding cookie is cleared.
    Redirect(String),
    /// Back to the app with `error=invalid_response`: the answer came
    /// through a browser that did not start the sign-in, whose cookie
    /// (if any) belongs to a sign-in of its own and is kept.
    Unbound(String),
    /// No sign-in in flight matches (unknown, used or expired `state`):
    /// nowhere safe to send the browser.
    UnknownState,
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = match url::Url::parse(base) {
        Ok(url) => url,
        Err(_) => return base.to_owned(),
    };
    url.query_pairs_mut().extend_pairs(pairs);
    url.to_string()
}

/// A sign-in's departure for the browser: the IdP URL to send it to, and
/// the value of the cookie that binds the sign-in to it.
#[derive(Debug)]
pub struct BrowserDeparture {
    pub idp_url: String,
    /// Random; only its SHA-256 is stored. The answer from the IdP counts
    /// only when the browser that brings it carries this value.
    pub browser_binding: String,
}

/// `GET /sso/{slug}/start`: the IdP URL for a sign-in to the organization
/// through its ACTIVE connection (OIDC authorization request or SAML
/// AuthnRequest), and the cookie value that binds it to this browser.
/// NOT_FOUND when it has none (or no such organization);
/// TIER_LIMIT_EXCEEDED off ENTERPRISE.
#[tracing::instrument(skip_all, fields(%slug))]
pub async fn start(
    db: &DatabaseConnection,
    sealer: &Sealer,
    settings: &SsoSettings,
    slug: &str,
    redirect_uri: &str,
) -> AppResult<BrowserDeparture> {
    let redirect_uri = settings.allowed_redirect(redirect_uri)?;
    // Parsed before it reaches a query: a slug is plain ASCII, and text
    // PostgreSQL cannot hold (a NUL) must not become an INTERNAL error.
    let slug = Slug::parse("slug", slug)?;
    let organization = organization::Entity::find()
        .filter(organization::Column::Slug.eq(slug.as_str()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    access::ensure_active(&organization)?;
    let connection = active_of(db, organization.id)
        .await?
        .ok_or(AppError::NotFound)?;
    ensure_tier(organization.tier)?;
    let departure = depart(sealer, settings, &connection).await?;
    let browser_binding = secrets::generate();
    // A sign-in in flight changes nothing yet (one row, in one statement):
    // it is audited when it completes (`sso.signed_in`).
    let binding = FlightBinding::Browser(secrets::digest(&browser_binding));
    store_flight(db, &connection, &departure, &redirect_uri, binding).await?;
    Ok(BrowserDeparture {
        idp_url: departure.url,
        browser_binding,
    })
}

/// `GET /sso/test?ticket=…`: the link `testSsoConnection` answered,
/// opened in a browser. The first browser to open it is bound to the test
/// sign-in (one conditional UPDATE, so two cannot both win) and sent on to
/// the IdP; the link then works no more. BAD_USER_INPUT for a used,
/// expired or unknown link.
#[tracing::instrument(skip_all)]
pub async fn open_test_link(db: &DatabaseConnection, ticket: &str) -> AppResult<BrowserDeparture> {
    let used_up = || {
        AppError::bad_input(
            "ticket",
            "this test sign-in link was used or has expired: start the test again",
        )
    };
    let ticket_hash = secrets::digest(ticket);
    let flight = sso_login_state::Entity::find()
        .filter(sso_login_state::Column::TestTicketHash.eq(ticket_hash.as_str()))
        .filter(sso_login_state::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?
        .ok_or_else(used_up)?;
    let browser_binding = secrets::generate();
    let bound = sso_login_state::Entity::update_many()
        .col_expr(
            sso_login_state::Column::BrowserBindingHash,
            Expr::value(secrets::digest(&browser_binding)),
        )
        .col_expr(
            sso_login_state::Column::TestTicketHash,
            Expr::value(Option::<String>::None),
        )
        .filter(sso_login_state::Column::Id.eq(flight.id))
        .filter(sso_login_state::Column::TestTicketHash.eq(ticket_hash.as_str()))
        .exec(db)
        .await?;
    match (bound.rows_affected, flight.idp_url) {
        (1, Some(idp_url)) => Ok(BrowserDeparture {
            idp_url,
            browser_binding,
        }),
        _ => Err(used_up()),
    }
}

/// Whether the browser that brought the IdP's answer is the one that
/// started the sign-in (review L6, login CSRF: otherwise whoever started
/// it, and signed in at the IdP as themselves, could hand the answer to
/// someone else's browser and sign it in as them). A test sign-in counts
/// from the browser that opened its link ([`open_test_link`]). A sign-in
/// stored unbound (a test link never opened, or a row from before the
/// binding existed) counts from no browser.
fn from_starting_browser(flight: &sso_login_state::Model, browser_binding: Option<&str>) -> bool {
    match (&flight.browser_binding_hash, browser_binding) {
        (Some(expected), Some(binding)) => {
            secrets::constant_time_eq(expected, &secrets::digest(binding))
        }
        _ => false,
    }
}

/// The answer came from another browser: the sign-in in flight is used
/// up all the same (it was the starter's only, and whoever handed the URL
/// on cannot try it again), nothing is issued, and the app hears
/// `invalid_response`. The browser's own cookie (another sign-in of its
/// own in flight) is left alone.
fn from_another_browser(flight: &sso_login_state::Model) -> Outcome {
    tracing::warn!(target: "orgql::sso", connection_id = %flight.connection_id, "an IdP answer came back through a browser that did not start the sign-in");
    Outcome::Unbound(with_query(
        &flight.redirect_uri,
        &[("error", Refusal::InvalidResponse.as_str())],
    ))
}

/// Takes the sign-in in flight named by `state` (OIDC `state`, SAML
/// `RelayState`), once: the row is deleted by whoever gets it first. None
/// when unknown, used or expired.
async fn take_flight(
    db: &DatabaseConnection,
    state: &str,
) -> AppResult<Option<sso_login_state::Model>> {
    let Some(flight) = find_flight(db, state).await? else {
        return Ok(None);
    };
    take(db, flight).await
}

/// The sign-in in flight named by `state`, without taking it.
async fn find_flight(
    db: &DatabaseConnection,
    state: &str,
) -> AppResult<Option<sso_login_state::Model>> {
    Ok(sso_login_state::Entity::find()
        .filter(sso_login_state::Column::StateHash.eq(secrets::digest(state)))
        .one(db)
        .await?)
}

/// Takes a sign-in in flight found by [`find_flight`]; None when another
/// request took it first or it expired.
async fn take(
    db: &DatabaseConnection,
    flight: sso_login_state::Model,
) -> AppResult<Option<sso_login_state::Model>> {
    let taken = sso_login_state::Entity::delete_by_id(flight.id)
        .exec(db)
        .await?
        .rows_affected;
    if taken == 0 || flight.expires_at <= Utc::now() {
        return Ok(None);
    }
    Ok(Some(flight))
}

/// The app's `redirect_uri` with `?error=…`.
fn refused(flight: &sso_login_state::Model, refusal: Refusal) -> Outcome {
    Outcome::Redirect(with_query(
        &flight.redirect_uri,
        &[("error", refusal.as_str())],
    ))
}

/// The connection a sign-in in flight went out through, when it still
/// exists and speaks `protocol`.
async fn connection_of(
    db: &DatabaseConnection,
    flight: &sso_login_state::Model,
    protocol: SsoProtocol,
) -> AppResult<Result<sso_connection::Model, Refusal>> {
    Ok(
        match sso_connection::Entity::find_by_id(flight.connection_id)
            .one(db)
            .await?
        {
            None => Err(Refusal::Unavailable),
            Some(connection) if connection.protocol != protocol => {
                tracing::info!(target: "orgql::sso", connection_id = %connection.id, "an answer came back on the other protocol's endpoint");
                Err(Refusal::InvalidResponse)
            }
            Some(connection) => Ok(connection),
        },
    )
}

/// What the IdP sent back to the OIDC callback through the browser.
#[derive(Debug, Clone, Copy)]
pub struct OidcAnswer<'a> {
    pub state: &'a str,
    pub code: Option<&'a str>,
    /// The IdP's `error`: it refused or the user cancelled.
    pub idp_error: Option<&'a str>,
}

/// `GET /sso/oidc/callback`: takes the sign-in in flight named by `state`
/// (once), checks that `browser_binding` (the browser's cookie) is the
/// one the start set, checks the IdP's answer and sends the browser back
/// to the app.
#[tracing::instrument(skip_all)]
pub async fn callback(
    db: &DatabaseConnection,
    sealer: &Sealer,
    settings: &SsoSettings,
    meta: &RequestMeta,
    browser_binding: Option<&str>,
    answer: OidcAnswer<'_>,
) -> AppResult<Outcome> {
    let OidcAnswer {
        state,
        code,
        idp_error,
    } = answer;
    let Some(flight) = take_flight(db, state).await? else {
        return Ok(Outcome::UnknownState);
    };
    if !from_starting_browser(&flight, browser_binding) {
        return Ok(from_another_browser(&flight));
    }
    let connection = match connection_of(db, &flight, SsoProtocol::Oidc).await? {
        Ok(connection) => connection,
        Err(refusal) => return Ok(refused(&flight, refusal)),
    };
    if let Some(error) = idp_error {
        tracing::info!(target: "orgql::sso", connection_id = %connection.id, error, "the IdP refused the sign-in");
        return Ok(refused(&flight, Refusal::AccessDenied));
    }
    let Some(code) = code else {
        return Ok(refused(&flight, Refusal::InvalidResponse));
    };
    let verified = oidc::verify_callback(
        &settings.providers,
        &settings.http,
        &OidcClientSettings {
            issuer_url: &connection.issuer_url,
            client_id: &connection.client_id,
            client_secret: open_secret(sealer, &connection)?,
            redirect_uri: settings.oidc_callback_url(),
        },
        code,
        &flight.nonce,
        &flight.pkce_verifier,
    )
    .await;
    let identity = match verified {
        Ok(identity) => identity,
        Err(e) => {
            tracing::warn!(target: "orgql::sso", connection_id = %connection.id, "{e}");
            return Ok(refused(&flight, Refusal::InvalidResponse));
        }
    };
    finish(db, meta, &connection, &flight, &identity).await
}

/// `POST /sso/saml/acs`: takes the sign-in in flight named by `RelayState`
/// (once), checks that `browser_binding` is the one the start set,
/// verifies the `SAMLResponse` (see [`saml`]), records its
/// assertion id against replay, and sends the browser back to the app.
#[tracing::instrument(skip_all)]
pub async fn acs(
    db: &DatabaseConnection,
    settings: &SsoSettings,
    meta: &RequestMeta,
    browser_binding: Option<&str>,
    relay_state: &str,
    saml_response: &str,
) -> AppResult<Outcome> {
    let Some(flight) = find_flight(db, relay_state).await? else {
        return Ok(Outcome::UnknownState);
    };
    // Everything the server itself could get wrong is checked before the
    // sign-in in flight is used up, so that it never fails after.
    let checked = match connection_of(db, &flight, SsoProtocol::Saml).await? {
        Ok(connection) if saml_idp(&connection).is_err() => {
            tracing::error!(target: "orgql::sso", connection_id = %connection.id, "a SAML connection lacks its IdP settings");
            Err(Refusal::Unavailable)
        }
        Ok(connection) => match flight.saml_request_id.clone() {
            Some(request_id) => Ok((connection, request_id)),
            None => Err(Refusal::InvalidResponse),
        },
        Err(refusal) => Err(refusal),
    };
    let Some(flight) = take(db, flight).await? else {
        return Ok(Outcome::UnknownState);
    };
    if !from_starting_browser(&flight, browser_binding) {
        return Ok(from_another_browser(&flight));
    }
    let (connection, request_id) = match checked {
        Ok(checked) => checked,
        Err(refusal) => return Ok(refused(&flight, refusal)),
    };
    let idp = saml_idp(&connection)?;
    let verified = saml::verify_response(
        &settings.saml_sp(connection.id),
        &idp,
        saml_response,
        &request_id,
    )
    .await;
    let accepted = match verified {
        Ok(accepted) => accepted,
        Err(saml::SamlFailure::Denied(status)) => {
            tracing::info!(target: "orgql::sso", connection_id = %connection.id, %status, "the IdP refused the sign-in");
            return Ok(refused(&flight, Refusal::AccessDenied));
        }
        Err(e) => {
            tracing::warn!(target: "orgql::sso", connection_id = %connection.id, "{e}");
            return Ok(refused(&flight, Refusal::InvalidResponse));
        }
    };
    if !first_use(db, &connection, &accepted).await? {
        tracing::warn!(target: "orgql::sso", connection_id = %connection.id, assertion_id = %accepted.assertion_id, "SAML assertion replayed");
        return Ok(refused(&flight, Refusal::InvalidResponse));
    }
    finish(db, meta, &connection, &flight, &accepted.identity).await
}

/// Records an accepted assertion's id; false when it was seen before
/// through this connection (a replay). The unique index decides, so two
/// instances racing with the same assertion let one through.
async fn first_use(
    db: &DatabaseConnection,
    connection: &sso_connection::Model,
    accepted: &saml::Accepted,
) -> AppResult<bool> {
    let inserted = sso_saml_assertion::ActiveModel {
        id: Set(new_id()),
        connection_id: Set(connection.id),
        assertion_id: Set(accepted.assertion_id.clone()),
        created_at: Set(Utc::now()),
        expires_at: Set(accepted.usable_until),
    }
    .insert(db)
    .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The shared end of both protocols, once the IdP's answer is accepted: a
/// test sign-in marks the connection tested; a sign-in provisions and
/// issues the one-time code, or says why not.
async fn finish(
    db: &DatabaseConnection,
    meta: &RequestMeta,
    connection: &sso_connection::Model,
    flight: &sso_login_state::Model,
    identity: &VerifiedIdentity,
) -> AppResult<Outcome> {
    if flight.test {
        return finish_test(db, meta, connection, flight, identity).await;
    }
    match provision(db, meta, connection, identity).await? {
        Ok(code) => Ok(Outcome::Redirect(with_query(
            &flight.redirect_uri,
            &[("code", code.as_str())],
        ))),
        Err(refusal) => {
            tracing::info!(target: "orgql::sso", connection_id = %connection.id, subject = %identity.subject, refusal = refusal.as_str(), "SSO sign-in refused");
            Ok(refused(flight, refusal))
        }
    }
}

/// A test sign-in succeeded: the connection may now be activated.
async fn finish_test(
    db: &DatabaseConnection,
    meta: &RequestMeta,
    connection: &sso_connection::Model,
    flight: &sso_login_state::Model,
    identity: &VerifiedIdentity,
) -> AppResult<Outcome> {
    let write = Write::begin(db).await?;
    let unchanged = sso_connection::Entity::update_many()
        .col_expr(sso_connection::Column::TestedAt, Expr::value(Utc::now()))
        .filter(sso_connection::Column::Id.eq(connection.id));
    // Not if its IdP settings changed since the test began.
    let unchanged = match connection.protocol {
        SsoProtocol::Oidc => unchanged
            .filter(sso_connection::Column::IssuerUrl.eq(connection.issuer_url.as_str()))
            .filter(sso_connection::Column::ClientId.eq(connection.client_id.as_str())),
        SsoProtocol::Saml => unchanged
            .filter(sso_connection::Column::IdpEntityId.eq(connection.idp_entity_id.clone()))
            .filter(sso_connection::Column::IdpSsoUrl.eq(connection.idp_sso_url.clone()))
            .filter(sso_connection::Column::IdpCertificate.eq(connection.idp_certificate.clone())),
    };
    let marked = unchanged.exec(write.txn()).await?.rows_affected;
    if marked == 0 {
        return Ok(refused(flight, Refusal::Unavailable));
    }
    write
        .attributed_to(AuditActor::system(), meta)
        .commit(
            Entry::new(
                AuditAction::SsoConnectionTested,
                connection.id,
                json!({
                    "protocol": connection.protocol,
                    "subject": identity.subject,
                    "email": identity.email,
                    "emailVerified": identity.email_verified,
                }),
            )
            .in_organization(connection.organization_id),
        )
        .await?;
    Ok(Outcome::Redirect(with_query(
        &flight.redirect_uri,
        &[("sso_test", "passed")],
    )))
}

/// Finds, links or creates the account and its membership, and issues the
/// one-time code; or says why not.
async fn provision(
    db: &DatabaseConnection,
    meta: &RequestMeta,
    connection: &sso_connection::Model,
    identity: &VerifiedIdentity,
) -> AppResult<Result<String, Refusal>> {
    let Some(email) = identity
        .email
        .as_deref()
        .filter(|_| identity.email_verified)
    else {
        return Ok(Err(Refusal::EmailNotVerified));
    };
    let Some((_, email_domain)) = email.rsplit_once('@') else {
        return Ok(Err(Refusal::EmailNotVerified));
    };
    let write = Write::begin(db).await?;
    let organization = access::lock_organization(write.txn(), connection.organization_id).await?;
    // DESIGN §3: a tenant's IdP speaks only for the tenant's verified
    // domains. Its word (OIDC `email_verified`, a SAML signature) proves
    // an address only within a domain the organization has shown it
    // controls: for a new account, a link, and an existing link alike.
    let in_verified_domain =
        domains::is_verified_by(write.txn(), organization.id, email_domain).await?;
    // Re-read under the lock: deactivated or downgraded meanwhile?
    let still_active = sso_connection::Entity::find_by_id(connection.id)
        .one(write.txn())
        .await?
        .is_some_and(|c| c.status == SsoStatus::Active);
    if !still_active
        || access::ensure_active(&organization).is_err()
        || ensure_tier(organization.tier).is_err()
    {
        return Ok(Err(Refusal::Unavailable));
    }

    // A subject that names nobody next time (SAML transient NameID) is
    // neither looked up nor stored: the account is found by its address.
    let linked = if identity.linkable {
        sso_identity::Entity::find()
            .filter(sso_identity::Column::ConnectionId.eq(connection.id))
            .filter(sso_identity::Column::Subject.eq(identity.subject.as_str()))
            .one(write.txn())
            .await?
    } else {
        None
    };
    let mut created_user = false;
    let mut linked_account = false;
    let user = match linked {
        Some(link) => {
            let user = user::Entity::find_by_id(link.user_id)
                .one(write.txn())
                .await?
                .ok_or_else(|| AppError::internal("a linked SSO identity lost its user"))?;
            // A link is checked again at every sign-in: it counts while
            // both the asserted address and the account's own are in a
            // domain the organization still controls (`removeDomain`
            // ends it; so does an account that moved to another domain).
            let account_domain = user.email.rsplit_once('@').map_or("", |(_, d)| d);
            if !in_verified_domain
                || !domains::is_verified_by(write.txn(), organization.id, account_domain).await?
            {
                return Ok(Err(Refusal::EmailNotVerified));
            }
            user
        }
        None => {
            let existing = user::Entity::find()
                .filter(user::Column::Email.eq(email))
                .one(write.txn())
                .await?;
            let user = match existing {
                Some(user) => {
                    // DESIGN §3: SSO may take over an existing account only
                    // for a domain the organization has proven it controls.
                    // (SAML has no `email_verified`: outside, its address
                    // is not proven at all.)
                    if !in_verified_domain {
                        return Ok(Err(if identity.needs_verified_domain {
                            Refusal::EmailNotVerified
                        } else {
                            Refusal::AccountNotLinkable
                        }));
                    }
                    linked_account = true;
                    user
                }
                None => {
                    // An IdP mints no account for an address its
                    // organization does not control (review H2).
                    if !in_verified_domain {
                        return Ok(Err(Refusal::EmailNotVerified));
                    }
                    if !connection.jit_provisioning {
                        return Ok(Err(Refusal::NotProvisioned));
                    }
                    created_user = true;
                    create_user(write.txn(), email, identity).await?
                }
            };
            if identity.linkable {
                sso_identity::ActiveModel {
                    id: Set(new_id()),
                    connection_id: Set(connection.id),
                    subject: Set(identity.subject.clone()),
                    user_id: Set(user.id),
                    created_at: Set(Utc::now()),
                }
                .insert(write.txn())
                .await?;
            }
            user
        }
    };

    let mut joined_as: Option<Role> = None;
    let mut joined_member = None;
    if access::membership(write.txn(), user.id, organization.id)
        .await?
        .is_none()
    {
        if !connection.jit_provisioning {
            return Ok(Err(Refusal::NotProvisioned));
        }
        match members::admit(
            write.txn(),
            &organization,
            user.id,
            connection.default_role,
            false,
        )
        .await
        {
            Ok(member) => {
                joined_as = Some(connection.default_role);
                joined_member = Some(member.id);
            }
            Err(AppError::TierLimitExceeded { .. }) => return Ok(Err(Refusal::SeatLimit)),
            Err(e) => return Err(e),
        }
    }

    let code = secrets::generate();
    let now = Utc::now();
    sso_code::ActiveModel {
        id: Set(new_id()),
        code_hash: Set(secrets::digest(&code)),
        user_id: Set(user.id),
        connection_id: Set(connection.id),
        organization_id: Set(organization.id),
        created_at: Set(now),
        expires_at: Set(now + Duration::seconds(CODE_TTL_SECONDS)),
    }
    .insert(write.txn())
    .await?;
    write
        .attributed_to(AuditActor::account(&user), meta)
        .commit(
            Entry::new(
                AuditAction::UserSsoSignedIn,
                user.id,
                json!({
                    "connectionId": connection.id,
                    "subject": identity.subject,
                    "createdAccount": created_user,
                    "linkedAccount": linked_account,
                    "joinedAs": joined_as,
                    "memberId": joined_member,
                }),
            )
            .in_organization(organization.id),
        )
        .await?;
    Ok(Ok(code))
}

/// A JIT account: its address proven by the IdP within one of its
/// organization's verified domains, no password (it can set
/// one with a reset link).
async fn create_user<C: sea_orm::ConnectionTrait>(
    txn: &C,
    email: &str,
    identity: &VerifiedIdentity,
) -> AppResult<user::Model> {
    let name = identity
        .name
        .as_deref()
        .and_then(|n| crate::domain::values::text("name", n, 200).ok())
        .unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_owned());
    let account = NewUser {
        email,
        name,
        credential: Credential::IdentityProvider,
        verified: true,
    };
    users::create(txn, account).await
}

/// `exchangeSsoCode`: trades a one-time code for a session whose `amr` is
/// `sso`, bound to the connection, with the organization active. The code
/// works once, for 60 seconds.
#[tracing::instrument(skip_all)]
pub async fn exchange(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    meta: &RequestMeta,
    code: &str,
) -> AppResult<IssuedTokens> {
    let invalid = || AppError::bad_input("code", "unknown, used or expired SSO code");
    let write = Write::begin(db).await?;
    let found = sso_code::Entity::find()
        .filter(sso_code::Column::CodeHash.eq(secrets::digest(code)))
        .one(write.txn())
        .await?
        .ok_or_else(invalid)?;
    let taken = sso_code::Entity::delete_by_id(found.id)
        .exec(write.txn())
        .await?
        .rows_affected;
    if taken == 0 || found.expires_at <= Utc::now() {
        return Err(invalid());
    }
    let user = user::Entity::find_by_id(found.user_id)
        .one(write.txn())
        .await?
        .ok_or_else(invalid)?;
    let organization = organization::Entity::find_by_id(found.organization_id)
        .one(write.txn())
        .await?
        .ok_or_else(invalid)?;
    let authentication = Authentication::Sso {
        organization_id: organization.id,
        connection_id: found.connection_id,
    };
    sessions::sign_in(
        SignInWrite::ForOrganization(write, organization),
        auth,
        meta,
        user,
        authentication,
        |issued| {
            Entry::new(
                AuditAction::SsoCodeExchanged,
                issued.session_id,
                json!({ "connectionId": found.connection_id }),
            )
        },
    )
    .await
}

/// Deletes sign-ins in flight and one-time codes past their lifetime
/// (abandoned at the IdP, or never traded), and the replay cache's
/// assertion ids past theirs.
pub async fn purge_expired(db: &DatabaseConnection) -> AppResult<u64> {
    let now = Utc::now();
    let states = sso_login_state::Entity::delete_many()
        .filter(sso_login_state::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected;
    let codes = sso_code::Entity::delete_many()
        .filter(sso_code::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected;
    // Past its time an assertion is refused as expired: its id need not
    // be remembered any more.
    let assertions = sso_saml_assertion::Entity::delete_many()
        .filter(sso_saml_assertion::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected;
    Ok(states + codes + assertions)
}

/// Home-realm discovery: the start URL of the organization that verified
/// the email's domain, when it has an ACTIVE connection on ENTERPRISE.
pub async fn login_url(
    db: &DatabaseConnection,
    settings: &SsoSettings,
    email: &str,
    redirect_uri: &str,
) -> AppResult<Option<String>> {
    let redirect_uri = settings.allowed_redirect(redirect_uri)?;
    let Some((_, domain)) = email.trim().rsplit_once('@') else {
        return Err(AppError::bad_input("email", "not an email address"));
    };
    let Some(organization_id) = domains::verified_organization_for(db, domain).await? else {
        return Ok(None);
    };
    let Some(organization) = organization::Entity::find_by_id(organization_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if ensure_tier(organization.tier).is_err() || active_of(db, organization_id).await?.is_none() {
        return Ok(None);
    }
    Ok(Some(with_query(
        &settings.start_url(&organization.slug),
        &[("redirect_uri", redirect_uri.as_str())],
    )))
}

#[cfg(test)]
mod tests {
    use super::Refusal;

    /// Apps match on these in `?error=…`: they are a public contract.
    #[test]
    fn refusals_keep_their_public_names() {
        let names = [
            Refusal::InvalidResponse,
            Refusal::AccessDenied,
            Refusal::EmailNotVerified,
            Refusal::AccountNotLinkable,
            Refusal::NotProvisioned,
            Refusal::SeatLimit,
            Refusal::Unavailable,
        ]
        .map(Refusal::as_str);
        assert_eq!(
            names,
            [
                "invalid_response",
                "access_denied",
                "email_not_verified",
                "account_not_linkable",
                "not_provisioned",
                "seat_limit",
                "sso_unavailable",
            ]
        );
    }
}
