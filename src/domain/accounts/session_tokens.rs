//! A signed-in person's session over time: rotating refresh tokens (with
//! reuse detection), switching the active organization, logging out, and
//! resolving an access token to its actor on every request.

use chrono::{DateTime, Utc};
use entity::{organization, refresh_token, session, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{IssuedTokens, issue};
use crate::auth::{AuthConfig, secrets};
use crate::domain::audit::{AuditAction, AuditActor};
use crate::domain::authz::{Actor, Authentication, Person, Principal, RequestMeta, access};
use crate::domain::ids::OrganizationId;
use crate::domain::write::{Entry, Write};
use crate::error::{AppError, AppResult};

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
            .commit(
                AuditActor::system(),
                meta,
                None,
                Entry::new(
                    AuditAction::SessionRevokedOnReuse,
                    token.session_id,
                    json!({}),
                ),
            )
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
    write.commit(who, meta, None, entry).await?;
    Ok(issued)
}

/// Ends the actor's current session: its access and refresh tokens stop
/// working at once.
#[tracing::instrument(skip_all)]
pub async fn log_out(db: &DatabaseConnection, actor: &Actor) -> AppResult<Uuid> {
    let session_id = actor.require_person()?.session_id;
    let write = Write::begin(db).await?;
    revoke_sessions(write.txn(), session::Column::Id.eq(session_id)).await?;
    write
        .commit_as(
            actor,
            Entry::new(AuditAction::SessionLoggedOut, session_id, json!({})),
        )
        .await?;
    Ok(session_id)
}

/// Marks the matching live sessions revoked.
pub async fn revoke_sessions<C: ConnectionTrait>(
    txn: &C,
    which: sea_orm::sea_query::SimpleExpr,
) -> AppResult<u64> {
    Ok(session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(which)
        .filter(session::Column::RevokedAt.is_null())
        .exec(txn)
        .await?
        .rows_affected)
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
        .commit_as(
            actor,
            Entry::new(
                AuditAction::SessionOrganizationSwitched,
                session_id,
                json!({ "from": person.active_organization_id, "to": organization_id }),
            ),
        )
        .await?;
    Ok((token, expires_at, organization))
}

/// Whether a session is younger than the absolute lifetime: past it, no
/// token of the session works, however recently it was refreshed (OWASP
/// Session Management Cheat Sheet, "Absolute Timeout").
fn within_max_age(auth: &AuthConfig, session: &session::Model, now: DateTime<Utc>) -> bool {
    session.created_at + auth.session_max_age > now
}

/// What authenticating a request reads of a session: the session, and the
/// facts of its user that an actor carries (never the password hash).
#[derive(Debug, Clone)]
pub struct SessionFacts {
    pub session: session::Model,
    pub email: String,
    pub email_verified: bool,
    pub is_platform_admin: bool,
    pub is_guest: bool,
}

/// Sessions kept between requests (PostgreSQL only; see
/// `crate::auth::session_cache`).
pub type SessionCache = crate::auth::session_cache::SessionCache<SessionFacts>;

/// One indexed lookup of the session joined with its user.
async fn read_session_facts<C: ConnectionTrait>(
    db: &C,
    session_id: Uuid,
) -> AppResult<Option<SessionFacts>> {
    let found = session::Entity::find_by_id(session_id)
        .find_also_related(user::Entity)
        .into_model::<session::Model, UserFacts>()
        .one(db)
        .await?;
    Ok(match found {
        Some((session, Some(user))) => Some(SessionFacts {
            session,
            email: user.email,
            email_verified: user.email_verified_at.is_some(),
            is_platform_admin: user.is_platform_admin,
            is_guest: user.is_guest,
        }),
        _ => None,
    })
}

/// The user columns an actor carries.
#[derive(Debug, sea_orm::FromQueryResult)]
struct UserFacts {
    email: String,
    email_verified_at: Option<DateTime<Utc>>,
    is_platform_admin: bool,
    is_guest: bool,
}

/// Resolves a verified access token to its actor. A revoked session, one
/// past its absolute lifetime, or one whose user is gone, is
/// UNAUTHENTICATED. With a session cache, a session read once is not read
/// again until a change to it or its user is noticed.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    auth: &AuthConfig,
    claims: &crate::auth::AccessClaims,
    meta: RequestMeta,
    cache: Option<&SessionCache>,
) -> AppResult<Actor> {
    let cached = cache.and_then(|c| c.get(claims.sid));
    let from_cache = cached.is_some();
    let facts = match cached {
        Some(facts) => Some(facts),
        None => {
            let read_under = cache.map(|c| c.generation());
            let facts = read_session_facts(db, claims.sid).await?;
            if let (Some(cache), Some(read_under), Some(facts)) = (cache, read_under, &facts) {
                cache.insert(read_under, claims.sid, facts.session.user_id, facts.clone());
            }
            facts
        }
    };
    let now = Utc::now();
    match facts {
        Some(facts)
            if facts.session.revoked_at.is_none()
                && facts.session.user_id == claims.sub
                && within_max_age(auth, &facts.session, now) =>
        {
            let actor = Actor {
                principal: Principal::Person(Person {
                    user_id: facts.session.user_id,
                    email_verified: facts.email_verified,
                    email: facts.email.clone(),
                    session_id: facts.session.id,
                    session_started_at: facts.session.created_at,
                    is_platform_admin: facts.is_platform_admin,
                    active_organization_id: claims.org,
                    authentication: Authentication::of_session(&facts.session),
                    is_guest: facts.is_guest,
                }),
                meta,
            };
            if crate::domain::sessions::touch(db, &facts.session, &actor).await?
                && from_cache
                && let Some(cache) = cache
            {
                let mut touched = facts;
                touched.session.last_used_at = now;
                cache.update(claims.sid, touched);
            }
            Ok(actor)
        }
        _ => {
            tracing::debug!(target: "orgql::auth", session_id = %claims.sid, "session revoked or unknown");
            Err(AppError::Unauthenticated)
        }
    }
}
