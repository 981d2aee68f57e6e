//! Lock-out after repeated wrong passwords (issue #10): after `threshold`
//! wrong passwords in a row an account refuses log-in for a while, and the
//! person is told by email (they can still reset the password). While
//! locked, even the right password gets the same UNAUTHENTICATED as a wrong
//! one, so a lock tells an attacker nothing about whether the account
//! exists. The count is kept in the database, so it holds across instances;
//! the per-address and per-account rate limits (`graphql::rate_limits`)
//! slow the guessing down before it gets this far.

use chrono::{Duration, Utc};
use entity::{account_lockout, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use serde_json::json;

use crate::domain::audit::{AuditAction, AuditActor};
use crate::domain::authz::RequestMeta;
use crate::domain::write::{Entry, Write};
use crate::error::AppResult;
use crate::mail::Outbox;

/// When an account locks, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    pub threshold: u32,
    pub duration: Duration,
}

/// Where an account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// No wrong password since the last right one.
    Clear,
    /// Some wrong passwords, not enough to lock (or a lock that has ended).
    Failing,
    /// Log-in is refused for now.
    Locked,
}

pub async fn standing<C: ConnectionTrait>(db: &C, user_id: uuid::Uuid) -> AppResult<Standing> {
    Ok(
        match account_lockout::Entity::find_by_id(user_id).one(db).await? {
            None => Standing::Clear,
            Some(row) if row.locked_until.is_some_and(|until| until > Utc::now()) => {
                Standing::Locked
            }
            Some(_) => Standing::Failing,
        },
    )
}

/// Counts a wrong password (one atomic upsert); at the threshold, locks the
/// account, emails the person and writes the audit entry, once however many
/// failures race to it.
pub async fn record_failure(
    db: &DatabaseConnection,
    outbox: &Outbox,
    policy: LockoutPolicy,
    user: &user::Model,
    meta: &RequestMeta,
) -> AppResult<()> {
    let now = Utc::now();
    account_lockout::Entity::insert(account_lockout::ActiveModel {
        user_id: sea_orm::ActiveValue::Set(user.id),
        failed_attempts: sea_orm::ActiveValue::Set(1),
        locked_until: sea_orm::ActiveValue::Set(None),
        updated_at: sea_orm::ActiveValue::Set(now),
    })
    .on_conflict(
        OnConflict::column(account_lockout::Column::UserId)
            .value(
                account_lockout::Column::FailedAttempts,
                Expr::col((
                    account_lockout::Entity,
                    account_lockout::Column::FailedAttempts,
                ))
                .add(1),
            )
            .value(account_lockout::Column::UpdatedAt, Expr::value(now))
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;

    let write = Write::begin(db).await?;
    let until = now + policy.duration;
    let locked = account_lockout::Entity::update_many()
        .col_expr(account_lockout::Column::LockedUntil, Expr::value(until))
        .col_expr(account_lockout::Column::FailedAttempts, Expr::value(0))
        .filter(account_lockout::Column::UserId.eq(user.id))
        .filter(account_lockout::Column::FailedAttempts.gte(policy.threshold as i32))
        .exec(write.txn())
        .await?
        .rows_affected;
    if locked == 0 {
        return Ok(());
    }
    tracing::warn!(target: "orgql::auth", user_id = %user.id, "account locked after repeated wrong passwords");
    outbox
        .enqueue(
            write.txn(),
            &user.email,
            "Your orgql account is locked for a while",
            format!(
                "Someone entered a wrong password for your orgql account {} times in a row, \
                 so it refuses to sign in until {} (UTC).\n\n\
                 If it was you, wait, or reset your password. If it was not you, \
                 reset your password: your account is safe as long as nobody knows it.\n",
                policy.threshold,
                until.format("%Y-%m-%d %H:%M"),
            ),
        )
        .await?;
    write
        .commit(
            AuditActor::system(),
            meta,
            None,
            Entry::new(
                AuditAction::UserLockedOut,
                user.id,
                json!({ "failedAttempts": policy.threshold, "lockedUntil": until }),
            ),
        )
        .await?;
    outbox.wake();
    Ok(())
}

/// Forgets the wrong passwords once the right one is given.
pub async fn clear<C: ConnectionTrait>(db: &C, user_id: uuid::Uuid) -> AppResult<()> {
    account_lockout::Entity::delete_by_id(user_id)
        .exec(db)
        .await?;
    Ok(())
}
