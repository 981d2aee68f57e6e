//! Sessions, in one place: starting one (every way of signing in ends in
//! [`sign_in`]: `issue.rs`, with refreshing and switching the active
//! organization), authenticating each request with it
//! (`authenticate.rs`; from memory on PostgreSQL, `cache.rs`), and ending
//! it (`revoke.rs`, and the commands below: one session, all of a
//! person's, an organization's).
//!
//! A revoked session's access token fails on its very next request on any
//! instance: every request looks its session up (one indexed read, or the
//! cache, which a revocation empties through PostgreSQL's notices).

mod authenticate;
mod cache;
mod issue;
mod revoke;

pub use authenticate::{SessionCache, SessionFacts, authenticate};
pub use issue::{IssuedTokens, SignInWrite, refresh_session, sign_in, switch_organization};
pub use revoke::{log_out, revoke_member_sessions, revoke_sessions};

use chrono::Utc;
use entity::{member, organization, session, values::Role};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, QueryTrait, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::domain::audit::AuditAction;
use crate::domain::audit::Entry;
use crate::domain::authz::matrix::may_act_on;
use crate::domain::authz::{Actor, Permission};
use crate::domain::ids::{OrganizationId, SessionId};
use crate::domain::write::{OrgWrite, Write};
use crate::error::{AppError, AppResult};

/// Ends one of the actor's own sessions; anyone else's is absent.
#[tracing::instrument(skip_all, fields(%session_id))]
pub async fn revoke(
    db: &DatabaseConnection,
    actor: &Actor,
    session_id: SessionId,
) -> AppResult<()> {
    let person = actor.require_person()?;
    let session_id = Uuid::from(session_id);
    let write = Write::begin(db).await?;
    session::Entity::find_by_id(session_id)
        .filter(session::Column::UserId.eq(person.user_id))
        .filter(session::Column::RevokedAt.is_null())
        .one(write.txn())
        .await?
        .ok_or(AppError::NotFound)?;
    revoke_sessions(write.txn(), session::Column::Id.eq(session_id)).await?;
    write
        .by(actor)
        .commit(Entry::new(
            AuditAction::SessionRevoked,
            session_id,
            json!({}),
        ))
        .await?;
    Ok(())
}

/// Ends every session of the actor, this one included.
#[tracing::instrument(skip_all)]
pub async fn revoke_all(db: &DatabaseConnection, actor: &Actor) -> AppResult<u64> {
    let person = actor.require_person()?;
    let write = Write::begin(db).await?;
    let revoked = revoke_sessions(write.txn(), session::Column::UserId.eq(person.user_id)).await?;
    write
        .by(actor)
        .commit(Entry::new(
            AuditAction::SessionLoggedOutEverywhere,
            person.user_id,
            json!({ "sessionsRevoked": revoked }),
        ))
        .await?;
    Ok(revoked)
}

/// Ends the access to an organization of every session started before now
/// (members:manage), member by member under the rank rules: an OWNER cuts
/// off everyone, an ADMIN the members they rank above and themselves, never
/// another ADMIN or an OWNER. Sessions stay alive for the person's other
/// organizations; to come back here, they sign in again. Returns how many
/// live sessions lost access.
#[tracing::instrument(skip_all, fields(%organization_id))]
pub async fn revoke_for_organization(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: OrganizationId,
) -> AppResult<(organization::Model, u64)> {
    let organization_id = Uuid::from(organization_id);
    let write = OrgWrite::begin(db, actor, organization_id, Permission::MembersManage).await?;
    let acting = write.acting_role()?;
    let now = Utc::now();
    let ranked_below: Vec<Role> = [
        Role::Owner,
        Role::Admin,
        Role::Member,
        Role::Viewer,
        Role::Billing,
    ]
    .into_iter()
    .filter(|role| may_act_on(acting, *role, false))
    .collect();
    let affected = Condition::all()
        .add(member::Column::OrganizationId.eq(organization_id))
        .add(
            Condition::any()
                .add(member::Column::Role.is_in(ranked_below))
                .add(member::Column::UserId.eq(actor.user_id())),
        );
    member::Entity::update_many()
        .col_expr(member::Column::SessionsRevokedBefore, Expr::value(now))
        .filter(affected.clone())
        .exec(write.txn())
        .await?;
    let cut_off = session::Entity::find()
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::CreatedAt.lt(now))
        .filter(
            session::Column::UserId.in_subquery(
                member::Entity::find()
                    .select_only()
                    .column(member::Column::UserId)
                    .filter(affected)
                    .into_query(),
            ),
        )
        .count(write.txn())
        .await?;
    let organization = write.organization().clone();
    write
        .commit(Entry::new(
            AuditAction::OrganizationSessionsRevoked,
            organization_id,
            json!({ "sessionsCutOff": cut_off, "before": now, "actingRole": acting }),
        ))
        .await?;
    Ok((organization, cut_off))
}
