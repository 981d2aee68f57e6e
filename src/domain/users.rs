//! User rows: the one place an account is made (sign-up, a guest's first
//! link or invitation, an account single sign-on provisions) and where its
//! address is recorded as proven.
//!
//! Security rules enforced here: one account per email address, the
//! database's unique index deciding a race (CONFLICT on `email`, for every
//! way in); an account without a password stores a marker in
//! `password_hash` that no password verifies against (see
//! [`GUEST_NO_PASSWORD`], [`SSO_NO_PASSWORD`]).

use chrono::{DateTime, SubsecRound, Utc};
use entity::user;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::domain::ids::new_id;
use crate::error::{AppError, AppResult, Constraint, ResultExt};

/// One account per email address.
const EMAIL_UNIQUE: Constraint = Constraint {
    name: "uq_users_email",
    sqlite: "users.email",
};

/// What a guest account's `password_hash` holds: a guest signs in by links
/// mailed to its address, never with a password. It is not a PHC string
/// (those begin with `$`), so `auth::PasswordHasher::verify` cannot parse
/// it and no password ever matches it; a guest that sets a password
/// becomes a full account (`accounts::convert_guest`).
pub const GUEST_NO_PASSWORD: &str = "!guest";

/// What `password_hash` holds for an account single sign-on made (JIT):
/// it signs in through its organization's identity provider, or sets a
/// password with a reset link. Not a PHC string either, so no password
/// ever matches it.
pub const SSO_NO_PASSWORD: &str = "!sso";

/// How a new account proves who it is when it signs in.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A password, as its PHC hash (`auth::PasswordHasher::hash`).
    Password(String),
    /// Links mailed to its address: the account is a guest
    /// (`users.is_guest`), stored with [`GUEST_NO_PASSWORD`].
    GuestLinks,
    /// Its organization's identity provider: an account single sign-on
    /// provisioned, stored with [`SSO_NO_PASSWORD`].
    IdentityProvider,
}

impl Credential {
    /// What `password_hash` stores.
    fn stored(self) -> String {
        match self {
            Self::Password(hash) => hash,
            Self::GuestLinks => GUEST_NO_PASSWORD.to_owned(),
            Self::IdentityProvider => SSO_NO_PASSWORD.to_owned(),
        }
    }
}

/// An account to make.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// The address as the caller established it: parsed (`Email`), or
    /// asserted by an identity provider within a verified domain.
    pub email: &'a str,
    pub name: String,
    pub credential: Credential,
    /// Whether the address is proven already (the link that brought the
    /// person was mailed to it, or an identity provider vouched for it).
    pub verified: bool,
}

/// Makes the account. An address that has one already is CONFLICT on
/// `email`: callers look for the account first, so only a concurrent
/// request for the same address gets here.
pub async fn create<C: ConnectionTrait>(txn: &C, new: NewUser<'_>) -> AppResult<user::Model> {
    row(new)
        .into_active_model()
        .reset_all()
        .insert(txn)
        .await
        .on_unique(EMAIL_UNIQUE, || {
            AppError::taken(
                "email",
                "an account with this email was created meanwhile; try again",
            )
        })
}

/// The account [`create`] would make, made nowhere: what sign-up answers
/// for an address that has an account already, shaped like a new one (a
/// fresh id, the name given, nothing proven) so the answer tells nothing
/// (security review L4).
pub fn unstored(new: NewUser<'_>) -> user::Model {
    row(new)
}

/// The row for `new`, timestamped now.
fn row(new: NewUser<'_>) -> user::Model {
    let now = stored_now();
    user::Model {
        id: new_id(),
        email: new.email.to_owned(),
        name: new.name,
        is_guest: matches!(new.credential, Credential::GuestLinks),
        password_hash: new.credential.stored(),
        is_platform_admin: false,
        last_organization_id: None,
        mfa_enabled: false,
        email_verified_at: new.verified.then_some(now),
        created_at: now,
        updated_at: now,
    }
}

/// Now, to the microsecond both databases keep, so that a stored account
/// reads back as it was made and an [`unstored`] one looks the same.
fn stored_now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Records that `user_id`'s current address is proven (a verification
/// link, a password reset, an invitation's or a guest's own link all do
/// this). A no-op when it already was.
pub async fn mark_verified<C: ConnectionTrait>(txn: &C, user_id: Uuid) -> AppResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::EmailVerifiedAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(user_id))
        .filter(user::Column::EmailVerifiedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::PasswordHasher;

    #[tokio::test]
    async fn no_password_verifies_against_an_account_without_one() {
        let passwords = PasswordHasher::new(true, 1);
        for stored in [GUEST_NO_PASSWORD, SSO_NO_PASSWORD] {
            for tried in ["", stored, "!", "guest", "sso", "$argon2id$"] {
                assert!(
                    !passwords.verify(tried, stored).await.unwrap(),
                    "{tried:?} against {stored:?}"
                );
            }
        }
    }

    #[test]
    fn a_guest_is_made_by_its_credential_and_stores_no_password() {
        let guest = unstored(NewUser {
            email: "gus@example.com",
            name: "gus".to_owned(),
            credential: Credential::GuestLinks,
            verified: true,
        });
        assert!(guest.is_guest);
        assert_eq!(guest.password_hash, GUEST_NO_PASSWORD);
        assert!(guest.email_verified_at.is_some());
        let jit = unstored(NewUser {
            email: "ida@example.com",
            name: "Ida".to_owned(),
            credential: Credential::IdentityProvider,
            verified: true,
        });
        assert!(!jit.is_guest);
        assert_eq!(jit.password_hash, SSO_NO_PASSWORD);
    }
}
