//! Starting a session and keeping it going: a new session with its first
//! tokens (a log-in of any kind), rotating refresh tokens (with reuse
//! detection) and switching the active organization.
//!
//! Security rules enforced here: a refresh token is shown once and kept as
//! its SHA-256; it works once, and presenting a used one revokes its whole
//! session (RFC 9700 §4.14.2, refresh token rotation); no token of a
//! session works past its absolute lifetime; an organization becomes
//! active only for one of its members.

use chrono::{DateTime, Utc};
use entity::{organization, refresh_token, session, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::authenticate::within_max_age;
use super::revoke::revoke_sessions;
use crate::auth::{AuthConfig, secrets};
use crate::domain::audit::{AuditAction, AuditActor, Entry};
use crate::domain::authz::{Actor, Authentication, RequestMeta, access};
use crate::domain::ids::{OrganizationId, new_id};
use crate::domain::write::{OrgWrite, Write};
use crate::error::{AppError, AppResult};

/// What a successful log-in or refresh hands the client.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub user: user::Model,
    pub session_id: Uuid,
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    /// Shown once; only its hash is kept.
    pub refresh_token: String,
    pub active_organization: Option<organization::Model>,
    /// How the session was authenticated.
    pub authentication: Authentication,
}

/// The write a sign-in ends: it says which organization the new session
/// starts in, and whose trail its entry goes to.
#[expect(
    clippy::large_enum_variant,
    reason = "made once per sign-in and moved straight into `sign_in`; boxing would only add an allocation"
)]
pub enum SignInWrite<'a> {
    /// An account-level write (a password, its second factor, a returning
    /// guest's link): the session starts in the organization the person
    /// last switched to, while they are still a member of it; the entry is
    /// the account's.
    Account(Write),
    /// An account-level write for one organization (an SSO code): the
    /// session starts in it, and the entry goes to its trail.
    ForOrganization(Write, organization::Model),
    /// The write of the organization the person has just joined (a guest
    /// invitation, a guest link): the session starts there, and the entry
    /// is the write's own.
    Joined(OrgWrite<'a>),
}

impl SignInWrite<'_> {
    fn txn(&self) -> &DatabaseTransaction {
        match self {
            Self::Account(write) | Self::ForOrganization(write, _) => write.txn(),
            Self::Joined(write) => write.txn(),
        }
    }

    /// The organization the session starts in.
    async fn active_organization(
        &self,
        user: &user::Model,
    ) -> AppResult<Option<organization::Model>> {
        match self {
            Self::Account(write) => last_organization(write.txn(), user).await,
            Self::ForOrganization(_, organization) => Ok(Some(organization.clone())),
            Self::Joined(write) => Ok(Some(write.organization().clone())),
        }
    }

    async fn commit(self, who: AuditActor, meta: &RequestMeta, entry: Entry) -> AppResult<()> {
        match self {
            Self::Account(write) => write.attributed_to(who, meta).commit(entry).await,
            Self::ForOrganization(write, organization) => {
                write
                    .attributed_to(who, meta)
                    .commit(entry.in_organization(organization.id))
                    .await
            }
            Self::Joined(write) => write.commit(entry).await,
        }
    }
}

/// Signs in `user`, who has just proved who they are (`authentication`):
/// starts their session, issues its first tokens and commits the write
/// with its one entry, which `entry` makes once the session exists (it may
/// name it). Every way of signing in ends here: a password (and its second
/// factor), a guest's link or invitation, an SSO code.
pub async fn sign_in(
    write: SignInWrite<'_>,
    auth: &AuthConfig,
    meta: &RequestMeta,
    user: user::Model,
    authentication: Authentication,
    entry: impl FnOnce(&IssuedTokens) -> Entry,
) -> AppResult<IssuedTokens> {
    let active = write.active_organization(&user).await?;
    let who = AuditActor::account(&user);
    let issued = start_session(write.txn(), auth, meta, user, active, authentication).await?;
    let entry = entry(&issued);
    write.commit(who, meta, entry).await?;
    Ok(issued)
}

/// The organization the user last switched to, while they are still a
/// member of it.
async fn last_organization<C: ConnectionTrait>(
    txn: &C,
    user: &user::Model,
) -> AppResult<Option<organization::Model>> {
    Ok(match user.last_organization_id {
        Some(org_id) if access::membership(txn, user.id, org_id).await?.is_some() => {
            organization::Entity::find_by_id(org_id).one(txn).await?
        }
        _ => None,
    })
}

/// A new session, and its first tokens.
async fn start_session<C: ConnectionTrait>(
    txn: &C,
    auth: &AuthConfig,
    meta: &RequestMeta,
    user: user::Model,
    active_organization: Option<organization::Model>,
    authentication: Authentication,
) -> AppResult<IssuedTokens> {
    let now = Utc::now();
    let session = session::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user.id),
        active_organization_id: Set(active_organization.as_ref().map(|o| o.id)),
        ip_address: Set(meta.client_ip.map(|ip| ip.to_string())),
        user_agent: Set(meta.user_agent.clone()),
        created_at: Set(now),
        last_used_at: Set(now),
        revoked_at: Set(None),
        amr: Set(authentication.stored().to_owned()),
        sso_connection_id: Set(match authentication {
            Authentication::Sso { connection_id, .. } => Some(connection_id),
            _ => None,
        }),
        sso_organization_id: Set(match authentication {
            Authentication::Sso {
                organization_id, ..
            } => Some(organization_id),
            _ => None,
        }),
    }
    .insert(txn)
    .await?;
    issue(
        txn,
        auth,
        user,
        session.id,
        active_organization,
        authentication,
    )
    .await
}

