//! Accounts: sign-up, log-in (with its second factor when MFA is on, see
//! [`mfa`]), guests and their mailed links, passwords and proving an
//! address. The session a log-in ends in, and everything after it
//! (refresh, log-out, the active organization), is `domain::sessions`.
//!
//! Security rules enforced here: passwords are verified in constant work
//! whether or not the email exists; every failure is the same
//! UNAUTHENTICATED.

use chrono::Utc;
use entity::user;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::AuthConfig;
use crate::domain::audit::{AuditAction, AuditActor, Entry};
use crate::domain::authz::{Authentication, RequestMeta};
use crate::domain::bookkeeping;
use crate::domain::sessions::{self, IssuedTokens, SignInWrite};
use crate::domain::users::{self, Credential, NewUser};
use crate::domain::values::{self, Email};
use crate::domain::write::Write;
use crate::error::{AppError, AppResult};
use crate::mail::outbox::{Mail, Outbox};

mod guests;
pub mod lockout;
pub mod mfa;
mod mfa_lockout;
mod one_time;
mod passwords;
mod verification;

pub use guests::{
    SIGN_IN_TTL as GUEST_SIGN_IN_TTL, accept_invitation as accept_guest_invitation,
    convert as convert_guest, request_sign_in_link, sign_in_with_link,
};
pub use passwords::{change_password, request_password_reset, reset_password};
pub use verification::{change_email, resend_verification_email, verify_email};

/// What log-in needs beyond the credentials: where to send the lock-out
/// email, and when to lock.
pub struct LogInGuard<'a> {
    pub outbox: &'a crate::mail::Outbox,
    pub lockout: lockout::LockoutPolicy,
}

pub struct SignUp<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub name: &'a str,
}

/// Creates an account and mails a link that proves its address. The
/// account signs in only once the link is used ([`log_in`] refuses an
/// address nobody proved), so the answer cannot tell whether the address
/// was free (security review L4): for a taken address nothing is stored,
/// the address's owner is mailed that someone tried, and the account
/// returned is one shaped the same that was never stored
/// ([`users::unstored`]).
#[tracing::instrument(skip_all)]
pub async fn sign_up(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    outbox: &Outbox,
    meta: &RequestMeta,
    input: SignUp<'_>,
) -> AppResult<user::Model> {
    let email = Email::parse("email", input.email)?;
    let name = values::text("name", input.name, 200)?;
    values::password("password", input.password, &[email.as_str(), &name])?;
    let account = NewUser {
        email: email.as_str(),
        name,
        credential: Credential::Password(auth.passwords.hash(input.password).await?),
        verified: false,
    };

    let owner = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .filter(user::Column::IsGuest.eq(false))
        .one(db)
        .await?;
    if let Some(owner) = owner {
        tell_owner_of_sign_up(db, outbox, &owner).await?;
        return Ok(users::unstored(account));
    }
    let write = Write::begin(db).await?;
    // A guest account's address: the owner claims it by a mailed link
    // (security review L2, `guests::claim_for_sign_up`).
    let Some(write) = guests::claim_for_sign_up(write, outbox, meta, &email).await? else {
        return Ok(users::unstored(account));
    };
    let user = users::create(write.txn(), account).await?;
    let entry = Entry::new(
        AuditAction::UserSignedUp,
        user.id,
        json!({ "email": user.email, "name": user.name }),
    );
    let mail = verification::issue_link(write.txn(), auth, outbox, &user).await?;
    let mut write = write.attributed_to(AuditActor::account(&user), meta);
    write.send(outbox, mail).await?;
    write.commit(entry).await?;
    Ok(user)
}

/// Mails the owner of an address someone tried to sign up with; nothing
/// else changes. A reset proves the mailbox, so the mail points there (not
/// to a verification link, which would vouch for a password a stranger
/// may have chosen).
async fn tell_owner_of_sign_up(
    db: &DatabaseConnection,
    outbox: &Outbox,
    owner: &user::Model,
) -> AppResult<()> {
    tracing::debug!(target: "orgql::auth", user_id = %owner.id, "sign-up asked for a taken address");
    let mail = Mail::new(
        &owner.email,
        "Someone tried to sign up with your address",
        format!(
            "Someone tried to create an orgql account with this address, which already has one. Nothing changed.\n\nIf it was you, sign in, or reset your password at {}/reset-password if you forgot it (a reset also confirms your address). Otherwise, ignore this email.\n",
            outbox.public_url,
        ),
    );
    bookkeeping::send_mail(db, outbox, mail).await
}

