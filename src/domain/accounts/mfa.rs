//! Multi-factor authentication with TOTP (RFC 6238): enrolling an
//! authenticator, turning MFA on and off, and the second step of signing in.
//!
//! Security rules enforced here:
//! - the TOTP secret is shown once, at enrollment, and kept sealed
//!   (`auth::sealing`); it never leaves the server again;
//! - a code works once: the last accepted time step is stored, and only a
//!   later step is accepted (RFC 6238 §5.2), with a conditional update so
//!   that two concurrent requests cannot both use one code;
//! - recovery codes (80 random bits each) are shown once, stored as
//!   SHA-256, and each works once;
//! - the challenge between password and code is random, stored hashed,
//!   short lived, single use, and dies after a few wrong codes;
//! - wrong codes also count against the account, across challenges: after
//!   ten in a row codes are refused for a while and the person is told
//!   (`mfa_lockout`, issue #22);
//! - every failure to sign in is the same UNAUTHENTICATED.
//!
//! One file of about 500 lines, on purpose: enrolling, confirming, the
//! sign-in challenge and disabling share the sealed secret, the code check
//! and the replay rule, and read best side by side.

use chrono::{DateTime, Duration, Utc};
use entity::{mfa_challenge, mfa_recovery_code, totp_authenticator, user};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;

use super::{LogInGuard, mfa_lockout};
use crate::auth::{AuthConfig, secrets, totp};
use crate::domain::audit::{AuditAction, AuditActor, Entry};
use crate::domain::authz::{Actor, Authentication, RequestMeta};
use crate::domain::ids::new_id;
use crate::domain::sessions::{self, IssuedTokens, SignInWrite};
use crate::domain::write::Write;
use crate::error::{AppError, AppResult};

/// How long a challenge may be answered: long enough to open an app and
/// type a code.
const CHALLENGE_TTL_MINUTES: i64 = 5;
/// Wrong codes after which a challenge dies (the person signs in again).
const MAX_FAILED_ATTEMPTS: i32 = 5;
/// Recovery codes issued when MFA is turned on.
const RECOVERY_CODES: usize = 10;
/// The issuer shown in authenticator apps.
const ISSUER: &str = "orgql";

/// What `logIn` returns instead of tokens when MFA is on.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// Shown once; only its hash is kept.
    pub secret: String,
    pub expires_at: DateTime<Utc>,
}

/// A new, unconfirmed authenticator: what the person's app needs.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// The shared secret, base32 (RFC 4648) as apps take it.
    pub secret: String,
    /// The `otpauth://totp/…` URI (Key URI Format) that QR codes carry.
    pub otpauth_uri: String,
    /// The URI as an SVG QR code.
    pub qr_code_svg: String,
}

/// Creates the challenge a person with MFA on gets from `logIn`.
pub(super) async fn challenge<C: ConnectionTrait>(
    txn: &C,
    user: &user::Model,
) -> AppResult<Challenge> {
    let secret = secrets::generate();
    let now = Utc::now();
    let expires_at = now + Duration::minutes(CHALLENGE_TTL_MINUTES);
    mfa_challenge::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user.id),
        secret_hash: Set(secrets::digest(&secret)),
        failed_attempts: Set(0),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(Challenge { secret, expires_at })
}

