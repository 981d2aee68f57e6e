//! Proving an email address (DESIGN §3, issue #10): a verification link
//! mailed through the outbox at sign-up and on request, and the email
//! change, which takes effect only once the new address is proven.
//!
//! Security rules enforced here: an address counts as verified only after
//! a link mailed to it was used; changing the address needs the password,
//! tells the old address, and leaves the account on its old, verified
//! address until the new one is proven, so a stolen session cannot quietly
//! move an account to a mailbox the attacker owns. Once the change is
//! complete, the links mailed to the old address (reset, verification)
//! stop working: the old mailbox no longer speaks for the account. Asking
//! for an address another account has answers as for a free one (the
//! owner of that address is told by mail), so the answer tells nobody
//! which addresses have accounts (issue #22, L4).

use chrono::Utc;
use entity::user;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr,
};
use serde_json::json;

use super::one_time::{self, Purpose};
use crate::auth::AuthConfig;
use crate::domain::audit::{AuditAction, AuditActor, Entry};
use crate::domain::authz::{Actor, RequestMeta};
use crate::domain::users::mark_verified;
use crate::domain::values::Email;
use crate::domain::write::Write;
use crate::error::{AppError, AppResult};
use crate::mail::outbox::{Mail, Outbox};

fn verify_url(outbox: &Outbox, token: &str) -> String {
    format!("{}/verify-email?token={token}", outbox.public_url)
}

/// Issues a link proving `user`'s address in `txn`; returns its email.
pub(super) async fn issue_link<C: ConnectionTrait>(
    txn: &C,
    auth: &AuthConfig,
    outbox: &Outbox,
    user: &user::Model,
) -> AppResult<Mail> {
    let token = one_time::issue(
        txn,
        user.id,
        Purpose::VerifyEmail,
        Some(&user.email),
        auth.verification_ttl,
    )
    .await?;
    let body = format!(
        "Confirm that {} is your email address on orgql: {}\n\nThe link works once and expires in {} hours. If you did not sign up, ignore this email.\n",
        user.email,
        verify_url(outbox, &token),
        auth.verification_ttl.num_hours(),
    );
    Ok(Mail::new(&user.email, "Confirm your email address", body))
}

/// Uses a verification link: proves the account's address, or completes an
/// email change. Needs no session, since the link may be opened anywhere.
#[tracing::instrument(skip_all)]
pub async fn verify_email(
    db: &DatabaseConnection,
    meta: &RequestMeta,
    token: &str,
) -> AppResult<user::Model> {
    let write = Write::begin(db).await?;
    let found = match one_time::find_live(write.txn(), Purpose::VerifyEmail, token, "token").await {
        Ok(found) => found,
        Err(_) => one_time::find_live(write.txn(), Purpose::ChangeEmail, token, "token").await?,
    };
    one_time::consume(write.txn(), &found, "token").await?;
    let user = user::Entity::find_by_id(found.user_id)
        .one(write.txn())
        .await?
        .ok_or(AppError::bad_input("token", "this link is invalid"))?;
    let proven = found.email.clone().unwrap_or_default();
    let now = Utc::now();
    let (action, metadata) = if found.purpose == "change_email" {
        // The unique index on users.email refuses an address another
        // account took meanwhile (CONFLICT).
        user::Entity::update_many()
            .col_expr(user::Column::Email, Expr::value(proven.clone()))
            .col_expr(user::Column::EmailVerifiedAt, Expr::value(now))
            .col_expr(user::Column::UpdatedAt, Expr::value(now))
            .filter(user::Column::Id.eq(user.id))
            .exec(write.txn())
            .await?;
        one_time::invalidate(write.txn(), user.id, Purpose::VerifyEmail).await?;
        // A reset link in the abandoned mailbox must not take the account
        // back (issue #22, L3).
        one_time::invalidate(write.txn(), user.id, Purpose::ResetPassword).await?;
        (
            AuditAction::UserEmailChanged,
            json!({ "from": user.email, "to": proven }),
        )
    } else {
        // A link for an address the account no longer has proves nothing
        // about the current one.
        if proven != user.email {
            return Err(AppError::bad_input("token", "this link is invalid"));
        }
        mark_verified(write.txn(), user.id).await?;
        (AuditAction::UserEmailVerified, json!({ "email": proven }))
    };
    let user = user::Entity::find_by_id(user.id)
        .one(write.txn())
        .await?
        .ok_or(AppError::internal("the verified account vanished"))?;
    write
        .attributed_to(AuditActor::account(&user), meta)
        .commit(Entry::new(action, user.id, metadata))
        .await?;
    // A newly proven address may open an organization's door by domain.
    let actor = crate::domain::domain_joins::actor_for(
        &user,
        uuid::Uuid::nil(),
        meta,
        crate::domain::authz::Authentication::Password,
    );
    crate::domain::domain_joins::join_automatically(db, &actor).await;
    Ok(user)
}

