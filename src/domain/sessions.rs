//! Sessions as people see and end them. A revoked session's access token
//! fails on its very next request on any instance: every request looks its
//! session up (one indexed read, `accounts::authenticate`).

use chrono::{Duration, Utc};
use entity::{organization, session};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::accounts::{own_session, revoke_sessions};
use crate::domain::audit::{self, AuditActor, Change};
use crate::domain::permissions::Permission;
use crate::domain::{access, begin_write};
use crate::error::{AppError, AppResult};

/// How stale `last_used_at` may get before a request refreshes it: one
/// write a minute per session at most, not one per request.
const TOUCH_EVERY: i64 = 60;

/// A user's live sessions, newest first.
pub async fn active_of_user<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
) -> AppResult<Vec<session::Model>> {
    Ok(session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .order_by_desc(session::Column::Id)
        .all(db)
        .await?)
}

/// Records that a session was used (at most once a minute).
pub async fn touch<C: ConnectionTrait>(
    db: &C,
    session: &session::Model,
    actor: &Actor,
) -> AppResult<()> {
    let now = Utc::now();
    if now - session.last_used_at < Duration::seconds(TOUCH_EVERY) {
        return Ok(());
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
    Ok(())
}

/// Ends one of the actor's own sessions; anyone else's is absent.
#[tracing::instrument(skip_all, fields(%session_id))]
pub async fn revoke(db: &DatabaseConnection, actor: &Actor, session_id: Uuid) -> AppResult<()> {
    own_session(actor)?;
    let txn = begin_write(db).await?;
    session::Entity::find_by_id(session_id)
        .filter(session::Column::UserId.eq(actor.user_id))
        .filter(session::Column::RevokedAt.is_null())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    revoke_sessions(&txn, session::Column::Id.eq(session_id)).await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "session.revoked",
            resource_type: "session",
            resource_id: Some(session_id),
            organization_id: None,
            metadata: json!({}),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Ends every session of the actor, this one included.
#[tracing::instrument(skip_all, fields(user_id = %actor.user_id))]
pub async fn revoke_all(db: &DatabaseConnection, actor: &Actor) -> AppResult<u64> {
    own_session(actor)?;
    let txn = begin_write(db).await?;
    let revoked = revoke_sessions(&txn, session::Column::UserId.eq(actor.user_id)).await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "session.logged_out_everywhere",
            resource_type: "user",
            resource_id: Some(actor.user_id),
            organization_id: None,
            metadata: json!({ "sessionsRevoked": revoked }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(revoked)
}

/// Ends every session's access to an organization (members:manage):
/// sessions started before now are refused there, whichever organization
/// their token names, and sessions whose token names it are revoked
/// outright. People sign in again to come back.
#[tracing::instrument(skip_all, fields(%organization_id))]
pub async fn revoke_for_organization(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: Uuid,
) -> AppResult<(organization::Model, u64)> {
    let txn = begin_write(db).await?;
    access::authorize_write(&txn, actor, organization_id, Permission::MembersManage).await?;
    let now = Utc::now();
    organization::Entity::update_many()
        .col_expr(
            organization::Column::SessionsRevokedBefore,
            Expr::value(now),
        )
        .filter(organization::Column::Id.eq(organization_id))
        .exec(&txn)
        .await?;
    let revoked = revoke_sessions(
        &txn,
        session::Column::ActiveOrganizationId.eq(organization_id),
    )
    .await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "organization.sessions_revoked",
            resource_type: "organization",
            resource_id: Some(organization_id),
            organization_id: Some(organization_id),
            metadata: json!({ "sessionsRevoked": revoked, "before": now }),
        },
    )
    .await?;
    let organization = access::lock_organization(&txn, organization_id).await?;
    txn.commit().await?;
    Ok((organization, revoked))
}
