//! Commands on SSO connections (sso:manage, ENTERPRISE tier), OIDC or
//! SAML. See the module header of `domain::sso` for the rules.
//!
//! (Past 400 lines: six commands of one lifecycle, with the sign-in state
//! they share with `sign_in`; split, each half would need the other's
//! private helpers.)

use chrono::{Duration, Utc};
use entity::values::{Role, SsoProtocol, SsoStatus};
use entity::{organization, sso_connection, sso_login_state};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use sha2::Digest as _;

use super::oidc::{self, OidcClientSettings};
use super::saml;
use super::{STATE_TTL_MINUTES, SsoSettings, ensure_built, ensure_tier};
use crate::auth::Sealer;
use crate::auth::secrets;
use crate::domain::audit::AuditAction;
use crate::domain::audit::Entry;
use crate::domain::authz::matrix::{Via, role_for_new_member};
use crate::domain::authz::{Actor, Permission, Policy};
use crate::domain::ids::{OrganizationId, SsoConnectionId, new_id};
use crate::domain::values;
use crate::domain::write::{OrgWrite, Write};
use crate::error::{AppError, AppResult, Constraint, ResultExt};

/// The most connections one organization may keep.
pub const MAX_CONNECTIONS: u64 = 10;

/// One ACTIVE connection per organization.
const ACTIVE_UNIQUE: Constraint = Constraint {
    name: "uq_sso_connections_active",
    sqlite: "sso_connections.organization_id",
};

/// A new connection: its protocol, the IdP fields it was given (which
/// belong depends on the protocol) and the shared settings.
pub struct NewConnection {
    pub protocol: SsoProtocol,
    pub idp: IdpFields,
    pub jit_provisioning: bool,
    pub default_role: Role,
}

/// The IdP fields as the client gave them. OIDC: issuer URL, client id,
/// client secret. SAML: IdP entity id, SSO URL, signing certificate.
#[derive(Default)]
pub struct IdpFields {
    pub issuer_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub idp_entity_id: Option<String>,
    pub idp_sso_url: Option<String>,
    pub idp_certificate: Option<String>,
}

/// A partial change; `None` leaves a field as it is.
#[derive(Default)]
pub struct ConnectionPatch {
    pub idp: IdpFields,
    pub jit_provisioning: Option<bool>,
    pub default_role: Option<Role>,
}

/// The IdP fields, validated for the connection's protocol; `None` where
/// none was given.
#[derive(Default)]
struct ValidIdp {
    issuer_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    idp_entity_id: Option<String>,
    idp_sso_url: Option<String>,
    idp_certificate: Option<String>,
}