/// A new access token and a new refresh token for a live session.
async fn issue<C: ConnectionTrait>(
    txn: &C,
    auth: &AuthConfig,
    user: user::Model,
    session_id: Uuid,
    active_organization: Option<organization::Model>,
    authentication: Authentication,
) -> AppResult<IssuedTokens> {
    let refresh_token = secrets::generate();
    let now = Utc::now();
    refresh_token::ActiveModel {
        id: Set(new_id()),
        session_id: Set(session_id),
        token_hash: Set(secrets::digest(&refresh_token)),
        created_at: Set(now),
        expires_at: Set(now + auth.refresh_ttl),
        used_at: Set(None),
    }
    .insert(txn)
    .await?;
    let ttl = active_organization
        .as_ref()
        .map_or(auth.tokens.access_ttl_secs, |o| {
            i64::from(o.jwt_expiry_secs)
        });
    let (access_token, access_token_expires_at) = auth.tokens.issue(
        user.id,
        session_id,
        active_organization.as_ref().map(|o| o.id),
        authentication.amr(),
        ttl,
    )?;
    Ok(IssuedTokens {
        user,
        session_id,
        access_token,
        access_token_expires_at,
        refresh_token,
        active_organization,
        authentication,
    })
}

/// Trades a refresh token for new tokens. A token works once: a second use
/// (a stolen copy, or a replay) revokes the session, and both the thief and
/// the owner must sign in again.
#[tracing::instrument(skip_all)]
pub async fn refresh_session(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    meta: &RequestMeta,
    presented: &str,
) -> AppResult<IssuedTokens> {
    let hash = secrets::digest(presented);
    let write = Write::begin(db).await?;
    let Some(token) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .one(write.txn())
        .await?
    else {
        return Err(AppError::Unauthenticated);
    };
    let now = Utc::now();
    // Conditional update: of two concurrent uses, exactly one marks it.
    let marked = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(token.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(write.txn())
        .await?
        .rows_affected;
    if marked == 0 {
        tracing::warn!(target: "orgql::auth", session_id = %token.session_id, "refresh token reused; revoking its session");
        revoke_sessions(write.txn(), session::Column::Id.eq(token.session_id)).await?;
        write
            .attributed_to(AuditActor::system(), meta)
            .commit(Entry::new(
                AuditAction::SessionRevokedOnReuse,
                token.session_id,
                json!({}),
            ))
            .await?;
        return Err(AppError::Unauthenticated);
    }
    if token.expires_at <= now {
        return Err(AppError::Unauthenticated);
    }
    let Some((session, Some(user))) = session::Entity::find_by_id(token.session_id)
        .find_also_related(user::Entity)
        .one(write.txn())
        .await?
    else {
        return Err(AppError::Unauthenticated);
    };
    if session.revoked_at.is_some() || !within_max_age(auth, &session, now) {
        return Err(AppError::Unauthenticated);
    }
    let active = match session.active_organization_id {
        Some(org_id)
            if access::membership(write.txn(), user.id, org_id)
                .await?
                .is_some() =>
        {
            organization::Entity::find_by_id(org_id)
                .one(write.txn())
                .await?
        }
        _ => None,
    };
    session::Entity::update_many()
        .col_expr(session::Column::LastUsedAt, Expr::value(now))
        .filter(session::Column::Id.eq(session.id))
        .exec(write.txn())
        .await?;
    let entry = Entry::new(AuditAction::SessionRefreshed, session.id, json!({}));
    let who = AuditActor::account(&user);
    let authentication = Authentication::of_session(&session);
    let issued = issue(write.txn(), auth, user, session.id, active, authentication).await?;
    write.attributed_to(who, meta).commit(entry).await?;
    Ok(issued)
}

/// Makes `organization_id` the session's active organization, remembers it
/// for the next log-in, and issues an access token naming it.
#[tracing::instrument(skip_all, fields(%organization_id))]
pub async fn switch_organization(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    actor: &Actor,
    organization_id: OrganizationId,
) -> AppResult<(String, DateTime<Utc>, organization::Model)> {
    let person = actor.require_person()?;
    let session_id = person.session_id;
    let organization_id = Uuid::from(organization_id);
    let write = Write::begin(db).await?;
    let organization = organization::Entity::find_by_id(organization_id)
        .one(write.txn())
        .await?
        .ok_or(AppError::NotFound)?;
    if access::membership(write.txn(), person.user_id, organization_id)
        .await?
        .is_none()
    {
        return Err(AppError::NotFound);
    }
    session::Entity::update_many()
        .col_expr(
            session::Column::ActiveOrganizationId,
            Expr::value(organization_id),
        )
        .filter(session::Column::Id.eq(session_id))
        .exec(write.txn())
        .await?;
    user::Entity::update_many()
        .col_expr(
            user::Column::LastOrganizationId,
            Expr::value(organization_id),
        )
        .filter(user::Column::Id.eq(person.user_id))
        .exec(write.txn())
        .await?;
    let (token, expires_at) = auth.tokens.issue(
        person.user_id,
        session_id,
        Some(organization_id),
        person.authentication.amr(),
        i64::from(organization.jwt_expiry_secs),
    )?;
    write
        .by(actor)
        .commit(Entry::new(
            AuditAction::SessionOrganizationSwitched,
            session_id,
            json!({ "from": person.active_organization_id, "to": organization_id }),
        ))
        .await?;
    Ok((token, expires_at, organization))
}
