//! Changing and resetting a password (issue #10).
//!
//! Security rules enforced here: a new password meets the policy of
//! `values::password` (NIST SP 800-63B); changing needs the current
//! password and ends every other session; a reset link is mailed through
//! the outbox, lives an hour, works once, and ends every session of the
//! account, and lifts every lock-out (it proves the mailbox); asking for a
//! reset answers the same whether or not the account exists, so it tells
//! nobody which addresses have accounts.

use chrono::Utc;
use entity::{session, user};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;

use super::one_time::{self, Purpose, RESET_TTL};
use crate::auth::AuthConfig;
use crate::domain::audit::{AuditAction, AuditActor, Entry};
use crate::domain::authz::{Actor, RequestMeta};
use crate::domain::bookkeeping;
use crate::domain::sessions::revoke_sessions;
use crate::domain::users::mark_verified;
use crate::domain::values::{self, Email};
use crate::domain::write::Write;
use crate::error::{AppError, AppResult};
use crate::mail::outbox::{Mail, Outbox};

/// Checks `new_password` against the policy for this account and hashes it.
async fn hash_new(auth: &AuthConfig, user: &user::Model, new_password: &str) -> AppResult<String> {
    values::password("newPassword", new_password, &[&user.email, &user.name])?;
    auth.passwords.hash(new_password).await
}

/// Sets a new password after checking the current one; every other session
/// of the account ends (one may have been opened with the old password).
/// Returns how many sessions ended.
#[tracing::instrument(skip_all)]
pub async fn change_password(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    actor: &Actor,
    current_password: &str,
    new_password: &str,
) -> AppResult<u64> {
    let person = actor.require_person()?;
    let user = user::Entity::find_by_id(person.user_id)
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    // The slow hashes run before the write opens, so they hold no lock.
    if !auth
        .passwords
        .verify(current_password, &user.password_hash)
        .await?
    {
        return Err(AppError::bad_input(
            "currentPassword",
            "the current password is wrong",
        ));
    }
    let password_hash = hash_new(auth, &user, new_password).await?;
    let write = Write::begin(db).await?;
    set_password(write.txn(), user.id, password_hash).await?;
    // A reset link mailed before the change must not undo it.
    one_time::invalidate(write.txn(), user.id, Purpose::ResetPassword).await?;
    let ended = revoke_sessions(
        write.txn(),
        session::Column::UserId
            .eq(user.id)
            .and(session::Column::Id.ne(person.session_id)),
    )
    .await?;
    write
        .by(actor)
        .commit(Entry::new(
            AuditAction::UserPasswordChanged,
            user.id,
            json!({ "sessionsEnded": ended }),
        ))
        .await?;
    Ok(ended)
}

/// Mails a one-time reset link when an account has this address; answers
/// the same when none has, and then mails the address that no account has
/// it, so that both cases do the same kind of work (an outbox row in a
/// committed transaction) and take about the same time (issue #22, L4).
#[tracing::instrument(skip_all)]
pub async fn request_password_reset(
    db: &DatabaseConnection,
    outbox: &Outbox,
    meta: &RequestMeta,
    email: &str,
) -> AppResult<()> {
    let email = Email::parse("email", email)?;
    let write = Write::begin(db).await?;
    // A guest account gets the link too: resetting is how its owner claims
    // it (security review L2, `guests::claim_with_reset`).
    let Some(user) = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(write.txn())
        .await?
    else {
        // No account changes, so nothing is audited; the caller learns
        // nothing, and the mailbox's owner learns why no link came.
        tracing::debug!(target: "orgql::auth", "password reset asked for an unknown address");
        drop(write);
        let mail = Mail::new(
            email.as_str(),
            "Reset your orgql password",
            "Someone asked to reset the password of an orgql account with this email address, but no account has this address, so there is nothing to reset.\n\nIf it was you, you may have signed up with another address. Otherwise, ignore this email.\n".to_owned(),
        );
        return bookkeeping::send_mail(db, outbox, mail).await;
    };
    // The link names the address it was mailed to, so that it proves
    // nothing once the account has moved to another one.
    let token = one_time::issue(
        write.txn(),
        user.id,
        Purpose::ResetPassword,
        Some(&user.email),
        RESET_TTL,
    )
    .await?;
    let mut write = write.attributed_to(AuditActor::system(), meta);
    let mail = Mail::new(
        &user.email,
        "Reset your orgql password",
        format!(
            "Someone asked to reset the password of your orgql account. To choose a new password, open: {}/reset-password?token={token}\n\nThe link works once and expires in one hour. Resetting signs you out everywhere. If you did not ask, ignore this email: your password stays as it is.\n",
            outbox.public_url,
        ),
    );
    write.send(outbox, mail).await?;
    write
        .commit(Entry::new(
            AuditAction::UserPasswordResetRequested,
            user.id,
            json!({}),
        ))
        .await
}

/// Sets a new password with a reset link and ends every session of the
/// account. The link came to the account's mailbox, so it also proves the
/// address.
#[tracing::instrument(skip_all)]
pub async fn reset_password(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    meta: &RequestMeta,
    token: &str,
    new_password: &str,
) -> AppResult<user::Model> {
    let found = one_time::find_live(db, Purpose::ResetPassword, token, "token").await?;
    let user = user::Entity::find_by_id(found.user_id)
        .one(db)
        .await?
        .ok_or(AppError::bad_input("token", "this link is invalid"))?;
    if found
        .email
        .as_ref()
        .is_some_and(|mailed_to| *mailed_to != user.email)
    {
        return Err(AppError::bad_input("token", "this link is invalid"));
    }
    // A refused password leaves the link usable for a better one.
    let password_hash = hash_new(auth, &user, new_password).await?;
    let write = Write::begin(db).await?;
    one_time::consume(write.txn(), &found, "token").await?;
    set_password(write.txn(), user.id, password_hash).await?;
    mark_verified(write.txn(), user.id).await?;
    // The link proved the mailbox: whatever strangers' wrong passwords
    // locked is lifted (the lock notice says so).
    super::lockout::clear(write.txn(), user.id).await?;
    // A guest's reset is its claim (security review L2).
    let guest_memberships_ended = super::guests::claim_with_reset(write.txn(), &user).await?;
    let ended = revoke_sessions(write.txn(), session::Column::UserId.eq(user.id)).await?;
    let reset = Entry::new(
        AuditAction::UserPasswordReset,
        user.id,
        json!({ "sessionsEnded": ended }),
    );
    write
        .attributed_to(AuditActor::account(&user), meta)
        .commit_all([guest_memberships_ended, vec![reset]].concat())
        .await?;
    Ok(user)
}

async fn set_password(
    txn: &sea_orm::DatabaseTransaction,
    user_id: uuid::Uuid,
    password_hash: String,
) -> AppResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(password_hash))
        .col_expr(user::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(user_id))
        .exec(txn)
        .await?;
    Ok(())
}
