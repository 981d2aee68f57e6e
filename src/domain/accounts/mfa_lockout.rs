//! Wrong second-factor codes counted per account (issue #22, M2), so that
//! someone who knows the password cannot guess TOTP codes forever by
//! asking for fresh challenges.
//!
//! What this module enforces: every wrong code, at sign-in (`verifyMfa`)
//! or when turning MFA off (`disableTotp`), counts against the account,
//! across challenges and sessions; after [`MAX_WRONG_CODES`] in a row,
//! codes are refused for the lock-out duration, every open challenge of
//! the account dies, and the person is emailed (whoever it was knows the
//! password). A right code resets the count. A password reset does not
//! lift this lock: the mailbox proves nothing about the second factor.
//! The count is in the database, so it holds across instances.

use chrono::Utc;
use entity::{mfa_challenge, mfa_lockout, user};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use serde_json::json;
use uuid::Uuid;

use super::LogInGuard;
use crate::domain::audit::{AuditAction, AuditActor, Entry};
use crate::domain::authz::RequestMeta;
use crate::domain::write::Write;
use crate::error::AppResult;
use crate::mail::outbox::Mail;

/// Wrong codes in a row, across challenges, after which the account's
/// codes are refused for a while. Three codes are valid at any time, so
/// ten guesses per lock window leave a chance of about 3 in 100,000.
pub const MAX_WRONG_CODES: i32 = 10;

/// Whether codes are refused for the account now.
pub async fn locked<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<bool> {
    Ok(mfa_lockout::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .and_then(|row| row.locked_until)
        .is_some_and(|until| until > Utc::now()))
}

/// Counts a wrong code (one atomic upsert), in `db`'s transaction when it
/// is one, so that the count commits with the attempt.
pub async fn count_wrong_code<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<()> {
    let now = Utc::now();
    mfa_lockout::Entity::insert(mfa_lockout::ActiveModel {
        user_id: Set(user_id),
        failed_attempts: Set(1),
        locked_until: Set(None),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(mfa_lockout::Column::UserId)
            .value(
                mfa_lockout::Column::FailedAttempts,
                Expr::col((mfa_lockout::Entity, mfa_lockout::Column::FailedAttempts)).add(1),
            )
            .value(mfa_lockout::Column::UpdatedAt, Expr::value(now))
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Forgets the wrong codes once a right one is given.
pub async fn forget_wrong_codes<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<()> {
    mfa_lockout::Entity::delete_many()
        .filter(mfa_lockout::Column::UserId.eq(user_id))
        .filter(mfa_lockout::Column::FailedAttempts.gt(0))
        .exec(db)
        .await?;
    Ok(())
}

/// At [`MAX_WRONG_CODES`], locks the account's codes, ends its open
/// challenges, emails the person and writes the audit entry, once however
/// many wrong codes race to it. Call after the count committed.
pub async fn lock_if_due(
    db: &DatabaseConnection,
    guard: &LogInGuard<'_>,
    user: &user::Model,
    meta: &RequestMeta,
) -> AppResult<()> {
    let now = Utc::now();
    let until = now + guard.lockout.duration;
    let write = Write::begin(db).await?;
    let locked = mfa_lockout::Entity::update_many()
        .col_expr(mfa_lockout::Column::LockedUntil, Expr::value(until))
        .col_expr(mfa_lockout::Column::FailedAttempts, Expr::value(0))
        .col_expr(mfa_lockout::Column::UpdatedAt, Expr::value(now))
        .filter(mfa_lockout::Column::UserId.eq(user.id))
        .filter(mfa_lockout::Column::FailedAttempts.gte(MAX_WRONG_CODES))
        .exec(write.txn())
        .await?
        .rows_affected;
    if locked == 0 {
        return Ok(());
    }
    // The challenges in flight die with the lock.
    mfa_challenge::Entity::update_many()
        .col_expr(mfa_challenge::Column::UsedAt, Expr::value(now))
        .filter(mfa_challenge::Column::UserId.eq(user.id))
        .filter(mfa_challenge::Column::UsedAt.is_null())
        .exec(write.txn())
        .await?;
    tracing::warn!(target: "orgql::auth", user_id = %user.id, "second factor locked after repeated wrong codes");
    let mail = Mail::new(
        &user.email,
        "Wrong sign-in codes: change your orgql password",
        format!(
            "Someone gave your orgql password, then {MAX_WRONG_CODES} wrong codes from your \
             authenticator app in a row, so sign-in codes for your account are refused \
             until {} (UTC).\n\n\
             If it was not you, whoever it was knows your password: change it now. \
             If it was you, check the time on your device and wait until then.\n",
            until.format("%Y-%m-%d %H:%M"),
        ),
    );
    let mut write = write.attributed_to(AuditActor::system(), meta);
    write.send(guard.outbox, mail).await?;
    write
        .commit(Entry::new(
            AuditAction::UserLockedOut,
            user.id,
            json!({ "scope": "mfa", "failedAttempts": MAX_WRONG_CODES, "lockedUntil": until }),
        ))
        .await
}