impl IdpFields {
    /// Validates the fields given for `protocol`; a field of the other
    /// protocol is BAD_USER_INPUT naming it.
    fn validate(&self, settings: &SsoSettings, protocol: SsoProtocol) -> AppResult<ValidIdp> {
        let (foreign, label): (&[(&'static str, bool)], &str) = match protocol {
            SsoProtocol::Oidc => (
                &[
                    ("idpEntityId", self.idp_entity_id.is_some()),
                    ("idpSsoUrl", self.idp_sso_url.is_some()),
                    ("idpCertificate", self.idp_certificate.is_some()),
                ],
                "an OIDC",
            ),
            SsoProtocol::Saml => (
                &[
                    ("issuerUrl", self.issuer_url.is_some()),
                    ("clientId", self.client_id.is_some()),
                    ("clientSecret", self.client_secret.is_some()),
                ],
                "a SAML",
            ),
        };
        if let Some((field, _)) = foreign.iter().find(|(_, given)| *given) {
            return Err(AppError::bad_input(
                *field,
                format!("not a setting of {label} connection"),
            ));
        }
        Ok(ValidIdp {
            issuer_url: self
                .issuer_url
                .as_deref()
                .map(|v| issuer_url(settings, v))
                .transpose()?,
            client_id: self.client_id.as_deref().map(client_id).transpose()?,
            client_secret: self
                .client_secret
                .as_deref()
                .map(client_secret)
                .transpose()?
                .map(str::to_owned),
            idp_entity_id: self
                .idp_entity_id
                .as_deref()
                .map(|v| values::text("idpEntityId", v, 1024))
                .transpose()?,
            idp_sso_url: self
                .idp_sso_url
                .as_deref()
                .map(|v| idp_url(settings, "idpSsoUrl", v))
                .transpose()?,
            idp_certificate: self
                .idp_certificate
                .as_deref()
                .map(certificate)
                .transpose()?,
        })
    }
}

fn required<T>(value: Option<T>, field: &'static str) -> AppResult<T> {
    value.ok_or_else(|| AppError::bad_input(field, "required for this protocol"))
}

/// An IdP URL (OIDC issuer, SAML SSO URL): https unless the server allows
/// plain http for development.
fn idp_url(settings: &SsoSettings, field: &'static str, value: &str) -> AppResult<String> {
    let url = values::url(field, value)?
        .ok_or_else(|| AppError::bad_input(field, "must not be empty"))?;
    if !url.starts_with("https://") && !settings.allow_http_issuers {
        return Err(AppError::bad_input(field, "must be an https:// URL"));
    }
    // Discovery appends `/.well-known/openid-configuration` to the issuer
    // as given, so it is stored as the IdP spells it (no added slash).
    Ok(value.trim().to_owned())
}

/// An OIDC issuer: an [`idp_url`] the server will fetch from, so not on a
/// private, loopback or link-local address (review L7) unless the server
/// allows development issuers. (A name is checked where it resolves, at
/// every connection: `oidc::IdpHttp`.)
fn issuer_url(settings: &SsoSettings, value: &str) -> AppResult<String> {
    const FIELD: &str = "issuerUrl";
    let issuer = idp_url(settings, FIELD, value)?;
    if !settings.allow_http_issuers
        && !url::Url::parse(&issuer)
            .is_ok_and(|parsed| crate::domain::outbound::public_host(&parsed))
    {
        return Err(AppError::bad_input(
            FIELD,
            "must name a public host, not a private, loopback or link-local address",
        ));
    }
    Ok(issuer)
}

/// A PEM X.509 certificate, stored in the canonical PEM form.
fn certificate(value: &str) -> AppResult<String> {
    const FIELD: &str = "idpCertificate";
    if value.len() > 16 * 1024 {
        return Err(AppError::bad_input(FIELD, "at most 16 KiB"));
    }
    saml::canonical_certificate(value)
        .map_err(|_| AppError::bad_input(FIELD, "not a PEM X.509 certificate"))
}

/// The SHA-256 fingerprint of a stored certificate (for the audit log).
fn fingerprint(pem: Option<&str>) -> Option<String> {
    saml::certificate_der(pem?)
        .ok()
        .map(|der| hex::encode(sha2::Sha256::digest(der)))
}

fn client_id(value: &str) -> AppResult<String> {
    values::text("clientId", value, 512)
}

fn client_secret(value: &str) -> AppResult<&str> {
    if value.is_empty() || value.len() > 1024 {
        return Err(AppError::bad_input("clientSecret", "1 to 1,024 characters"));
    }
    Ok(value)
}

/// The kernel's rule for a role given by default.
fn default_role(role: Role) -> AppResult<Role> {
    role_for_new_member(Via::DefaultRole, Some(role), false, "defaultRole")
}

/// What an audit entry may say about a connection (never its secret; the
/// certificate by its fingerprint).
fn described(connection: &sso_connection::Model) -> serde_json::Value {
    match connection.protocol {
        SsoProtocol::Oidc => json!({
            "protocol": connection.protocol,
            "status": connection.status,
            "issuerUrl": connection.issuer_url,
            "clientId": connection.client_id,
            "jitProvisioning": connection.jit_provisioning,
            "defaultRole": connection.default_role,
        }),
        SsoProtocol::Saml => json!({
            "protocol": connection.protocol,
            "status": connection.status,
            "idpEntityId": connection.idp_entity_id,
            "idpSsoUrl": connection.idp_sso_url,
            "idpCertificateSha256": fingerprint(connection.idp_certificate.as_deref()),
            "jitProvisioning": connection.jit_provisioning,
            "defaultRole": connection.default_role,
        }),
    }
}

/// Creates a DRAFT connection (sso:manage, ENTERPRISE); SAML only on a
/// server built with it (`super::ensure_built`).
#[tracing::instrument(skip_all, fields(%organization_id))]
pub async fn create(
    db: &DatabaseConnection,
    sealer: &Sealer,
    settings: &SsoSettings,
    actor: &Actor,
    organization_id: OrganizationId,
    new: NewConnection,
) -> AppResult<sso_connection::Model> {
    ensure_built(new.protocol)?;
    let idp = new.idp.validate(settings, new.protocol)?;
    let (issuer_url, client_id, secret) = match new.protocol {
        SsoProtocol::Oidc => (
            required(idp.issuer_url, "issuerUrl")?,
            required(idp.client_id, "clientId")?,
            Some(required(idp.client_secret, "clientSecret")?),
        ),
        SsoProtocol::Saml => (String::new(), String::new(), None),
    };
    let (idp_entity_id, idp_sso_url, idp_certificate) = match new.protocol {
        SsoProtocol::Oidc => (None, None, None),
        SsoProtocol::Saml => (
            Some(required(idp.idp_entity_id, "idpEntityId")?),
            Some(required(idp.idp_sso_url, "idpSsoUrl")?),
            Some(required(idp.idp_certificate, "idpCertificate")?),
        ),
    };
    let role = default_role(new.default_role)?;
    let organization_id = Uuid::from(organization_id);
    let write = OrgWrite::begin(db, actor, organization_id, Permission::SsoManage).await?;
    ensure_tier(write.organization().tier)?;
    let existing = sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(organization_id))
        .count(write.txn())
        .await?;
    if existing >= MAX_CONNECTIONS {
        return Err(AppError::bad_input(
            "organizationId",
            format!("at most {MAX_CONNECTIONS} SSO connections per organization"),
        ));
    }
    let id = new_id();
    let now = Utc::now();
    let connection = sso_connection::ActiveModel {
        id: Set(id),
        organization_id: Set(organization_id),
        protocol: Set(new.protocol),
        status: Set(SsoStatus::Draft),
        issuer_url: Set(issuer_url),
        client_id: Set(client_id),
        client_secret_sealed: Set(match secret {
            Some(secret) => sealer.seal(secret.as_bytes(), id.as_bytes())?,
            None => String::new(),
        }),
        idp_entity_id: Set(idp_entity_id),
        idp_sso_url: Set(idp_sso_url),
        idp_certificate: Set(idp_certificate),
        jit_provisioning: Set(new.jit_provisioning),
        default_role: Set(role),
        tested_at: Set(None),
        created_by_user_id: Set(actor.user_id()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(write.txn())
    .await?;
    write
        .commit(Entry::new(
            AuditAction::SsoConnectionCreated,
            connection.id,
            described(&connection),
        ))
        .await?;
    Ok(connection)
}

/// Opens a write on the connection's organization (sso:manage,
/// ENTERPRISE): a connection in another organization is NOT_FOUND.
async fn begin<'a>(
    db: &DatabaseConnection,
    actor: &'a Actor,
    connection_id: SsoConnectionId,
) -> AppResult<(OrgWrite<'a>, sso_connection::Model)> {
    let (write, connection) = begin_any_tier(db, actor, connection_id).await?;
    ensure_tier(write.organization().tier)?;
    Ok((write, connection))
}

/// Changes a connection (sso:manage, ENTERPRISE). Another IdP (OIDC:
/// issuer or client id; SAML: entity id, SSO URL or signing certificate)
/// needs a new test sign-in before activation, and is refused on the
/// ACTIVE connection (deactivate it first): a new certificate is a new
/// key that may sign anyone in, so it is proven the same way. An OIDC
/// client secret may be rotated at any time (it is orgql's credential, not
/// the IdP's identity). Changes are audited (the certificate by
/// fingerprint). The protocol does not change.
#[tracing::instrument(skip_all, fields(%connection_id))]
pub async fn update(
    db: &DatabaseConnection,
    sealer: &Sealer,
    settings: &SsoSettings,
    actor: &Actor,
    connection_id: SsoConnectionId,
    patch: ConnectionPatch,
) -> AppResult<sso_connection::Model> {
    let role = patch.default_role.map(default_role).transpose()?;
    let (write, before) = begin(db, actor, connection_id).await?;
    ensure_built(before.protocol)?;
    let idp = patch.idp.validate(settings, before.protocol)?;
    let identity_changed = idp
        .issuer_url
        .as_ref()
        .is_some_and(|v| *v != before.issuer_url)
        || idp
            .client_id
            .as_ref()
            .is_some_and(|v| *v != before.client_id)
        || idp
            .idp_entity_id
            .as_ref()
            .is_some_and(|v| Some(v) != before.idp_entity_id.as_ref())
        || idp
            .idp_sso_url
            .as_ref()
            .is_some_and(|v| Some(v) != before.idp_sso_url.as_ref())
        // Whoever holds the key signs people in: another certificate is
        // another IdP as far as orgql can tell.
        || idp
            .idp_certificate
            .as_ref()
            .is_some_and(|v| Some(v) != before.idp_certificate.as_ref());
    if identity_changed && before.status == SsoStatus::Active {
        return Err(AppError::conflict(
            "deactivate the connection before pointing it at another IdP, client or signing certificate",
        ));
    }
    let mut row = before.clone().into_active_model();
    if let Some(v) = idp.issuer_url {
        row.issuer_url = Set(v);
    }
    if let Some(v) = idp.client_id {
        row.client_id = Set(v);
    }
    if let Some(secret) = idp.client_secret {
        row.client_secret_sealed = Set(sealer.seal(secret.as_bytes(), before.id.as_bytes())?);
    }
    if let Some(v) = idp.idp_entity_id {
        row.idp_entity_id = Set(Some(v));
    }
    if let Some(v) = idp.idp_sso_url {
        row.idp_sso_url = Set(Some(v));
    }
    if let Some(v) = idp.idp_certificate {
        row.idp_certificate = Set(Some(v));
    }
    if let Some(v) = patch.jit_provisioning {
        row.jit_provisioning = Set(v);
    }
    if let Some(v) = role {
        row.default_role = Set(v);
    }
    if identity_changed {
        row.tested_at = Set(None);
    }
    row.updated_at = Set(Utc::now());
    let after = row.update(write.txn()).await?;
    write
        .commit(Entry::new(
            AuditAction::SsoConnectionUpdated,
            after.id,
            json!({
                "before": described(&before),
                "after": described(&after),
                "clientSecretChanged": patch.idp.client_secret.is_some(),
            }),
        ))
        .await?;
    Ok(after)
}

/// Starts a test sign-in through a connection in any status
/// (sso:manage, ENTERPRISE): answers a one-time link to open in the
/// browser (`/sso/test?ticket=…`), which binds the sign-in to that
/// browser and sends it on to the IdP (review L6). When the IdP's answer
/// comes back through that browser and is accepted, the connection is
/// marked tested (it signs nobody in) and the browser returns to
/// `redirect_uri?sso_test=passed`.
#[tracing::instrument(skip_all, fields(%connection_id))]
pub async fn start_test(
    db: &DatabaseConnection,
    sealer: &Sealer,
    settings: &SsoSettings,
    actor: &Actor,
    connection_id: SsoConnectionId,
    redirect_uri: &str,
) -> AppResult<String> {
    let redirect_uri = settings.allowed_redirect(redirect_uri)?;
    // Decide before talking to the IdP, then write after (no lock is held
    // while the IdP answers).
    let connection = {
        let (_write, connection) = begin(db, actor, connection_id).await?;
        connection
    };
    let departure = depart(sealer, settings, &connection).await?;
    let (write, connection) = begin(db, actor, connection_id).await?;
    let ticket = secrets::generate();
    let binding = FlightBinding::TestLink {
        ticket_hash: secrets::digest(&ticket),
        idp_url: departure.url.clone(),
    };
    store_flight(write.txn(), &connection, &departure, &redirect_uri, binding).await?;
    write
        .commit(Entry::new(
            AuditAction::SsoConnectionTestStarted,
            connection.id,
            json!({ "redirectUri": redirect_uri }),
        ))
        .await?;
    Ok(settings.test_link_url(&ticket))
}

/// A sign-in leaving for the IdP: where the browser goes, and what the
/// answer will be checked against.
pub(super) struct Departure {
    pub url: String,
    /// OIDC `state`, SAML `RelayState`: names the sign-in in flight.
    pub state: String,
    /// OIDC only (empty for SAML).
    pub nonce: String,
    /// OIDC only (empty for SAML).
    pub pkce_verifier: String,
    /// SAML only: the AuthnRequest's id.
    pub saml_request_id: Option<String>,
}

/// The IdP URL for a new sign-in through `connection`, by its protocol.
pub(super) async fn depart(
    sealer: &Sealer,
    settings: &SsoSettings,
    connection: &sso_connection::Model,
) -> AppResult<Departure> {
    ensure_built(connection.protocol)?;
    match connection.protocol {
        SsoProtocol::Oidc => {
            let authorization = authorize_at_idp(sealer, settings, connection).await?;
            Ok(Departure {
                url: authorization.url,
                state: authorization.state,
                nonce: authorization.nonce,
                pkce_verifier: authorization.pkce_verifier,
                saml_request_id: None,
            })
        }
        SsoProtocol::Saml => {
            let idp = saml_idp(connection)?;
            // RelayState: at most 80 bytes (SAML Bindings §3.4.3); 43 here.
            let state = secrets::generate();
            let request =
                saml::authn_request(&settings.saml_sp(connection.id), idp.sso_url, &state)
                    .map_err(|e| {
                        tracing::warn!(target: "orgql::sso", connection_id = %connection.id, "{e}");
                        AppError::bad_input("idpSsoUrl", "no AuthnRequest can be sent to this URL")
                    })?;
            Ok(Departure {
                url: request.url,
                state,
                nonce: String::new(),
                pkce_verifier: String::new(),
                saml_request_id: Some(request.request_id),
            })
        }
    }
}

/// A SAML connection's IdP settings.
pub(super) fn saml_idp(connection: &sso_connection::Model) -> AppResult<saml::IdpSettings<'_>> {
    match (
        connection.idp_entity_id.as_deref(),
        connection.idp_sso_url.as_deref(),
        connection.idp_certificate.as_deref(),
    ) {
        (Some(entity_id), Some(sso_url), Some(certificate)) => Ok(saml::IdpSettings {
            entity_id,
            sso_url,
            certificate,
        }),
        _ => Err(AppError::internal(
            "a SAML connection lacks its IdP settings",
        )),
    }
}

/// The OIDC IdP's authorization URL for a new sign-in through `connection`.
async fn authorize_at_idp(
    sealer: &Sealer,
    settings: &SsoSettings,
    connection: &sso_connection::Model,
) -> AppResult<oidc::Authorization> {
    let client_secret = open_secret(sealer, connection)?;
    oidc::authorization(
        &settings.providers,
        &settings.http,
        &OidcClientSettings {
            issuer_url: &connection.issuer_url,
            client_id: &connection.client_id,
            client_secret,
            redirect_uri: settings.oidc_callback_url(),
        },
    )
    .await
    .map_err(|e| {
        tracing::info!(target: "orgql::sso", connection_id = %connection.id, "{e}");
        AppError::bad_input(
            "issuerUrl",
            "the identity provider could not be reached or its discovery document is not valid",
        )
    })
}

pub(super) fn open_secret(
    sealer: &Sealer,
    connection: &sso_connection::Model,
) -> AppResult<String> {
    let bytes = sealer.open(&connection.client_secret_sealed, connection.id.as_bytes())?;
    String::from_utf8(bytes).map_err(|_| AppError::internal("a sealed client secret is not UTF-8"))
}

/// What a sign-in in flight counts for (review L6, login CSRF).
pub(super) enum FlightBinding {
    /// The browser whose `__Host-orgql_sso` cookie has this SHA-256 (a
    /// sign-in started at `/sso/{slug}/start`).
    Browser(String),
    /// A test sign-in, whose link went over GraphQL to an administrator:
    /// the first browser to open it (`/sso/test?ticket=…`, the ticket's
    /// SHA-256 here) is bound to it and sent on to `idp_url`.
    TestLink {
        ticket_hash: String,
        idp_url: String,
    },
}

/// Remembers a sign-in in flight: only the state's hash is kept, with
/// what binds it to a browser.
pub(super) async fn store_flight<C: ConnectionTrait>(
    db: &C,
    connection: &sso_connection::Model,
    departure: &Departure,
    redirect_uri: &str,
    binding: FlightBinding,
) -> AppResult<()> {
    let now = Utc::now();
    let (test, browser_binding_hash, test_ticket_hash, idp_url) = match binding {
        FlightBinding::Browser(hash) => (false, Some(hash), None, None),
        FlightBinding::TestLink {
            ticket_hash,
            idp_url,
        } => (true, None, Some(ticket_hash), Some(idp_url)),
    };
    sso_login_state::ActiveModel {
        id: Set(new_id()),
        state_hash: Set(secrets::digest(&departure.state)),
        connection_id: Set(connection.id),
        nonce: Set(departure.nonce.clone()),
        pkce_verifier: Set(departure.pkce_verifier.clone()),
        saml_request_id: Set(departure.saml_request_id.clone()),
        redirect_uri: Set(redirect_uri.to_owned()),
        test: Set(test),
        browser_binding_hash: Set(browser_binding_hash),
        test_ticket_hash: Set(test_ticket_hash),
        idp_url: Set(idp_url),
        created_at: Set(now),
        expires_at: Set(now + Duration::minutes(STATE_TTL_MINUTES)),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Makes a tested connection the organization's ACTIVE one
/// (sso:manage, ENTERPRISE).
#[tracing::instrument(skip_all, fields(%connection_id))]
pub async fn activate(
    db: &DatabaseConnection,
    actor: &Actor,
    connection_id: SsoConnectionId,
) -> AppResult<sso_connection::Model> {
    let (write, connection) = begin(db, actor, connection_id).await?;
    // It would become the way in, and nobody could sign in through it.
    ensure_built(connection.protocol)?;
    if connection.status == SsoStatus::Active {
        return Ok(connection);
    }
    if connection.tested_at.is_none() {
        return Err(AppError::conflict(
            "sign in through the connection once with testSsoConnection before activating it",
        ));
    }
    let mut row = connection.into_active_model();
    row.status = Set(SsoStatus::Active);
    row.updated_at = Set(Utc::now());
    let connection = row.update(write.txn()).await.on_unique(ACTIVE_UNIQUE, || {
        AppError::conflict("another SSO connection is active: deactivate it first")
    })?;
    write
        .commit(Entry::new(
            AuditAction::SsoConnectionActivated,
            connection.id,
            described(&connection),
        ))
        .await?;
    Ok(connection)
}

/// Turns `ssoRequired` off when the active connection goes; answers
/// whether it was on.
async fn release_enforcement<C: ConnectionTrait>(
    txn: &C,
    organization: &organization::Model,
    actor: &Actor,
) -> AppResult<bool> {
    let mut policy = Policy::of(organization)?;
    if !policy.sso_required {
        return Ok(false);
    }
    policy.sso_required = false;
    policy.updated_at = Some(Utc::now());
    policy.updated_by = actor.user_id();
    organization::Entity::update_many()
        .col_expr(organization::Column::Policy, Expr::value(json!(policy)))
        .filter(organization::Column::Id.eq(organization.id))
        .exec(txn)
        .await?;
    Ok(true)
}

/// Takes a connection out of use (sso:manage). Deactivating the
/// ACTIVE connection turns `ssoRequired` off, in the same audited change.
/// Allowed on any tier, so a downgraded organization can still clean up.
#[tracing::instrument(skip_all, fields(%connection_id))]
pub async fn deactivate(
    db: &DatabaseConnection,
    actor: &Actor,
    connection_id: SsoConnectionId,
) -> AppResult<sso_connection::Model> {
    let (write, connection) = begin_any_tier(db, actor, connection_id).await?;
    let was_active = connection.status == SsoStatus::Active;
    let mut row = connection.into_active_model();
    row.status = Set(SsoStatus::Inactive);
    row.updated_at = Set(Utc::now());
    let connection = row.update(write.txn()).await?;
    let released =
        was_active && release_enforcement(write.txn(), write.organization(), actor).await?;
    write
        .commit(Entry::new(
            AuditAction::SsoConnectionDeactivated,
            connection.id,
            json!({ "ssoRequiredTurnedOff": released }),
        ))
        .await?;
    Ok(connection)
}

/// Deletes a connection (sso:manage), with its linked identities;
/// deleting the ACTIVE one turns `ssoRequired` off. Any tier.
#[tracing::instrument(skip_all, fields(%connection_id))]
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    connection_id: SsoConnectionId,
) -> AppResult<sso_connection::Model> {
    let (write, connection) = begin_any_tier(db, actor, connection_id).await?;
    sso_connection::Entity::delete_by_id(connection.id)
        .exec(write.txn())
        .await?;
    let released = connection.status == SsoStatus::Active
        && release_enforcement(write.txn(), write.organization(), actor).await?;
    let mut metadata = described(&connection);
    metadata["ssoRequiredTurnedOff"] = json!(released);
    write
        .commit(Entry::new(
            AuditAction::SsoConnectionDeleted,
            connection.id,
            metadata,
        ))
        .await?;
    Ok(connection)
}

/// Opens a write on the connection's organization (sso:manage) on any
/// tier: deactivating and deleting stay possible after a downgrade.
async fn begin_any_tier<'a>(
    db: &DatabaseConnection,
    actor: &'a Actor,
    connection_id: SsoConnectionId,
) -> AppResult<(OrgWrite<'a>, sso_connection::Model)> {
    let write = Write::begin(db).await?;
    let connection = sso_connection::Entity::find_by_id(Uuid::from(connection_id))
        .one(write.txn())
        .await?
        .ok_or(AppError::NotFound)?;
    let write = write
        .authorize(actor, connection.organization_id, Permission::SsoManage)
        .await?;
    Ok((write, connection))
}

/// orgql's SP metadata for a SAML connection, served publicly at its SP
/// entity id (IdPs fetch it there): NOT_FOUND for no such connection or an
/// OIDC one.
pub async fn sp_metadata(
    db: &DatabaseConnection,
    settings: &SsoSettings,
    connection_id: SsoConnectionId,
) -> AppResult<String> {
    let connection = sso_connection::Entity::find_by_id(Uuid::from(connection_id))
        .one(db)
        .await?
        .filter(|c| c.protocol == SsoProtocol::Saml)
        .ok_or(AppError::NotFound)?;
    ensure_built(connection.protocol)?;
    saml::sp_metadata(&settings.saml_sp(connection.id))
        .map_err(|e| AppError::internal(e.to_string()))
}

/// The organization's ACTIVE connection, if any.
pub async fn active_of<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
) -> AppResult<Option<sso_connection::Model>> {
    Ok(sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(organization_id))
        .filter(sso_connection::Column::Status.eq(SsoStatus::Active))
        .one(db)
        .await?)
}