/// What a right password gets: a session, or, with MFA on, a challenge to
/// answer with a code (`mfa::verify`).
#[derive(Debug)]
pub enum LogIn {
    Session(Box<IssuedTokens>),
    MfaChallenge {
        user: user::Model,
        challenge: mfa::Challenge,
    },
}

/// Signs in with email and password, restoring the organization the user
/// last switched to while they are still a member of it. With MFA on, the
/// password earns only a short-lived challenge.
#[tracing::instrument(skip_all)]
pub async fn log_in(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    guard: LogInGuard<'_>,
    meta: &RequestMeta,
    email: &str,
    password: &str,
) -> AppResult<LogIn> {
    let email = email.trim().to_lowercase();
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await?;
    // Wrong passwords count per client address first (a stranger's guesses
    // lock only the stranger out), see `lockout`.
    let address = lockout::address_key(meta.client_ip);
    // A guest has no password: the same work and answer as a wrong one.
    // An unknown address reads a (missing) standing too, so that the reads
    // before the hash are the same (issue #22, L4).
    let Some(user) = found.filter(|u| !u.is_guest) else {
        lockout::standing(db, Uuid::nil(), &address).await?;
        auth.passwords.verify_dummy(password).await?;
        return Err(AppError::Unauthenticated);
    };
    let standing = lockout::standing(db, user.id, &address).await?;
    if standing.refuses() {
        // The same work and the same answer as a wrong password.
        auth.passwords.verify_dummy(password).await?;
        tracing::debug!(target: "orgql::auth", user_id = %user.id, ?standing, "log-in refused: locked out");
        return Err(AppError::Unauthenticated);
    }
    if !auth.passwords.verify(password, &user.password_hash).await? {
        lockout::record_failure(db, guard.outbox, guard.lockout, &user, &address, meta).await?;
        return Err(AppError::Unauthenticated);
    }
    // An address nobody proved signs nothing in, with the same answer as
    // a wrong password: otherwise signing up and then in would tell
    // whether the sign-up found the address free (security review L4).
    if user.email_verified_at.is_none() {
        tracing::debug!(target: "orgql::auth", user_id = %user.id, "log-in refused: address not verified");
        return Err(AppError::Unauthenticated);
    }
    // With MFA on, the address becomes a known one only after the code.
    lockout::record_success(db, user.id, &address, !user.mfa_enabled).await?;

    let write = Write::begin(db).await?;
    if user.mfa_enabled {
        let challenge = mfa::challenge(write.txn(), &user).await?;
        let entry = Entry::new(AuditAction::UserMfaChallenged, user.id, json!({}));
        write
            .attributed_to(AuditActor::account(&user), meta)
            .commit(entry)
            .await?;
        return Ok(LogIn::MfaChallenge { user, challenge });
    }
    let entry = Entry::new(AuditAction::UserLoggedIn, user.id, json!({}));
    let issued = sessions::sign_in(
        SignInWrite::Account(write),
        auth,
        meta,
        user,
        Authentication::Password,
        |_| entry,
    )
    .await?;
    let actor = crate::domain::domain_joins::actor_for(
        &issued.user,
        issued.session_id,
        meta,
        Authentication::Password,
    );
    crate::domain::domain_joins::join_automatically(db, &actor).await;
    Ok(LogIn::Session(Box::new(issued)))
}

/// `orgql admin grant EMAIL`: makes an account a platform administrator.
pub async fn grant_platform_admin(db: &DatabaseConnection, email: &str) -> AppResult<user::Model> {
    let email = Email::parse("email", email)?;
    let write = Write::begin(db).await?;
    let user = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(write.txn())
        .await?
        .ok_or(AppError::NotFound)?;
    let mut active: user::ActiveModel = user.into();
    active.is_platform_admin = Set(true);
    active.updated_at = Set(Utc::now());
    let user = active.update(write.txn()).await?;
    write
        .attributed_to(AuditActor::system(), &RequestMeta::default())
        .commit(Entry::new(
            AuditAction::UserPlatformAdminGranted,
            user.id,
            json!({ "email": user.email }),
        ))
        .await?;
    Ok(user)
}
