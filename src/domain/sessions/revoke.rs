//! Ending sessions: the one statement that marks sessions revoked, and the
//! commands and rules built on it (logging out; a member who leaves or is
//! removed loses the sessions open in that organization). A revoked
//! session's tokens stop working on their very next request
//! (`authenticate.rs`).

use chrono::Utc;
use entity::session;
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use crate::domain::audit::AuditAction;
use crate::domain::audit::Entry;
use crate::domain::authz::Actor;
use crate::domain::write::Write;
use crate::error::AppResult;

/// Marks the matching live sessions revoked.
pub async fn revoke_sessions<C: ConnectionTrait>(txn: &C, which: SimpleExpr) -> AppResult<u64> {
    Ok(session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(which)
        .filter(session::Column::RevokedAt.is_null())
        .exec(txn)
        .await?
        .rows_affected)
}

/// Ends the actor's current session: its access and refresh tokens stop
/// working at once.
#[tracing::instrument(skip_all)]
pub async fn log_out(db: &DatabaseConnection, actor: &Actor) -> AppResult<Uuid> {
    let session_id = actor.require_person()?.session_id;
    let write = Write::begin(db).await?;
    revoke_sessions(write.txn(), session::Column::Id.eq(session_id)).await?;
    write
        .by(actor)
        .commit(Entry::new(
            AuditAction::SessionLoggedOut,
            session_id,
            json!({}),
        ))
        .await?;
    Ok(session_id)
}

/// Revokes a user's sessions whose active organization is this one: used
/// when they leave or are removed, so their tokens stop working at once.
pub async fn revoke_member_sessions<C: ConnectionTrait>(
    txn: &C,
    user_id: Uuid,
    organization_id: Uuid,
) -> AppResult<u64> {
    revoke_sessions(
        txn,
        session::Column::UserId
            .eq(user_id)
            .and(session::Column::ActiveOrganizationId.eq(organization_id)),
    )
    .await
}