/// Mails a fresh verification link to the signed-in person's address; the
/// older links stop working.
#[tracing::instrument(skip_all)]
pub async fn resend_verification_email(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    outbox: &Outbox,
    actor: &Actor,
) -> AppResult<()> {
    let person = actor.require_person()?;
    let write = Write::begin(db).await?;
    let user = user::Entity::find_by_id(person.user_id)
        .one(write.txn())
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if user.email_verified_at.is_some() {
        return Err(AppError::conflict("this email address is already verified"));
    }
    let mail = issue_link(write.txn(), auth, outbox, &user).await?;
    let mut write = write.by(actor);
    write.send(outbox, mail).await?;
    write
        .commit(Entry::new(
            AuditAction::UserVerificationEmailSent,
            user.id,
            json!({ "email": user.email }),
        ))
        .await
}

/// Asks to move the account to `new_email`: checks the password, mails a
/// confirmation link to the new address and a notice to the old one. The
/// account keeps its old address until the link is used. When another
/// account has the address, the answer is the same; that address gets a
/// mail saying so instead of a link.
#[tracing::instrument(skip_all)]
pub async fn change_email(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    outbox: &Outbox,
    actor: &Actor,
    password: &str,
    new_email: &str,
) -> AppResult<String> {
    let person = actor.require_person()?;
    let new_email = Email::parse("newEmail", new_email)?;
    let user = user::Entity::find_by_id(person.user_id)
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    // Checked before the write opens, so the slow hash holds no lock.
    if !auth.passwords.verify(password, &user.password_hash).await? {
        return Err(AppError::bad_input("password", "the password is wrong"));
    }
    if new_email.as_str() == user.email {
        return Err(AppError::bad_input(
            "newEmail",
            "this is already the account's address",
        ));
    }
    let mut write = Write::begin(db).await?.by(actor);
    let taken = user::Entity::find()
        .filter(user::Column::Email.eq(new_email.as_str()))
        .one(write.txn())
        .await?;
    if taken.is_some() {
        // No CONFLICT: that would tell which addresses have accounts. The
        // address's owner hears of it; nothing else changes.
        tracing::debug!(target: "orgql::auth", user_id = %user.id, "email change asked for a taken address");
        let mail = Mail::new(
            new_email.as_str(),
            "Someone tried to use your address on orgql",
            "Someone signed in to another orgql account asked to move that account to this email address. Your address already belongs to your own orgql account, so nothing changed.\n\nIf it was you, sign in to the account that has this address, or reset its password. Otherwise, ignore this email.\n".to_owned(),
        );
        write.send(outbox, mail).await?;
    } else {
        let token = one_time::issue(
            write.txn(),
            user.id,
            Purpose::ChangeEmail,
            Some(new_email.as_str()),
            auth.verification_ttl,
        )
        .await?;
        let mail = Mail::new(
            new_email.as_str(),
            "Confirm your new email address",
            format!(
                "Confirm {} as the new email address of your orgql account: {}\n\nThe change takes effect when you open the link. It works once and expires in {} hours.\n",
                new_email.as_str(),
                verify_url(outbox, &token),
                auth.verification_ttl.num_hours(),
            ),
        );
        write.send(outbox, mail).await?;
    }
    let notice = Mail::new(
        &user.email,
        "Your email address is being changed",
        format!(
            "Someone signed in to your orgql account asked to change its email address from {} to {}. The change takes effect only when the new address is confirmed.\n\nIf this was not you, change your password now.\n",
            user.email,
            new_email.as_str(),
        ),
    );
    write.send(outbox, notice).await?;
    write
        .commit(Entry::new(
            AuditAction::UserEmailChangeRequested,
            user.id,
            json!({ "from": user.email, "to": new_email.as_str() }),
        ))
        .await?;
    Ok(new_email.into_string())
}
