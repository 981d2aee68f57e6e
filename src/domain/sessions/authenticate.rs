//! Resolving an access token to its actor on every request: one indexed
//! read of the session joined with its user (or none, from the session
//! cache), refused when the session is revoked or past its absolute
//! lifetime, and its last use recorded at most once a minute.

use chrono::{DateTime, Duration, Utc};
use entity::{session, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use crate::auth::AuthConfig;
use crate::domain::authz::{Actor, Authentication, Person, Principal, RequestMeta};
use crate::error::{AppError, AppResult};

/// How stale `last_used_at` may get before a request refreshes it: one
/// write a minute per session at most, not one per request.
const TOUCH_EVERY: i64 = 60;

/// Records that a session was used (at most once a minute); true when it
/// wrote.
async fn touch<C: ConnectionTrait>(
    db: &C,
    session: &session::Model,
    actor: &Actor,
) -> AppResult<bool> {
    let now = Utc::now();
    if now - session.last_used_at < Duration::seconds(TOUCH_EVERY) {
        return Ok(false);
    }
    session::Entity::update_many()
        .col_expr(session::Column::LastUsedAt, Expr::value(now))
        .col_expr(
            session::Column::IpAddress,
            Expr::value(actor.meta.client_ip.map(|ip| ip.to_string())),
        )
        .col_expr(
            session::Column::UserAgent,
            Expr::value(actor.meta.user_agent.clone()),
        )
        .filter(session::Column::Id.eq(session.id))
        .exec(db)
        .await?;
    Ok(true)
}

/// Whether a session is younger than the absolute lifetime: past it, no
/// token of the session works, however recently it was refreshed (OWASP
/// Session Management Cheat Sheet, "Absolute Timeout").
pub(super) fn within_max_age(
    auth: &AuthConfig,
    session: &session::Model,
    now: DateTime<Utc>,
) -> bool {
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

/// Sessions kept between requests (PostgreSQL only; see `super::cache`).
pub type SessionCache = super::cache::SessionCache<SessionFacts>;

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
            if touch(db, &facts.session, &actor).await?
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