/// Starts enrolling a TOTP authenticator: a fresh secret, replacing any
/// enrollment not yet confirmed. CONFLICT while MFA is on (turn it off
/// first, so that a stolen session cannot swap the authenticator).
#[tracing::instrument(skip_all)]
pub async fn enroll(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    actor: &Actor,
) -> AppResult<Enrollment> {
    let person = actor.require_person()?;
    let write = Write::begin(db).await?;
    let existing = totp_authenticator::Entity::find_by_id(person.user_id)
        .one(write.txn())
        .await?;
    if existing.as_ref().is_some_and(|a| a.confirmed_at.is_some()) {
        return Err(AppError::conflict(
            "multi-factor authentication is on already: turn it off first to enroll a new authenticator",
        ));
    }
    totp_authenticator::Entity::delete_by_id(person.user_id)
        .exec(write.txn())
        .await?;
    let secret = totp::generate_secret();
    totp_authenticator::ActiveModel {
        user_id: Set(person.user_id),
        secret_encrypted: Set(auth.sealer.seal(&secret, person.user_id.as_bytes())?),
        confirmed_at: Set(None),
        last_used_step: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(write.txn())
    .await?;
    write
        .by(actor)
        .commit(Entry::new(
            AuditAction::UserTotpEnrolled,
            person.user_id,
            json!({}),
        ))
        .await?;
    let encoded = totp::encode_secret(&secret);
    let otpauth_uri = otpauth_uri(&encoded, &person.email);
    let qr_code_svg = qr_svg(&otpauth_uri)?;
    Ok(Enrollment {
        secret: encoded,
        otpauth_uri,
        qr_code_svg,
    })
}

/// Confirms the enrollment with a first code: MFA is on from now, and the
/// person gets their recovery codes, shown only here.
#[tracing::instrument(skip_all)]
pub async fn confirm(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    actor: &Actor,
    code: &str,
) -> AppResult<Vec<String>> {
    let person = actor.require_person()?;
    let write = Write::begin(db).await?;
    let pending = totp_authenticator::Entity::find_by_id(person.user_id)
        .one(write.txn())
        .await?;
    let pending = match pending {
        Some(a) if a.confirmed_at.is_none() => a,
        Some(_) => {
            return Err(AppError::conflict(
                "multi-factor authentication is on already",
            ));
        }
        None => {
            return Err(AppError::conflict(
                "no authenticator is being enrolled: call enrollTotp first",
            ));
        }
    };
    let secret = auth
        .sealer
        .open(&pending.secret_encrypted, person.user_id.as_bytes())?;
    let Some(step) = totp::matching_step(&secret, code, Utc::now().timestamp(), None) else {
        return Err(AppError::bad_input(
            "code",
            "this code is not right; check the time on your device",
        ));
    };
    let now = Utc::now();
    totp_authenticator::Entity::update_many()
        .col_expr(totp_authenticator::Column::ConfirmedAt, Expr::value(now))
        .col_expr(totp_authenticator::Column::LastUsedStep, Expr::value(step))
        .filter(totp_authenticator::Column::UserId.eq(person.user_id))
        .exec(write.txn())
        .await?;
    set_mfa_enabled(write.txn(), person.user_id, true).await?;
    let codes = replace_recovery_codes(write.txn(), person.user_id).await?;
    write
        .by(actor)
        .commit(Entry::new(
            AuditAction::UserMfaEnabled,
            person.user_id,
            json!({ "recoveryCodes": codes.len() }),
        ))
        .await?;
    Ok(codes)
}

/// What proves it is the person turning MFA off.
pub enum Proof<'a> {
    Password(&'a str),
    Code(&'a str),
}

/// Turns MFA off, on the strength of the password or a code (TOTP or
/// recovery): a session alone, possibly left open on a shared machine,
/// does not suffice. The authenticator and the recovery codes are deleted.
#[tracing::instrument(skip_all)]
pub async fn disable(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    guard: &LogInGuard<'_>,
    actor: &Actor,
    proof: Proof<'_>,
) -> AppResult<()> {
    let person = actor.require_person()?;
    let wrong_password = || AppError::bad_input("password", "this password is not right");
    // A password is checked before the write opens: the slow hash (and the
    // wait for a turn at hashing) then holds no connection, nor SQLite's
    // write lock.
    let checked_hash = match proof {
        Proof::Password(password) => {
            let user = user::Entity::find_by_id(person.user_id)
                .one(db)
                .await?
                .ok_or(AppError::Unauthenticated)?;
            if !user.mfa_enabled {
                return Err(AppError::conflict("multi-factor authentication is not on"));
            }
            if !auth.passwords.verify(password, &user.password_hash).await? {
                return Err(wrong_password());
            }
            Some(user.password_hash)
        }
        Proof::Code(_) => None,
    };
    let write = Write::begin(db).await?;
    let user = user::Entity::find_by_id(person.user_id)
        .one(write.txn())
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if !user.mfa_enabled {
        return Err(AppError::conflict("multi-factor authentication is not on"));
    }
    let method = match proof {
        Proof::Password(_) => {
            // A password changed meanwhile: the one checked is no longer
            // the account's.
            if checked_hash.as_deref() != Some(user.password_hash.as_str()) {
                return Err(wrong_password());
            }
            "password"
        }
        Proof::Code(code) => {
            if mfa_lockout::locked(write.txn(), user.id).await? {
                return Err(AppError::bad_input(
                    "code",
                    "too many wrong codes: codes are refused for a while (the password works)",
                ));
            }
            match use_code(write.txn(), auth, &user, code).await? {
                Some(method) => {
                    mfa_lockout::forget_wrong_codes(write.txn(), user.id).await?;
                    method
                }
                None => {
                    // The refusal rolls the write back; the wrong code
                    // still counts against the account.
                    drop(write);
                    mfa_lockout::count_wrong_code(db, user.id).await?;
                    mfa_lockout::lock_if_due(db, guard, &user, &actor.meta).await?;
                    return Err(AppError::bad_input("code", "this code is not right"));
                }
            }
        }
    };
    totp_authenticator::Entity::delete_by_id(user.id)
        .exec(write.txn())
        .await?;
    mfa_recovery_code::Entity::delete_many()
        .filter(mfa_recovery_code::Column::UserId.eq(user.id))
        .exec(write.txn())
        .await?;
    set_mfa_enabled(write.txn(), user.id, false).await?;
    write
        .by(actor)
        .commit(Entry::new(
            AuditAction::UserMfaDisabled,
            user.id,
            json!({ "proof": method }),
        ))
        .await?;
    Ok(())
}

/// Answers a `logIn` challenge with a TOTP code or a recovery code and
/// starts a session that records both factors (`amr` pwd, otp). A wrong
/// code counts against the challenge and against the account
/// (`mfa_lockout`); any failure is UNAUTHENTICATED.
#[tracing::instrument(skip_all)]
pub async fn verify(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    guard: &LogInGuard<'_>,
    meta: &RequestMeta,
    challenge: &str,
    code: &str,
) -> AppResult<IssuedTokens> {
    let write = Write::begin(db).await?;
    let now = Utc::now();
    let found = mfa_challenge::Entity::find()
        .filter(mfa_challenge::Column::SecretHash.eq(secrets::digest(challenge)))
        .find_also_related(user::Entity)
        .one(write.txn())
        .await?;
    let Some((challenge, Some(user))) = found else {
        tracing::debug!(target: "orgql::auth", "unknown MFA challenge");
        return Err(AppError::Unauthenticated);
    };
    if challenge.used_at.is_some()
        || challenge.expires_at <= now
        || challenge.failed_attempts >= MAX_FAILED_ATTEMPTS
        || !user.mfa_enabled
    {
        tracing::debug!(target: "orgql::auth", challenge_id = %challenge.id, "MFA challenge used, expired or exhausted");
        return Err(AppError::Unauthenticated);
    }
    if mfa_lockout::locked(write.txn(), user.id).await? {
        tracing::debug!(target: "orgql::auth", user_id = %user.id, "MFA refused: too many wrong codes");
        return Err(AppError::Unauthenticated);
    }
    let who = AuditActor::account(&user);
    let Some(method) = use_code(write.txn(), auth, &user, code).await? else {
        mfa_challenge::Entity::update_many()
            .col_expr(
                mfa_challenge::Column::FailedAttempts,
                Expr::col(mfa_challenge::Column::FailedAttempts).add(1),
            )
            .filter(mfa_challenge::Column::Id.eq(challenge.id))
            .exec(write.txn())
            .await?;
        mfa_lockout::count_wrong_code(write.txn(), user.id).await?;
        // The attempt is committed (with its entry) so that it counts.
        write
            .attributed_to(who, meta)
            .commit(Entry::new(AuditAction::UserMfaFailed, user.id, json!({})))
            .await?;
        mfa_lockout::lock_if_due(db, guard, &user, meta).await?;
        return Err(AppError::Unauthenticated);
    };
    // Conditional update: of two concurrent answers, one wins.
    let claimed = mfa_challenge::Entity::update_many()
        .col_expr(mfa_challenge::Column::UsedAt, Expr::value(now))
        .filter(mfa_challenge::Column::Id.eq(challenge.id))
        .filter(mfa_challenge::Column::UsedAt.is_null())
        .exec(write.txn())
        .await?
        .rows_affected;
    if claimed == 0 {
        return Err(AppError::Unauthenticated);
    }
    mfa_lockout::forget_wrong_codes(write.txn(), user.id).await?;
    let user_id = user.id;
    // Fully signed in: the account-wide lock spares this address from now.
    super::lockout::record_success(
        write.txn(),
        user_id,
        &super::lockout::address_key(meta.client_ip),
        true,
    )
    .await?;
    sessions::sign_in(
        SignInWrite::Account(write),
        auth,
        meta,
        user,
        Authentication::PasswordAndOtp,
        |issued| {
            Entry::new(
                AuditAction::UserMfaVerified,
                user_id,
                json!({ "method": method, "sessionId": issued.session_id }),
            )
        },
    )
    .await
}

/// Uses a code of the user's, if it is one: a TOTP code of a step later
/// than the last one used, or an unused recovery code. Returns which kind
/// it was; either is consumed.
async fn use_code<C: ConnectionTrait>(
    txn: &C,
    auth: &AuthConfig,
    user: &user::Model,
    code: &str,
) -> AppResult<Option<&'static str>> {
    let code = code.trim();
    if code.len() == totp::DIGITS as usize {
        let Some(authenticator) = totp_authenticator::Entity::find_by_id(user.id)
            .one(txn)
            .await?
            .filter(|a| a.confirmed_at.is_some())
        else {
            return Ok(None);
        };
        let secret = auth
            .sealer
            .open(&authenticator.secret_encrypted, user.id.as_bytes())?;
        let Some(step) = totp::matching_step(
            &secret,
            code,
            Utc::now().timestamp(),
            authenticator.last_used_step,
        ) else {
            return Ok(None);
        };
        // Conditional update, so that a code raced in twice works once.
        let advanced = totp_authenticator::Entity::update_many()
            .col_expr(totp_authenticator::Column::LastUsedStep, Expr::value(step))
            .filter(totp_authenticator::Column::UserId.eq(user.id))
            .filter(
                Condition::any()
                    .add(totp_authenticator::Column::LastUsedStep.is_null())
                    .add(totp_authenticator::Column::LastUsedStep.lt(step)),
            )
            .exec(txn)
            .await?
            .rows_affected;
        return Ok((advanced == 1).then_some("totp"));
    }
    let used = mfa_recovery_code::Entity::update_many()
        .col_expr(mfa_recovery_code::Column::UsedAt, Expr::value(Utc::now()))
        .filter(mfa_recovery_code::Column::UserId.eq(user.id))
        .filter(
            mfa_recovery_code::Column::CodeHash.eq(secrets::digest(&normalize_recovery_code(code))),
        )
        .filter(mfa_recovery_code::Column::UsedAt.is_null())
        .exec(txn)
        .await?
        .rows_affected;
    Ok((used == 1).then_some("recovery_code"))
}

async fn set_mfa_enabled<C: ConnectionTrait>(
    txn: &C,
    user_id: uuid::Uuid,
    enabled: bool,
) -> AppResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::MfaEnabled, Expr::value(enabled))
        .col_expr(user::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(user_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Deletes the user's recovery codes and issues ten new ones, each 16
/// base32 characters (80 bits, beyond offline guessing of its SHA-256)
/// grouped in fours for typing.
async fn replace_recovery_codes<C: ConnectionTrait>(
    txn: &C,
    user_id: uuid::Uuid,
) -> AppResult<Vec<String>> {
    mfa_recovery_code::Entity::delete_many()
        .filter(mfa_recovery_code::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    let now = Utc::now();
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let mut rows = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let raw = data_encoding::BASE32_NOPAD
            .encode(&totp::random_bytes(10))
            .to_lowercase();
        let shown = raw
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-");
        rows.push(mfa_recovery_code::ActiveModel {
            id: Set(new_id()),
            user_id: Set(user_id),
            code_hash: Set(secrets::digest(&raw)),
            created_at: Set(now),
            used_at: Set(None),
        });
        codes.push(shown);
    }
    mfa_recovery_code::Entity::insert_many(rows)
        .exec(txn)
        .await?;
    Ok(codes)
}

/// A recovery code as stored: lower case, without the dashes and spaces
/// people type.
fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The Key URI Format authenticator apps read:
/// `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
fn otpauth_uri(secret: &str, account: &str) -> String {
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={digits}&period={period}",
        issuer = percent_encode(ISSUER),
        account = percent_encode(account),
        digits = totp::DIGITS,
        period = totp::STEP_SECS,
    )
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `@`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn qr_svg(uri: &str) -> AppResult<String> {
    let code = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| AppError::internal(format!("QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovery_code_is_read_whatever_its_case_and_dashes() {
        assert_eq!(
            normalize_recovery_code(" AbCd-efgh-IJKL-mnop "),
            "abcdefghijklmnop"
        );
    }

    #[test]
    fn the_otpauth_uri_encodes_the_account() {
        let uri = otpauth_uri("JBSWY3DPEHPK3PXP", "ann+mfa@acme.example");
        assert_eq!(
            uri,
            "otpauth://totp/orgql:ann%2Bmfa@acme.example?secret=JBSWY3DPEHPK3PXP&issuer=orgql&algorithm=SHA1&digits=6&period=30"
        );
    }
}
