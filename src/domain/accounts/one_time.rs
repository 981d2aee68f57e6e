//! One-time links mailed to a person: proving an address, confirming an
//! email change, resetting a password.
//!
//! Security rules enforced here: the secret is 256 random bits, mailed once
//! and stored only as its SHA-256; a link works for its purpose only,
//! before its expiry, and once (a conditional update, so of two concurrent
//! uses exactly one wins); a new link of a purpose supersedes the older
//! ones of the same account.

use chrono::{Duration, Utc};
use entity::account_token;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::auth::secrets;
use crate::domain::ids::new_id;
use crate::error::{AppError, AppResult};

/// What a link is for; stored as its name in snake case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Purpose {
    /// Proves that the account's own address reaches the person.
    VerifyEmail,
    /// Proves a new address and makes it the account's.
    ChangeEmail,
    /// Sets a new password.
    ResetPassword,
    /// Signs a guest in (issue #13).
    GuestSignIn,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The password-reset link's lifetime (issue #10: one hour).
pub const RESET_TTL: Duration = Duration::hours(1);

/// Creates a link for `user_id` and returns its secret (to be mailed, never
/// stored or logged). Earlier unused links of the same purpose stop working.
pub async fn issue<C: ConnectionTrait>(
    txn: &C,
    user_id: Uuid,
    purpose: Purpose,
    email: Option<&str>,
    ttl: Duration,
) -> AppResult<String> {
    issue_for_join(txn, user_id, purpose, email, ttl, None).await
}

/// Like [`issue`], for a guest sign-in link that also redeems a guest
/// link (`join_code_id`) when used.
pub async fn issue_for_join<C: ConnectionTrait>(
    txn: &C,
    user_id: Uuid,
    purpose: Purpose,
    email: Option<&str>,
    ttl: Duration,
    join_code_id: Option<Uuid>,
) -> AppResult<String> {
    let now = Utc::now();
    invalidate(txn, user_id, purpose).await?;
    let secret = secrets::generate();
    account_token::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user_id),
        purpose: Set(purpose.as_str().to_owned()),
        token_hash: Set(secrets::digest(&secret)),
        email: Set(email.map(str::to_owned)),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        used_at: Set(None),
        join_code_id: Set(join_code_id),
    }
    .insert(txn)
    .await?;
    Ok(secret)
}

/// Ends every unused link of `purpose` for the account.
pub async fn invalidate<C: ConnectionTrait>(
    txn: &C,
    user_id: Uuid,
    purpose: Purpose,
) -> AppResult<()> {
    account_token::Entity::update_many()
        .col_expr(account_token::Column::UsedAt, Expr::value(Utc::now()))
        .filter(account_token::Column::UserId.eq(user_id))
        .filter(account_token::Column::Purpose.eq(purpose.as_str()))
        .filter(account_token::Column::UsedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// The live link behind `secret`, without using it up. Unknown, used,
/// expired or of another purpose: one and the same refusal, naming `field`.
pub async fn find_live<C: ConnectionTrait>(
    db: &C,
    purpose: Purpose,
    secret: &str,
    field: &str,
) -> AppResult<account_token::Model> {
    let found = account_token::Entity::find()
        .filter(account_token::Column::TokenHash.eq(secrets::digest(secret)))
        .filter(account_token::Column::Purpose.eq(purpose.as_str()))
        .one(db)
        .await?;
    match found {
        Some(token) if token.used_at.is_none() && token.expires_at > Utc::now() => Ok(token),
        _ => Err(invalid(field)),
    }
}

/// Uses the link up; fails when a concurrent request used it first or it
/// expired meanwhile.
pub async fn consume<C: ConnectionTrait>(
    txn: &C,
    token: &account_token::Model,
    field: &str,
) -> AppResult<()> {
    let now = Utc::now();
    let won = account_token::Entity::update_many()
        .col_expr(account_token::Column::UsedAt, Expr::value(now))
        .filter(account_token::Column::Id.eq(token.id))
        .filter(account_token::Column::UsedAt.is_null())
        .filter(account_token::Column::ExpiresAt.gt(now))
        .exec(txn)
        .await?
        .rows_affected;
    if won == 1 {
        Ok(())
    } else {
        Err(invalid(field))
    }
}

fn invalid(field: &str) -> AppError {
    AppError::bad_input(field, "this link is invalid, already used or expired")
}

#[cfg(test)]
mod tests {
    use super::Purpose;

    /// The names are stored with each link: renaming a variant must not
    /// change them.
    #[test]
    fn purposes_keep_their_stored_names() {
        let names = [
            Purpose::VerifyEmail,
            Purpose::ChangeEmail,
            Purpose::ResetPassword,
            Purpose::GuestSignIn,
        ]
        .map(Purpose::as_str);
        assert_eq!(
            names,
            [
                "verify_email",
                "change_email",
                "reset_password",
                "guest_sign_in"
            ]
        );
    }
}
