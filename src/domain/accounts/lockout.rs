//! Lock-out after repeated wrong passwords (issue #10), built so that a
//! stranger cannot use it to keep a person out (issue #22, M1).
//!
//! What this module enforces:
//! - wrong passwords are counted per account *and client address* (an IPv4
//!   address, or the /64 of an IPv6 address, since one host holds a whole
//!   /64): after `threshold` in a row from one address, log-in to that
//!   account from that address is refused for `duration`. Other addresses
//!   are not affected;
//! - only when [`LOCKED_ADDRESSES_FOR_ACCOUNT_LOCK`] addresses are locked
//!   out of one account at once (a guessing attack spread over many
//!   addresses) does the account-wide lock engage, and it spares the
//!   addresses the account has signed in from before (a known device);
//! - while locked, even the right password gets the same UNAUTHENTICATED
//!   as a wrong one, so a lock tells an attacker nothing about whether the
//!   account exists;
//! - the person is told by email when the first address locks and when the
//!   account-wide lock engages (not at every address, so that a spread
//!   attack cannot flood the mailbox);
//! - a password reset, which proves the mailbox, lifts every lock
//!   ([`clear`]).
//!
//! The counts live in the database, so they hold across instances; the
//! rate limits (`graphql::rate_limits`) slow the guessing down before it
//! gets this far. Sessions already open (refresh tokens) are never touched.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use entity::{account_lockout, sign_in_address, user};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use serde_json::json;
use uuid::Uuid;

use crate::domain::audit::{AuditAction, AuditActor, Entry};
use crate::domain::authz::RequestMeta;
use crate::domain::write::Write;
use crate::error::AppResult;
use crate::mail::outbox::{Mail, Outbox};

/// How many addresses must be locked out of one account at the same time
/// before the account itself locks (for addresses it never signed in
/// from). One address can hold only one lock at a time, so one attacker
/// address never gets there, however long it keeps guessing.
pub const LOCKED_ADDRESSES_FOR_ACCOUNT_LOCK: u64 = 10;

/// When an address (and, spread over many, an account) locks, and for how
/// long.
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    /// Wrong passwords in a row from one address.
    pub threshold: u32,
    pub duration: Duration,
}

/// The client address as the lock-out counts it: an IPv4 address as it
/// is, an IPv6 address by its /64 (a host gets a whole /64 and picks any
/// address in it), `unknown` when the request's address could not be read.
pub fn address_key(client_ip: Option<IpAddr>) -> String {
    match client_ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{prefix}/64")
        }
        None => "unknown".to_owned(),
    }
}

/// Where an account stands, seen from one client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// Wrong passwords from this address locked it out of the account.
    pub address_locked: bool,
    /// Wrong passwords from many addresses locked the account.
    pub account_locked: bool,
    /// The account has signed in from this address before: the
    /// account-wide lock does not apply to it.
    pub known_address: bool,
}

impl Standing {
    /// Whether log-in from this address is refused for now.
    pub fn refuses(&self) -> bool {
        self.address_locked || (self.account_locked && !self.known_address)
    }
}

fn in_force(until: Option<DateTime<Utc>>) -> bool {
    until.is_some_and(|until| until > Utc::now())
}

pub async fn standing<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    address: &str,
) -> AppResult<Standing> {
    let account = account_lockout::Entity::find_by_id(user_id).one(db).await?;
    let seen = sign_in_address::Entity::find_by_id((user_id, address.to_owned()))
        .one(db)
        .await?;
    Ok(Standing {
        address_locked: seen.as_ref().is_some_and(|s| in_force(s.locked_until)),
        account_locked: account.is_some_and(|a| in_force(a.locked_until)),
        known_address: seen.is_some_and(|s| s.signed_in_at.is_some()),
    })
}

/// Counts a wrong password from `address` (one atomic upsert); at the
/// threshold, locks the address out of the account, and when enough
/// addresses are locked at once, the account. Each lock is written once,
/// however many failures race to it, with its audit entry; the person is
/// mailed at the first address lock and at the account lock.
pub async fn record_failure(
    db: &DatabaseConnection,
    outbox: &Outbox,
    policy: LockoutPolicy,
    user: &user::Model,
    address: &str,
    meta: &RequestMeta,
) -> AppResult<()> {
    let now = Utc::now();
    sign_in_address::Entity::insert(sign_in_address::ActiveModel {
        user_id: Set(user.id),
        address: Set(address.to_owned()),
        failed_attempts: Set(1),
        locked_until: Set(None),
        signed_in_at: Set(None),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            sign_in_address::Column::UserId,
            sign_in_address::Column::Address,
        ])
        .value(
            sign_in_address::Column::FailedAttempts,
            Expr::col((
                sign_in_address::Entity,
                sign_in_address::Column::FailedAttempts,
            ))
            .add(1),
        )
        .value(sign_in_address::Column::UpdatedAt, Expr::value(now))
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;

    let mut write = Write::begin(db)
        .await?
        .attributed_to(AuditActor::system(), meta);
    let until = now + policy.duration;
    let locked = sign_in_address::Entity::update_many()
        .col_expr(sign_in_address::Column::LockedUntil, Expr::value(until))
        .col_expr(sign_in_address::Column::FailedAttempts, Expr::value(0))
        .filter(sign_in_address::Column::UserId.eq(user.id))
        .filter(sign_in_address::Column::Address.eq(address))
        .filter(sign_in_address::Column::FailedAttempts.gte(policy.threshold as i32))
        .exec(write.txn())
        .await?
        .rows_affected;
    if locked == 0 {
        return Ok(());
    }
    let locked_addresses = sign_in_address::Entity::find()
        .filter(sign_in_address::Column::UserId.eq(user.id))
        .filter(sign_in_address::Column::LockedUntil.gt(now))
        .count(write.txn())
        .await?;
    let account_locked = locked_addresses >= LOCKED_ADDRESSES_FOR_ACCOUNT_LOCK
        && lock_account(write.txn(), user.id, until, locked_addresses).await?;
    if account_locked {
        tracing::warn!(target: "orgql::auth", user_id = %user.id, "account locked after wrong passwords from many addresses");
        let mail = Mail::new(
            &user.email,
            "Your orgql account is locked for a while",
            format!(
                "Wrong passwords for your orgql account came from {locked_addresses} \
                 different places, so until {} (UTC) it refuses to sign in from anywhere \
                 you have not signed in from before.\n\n\
                 Where you have signed in before, you can still sign in. Resetting your \
                 password lifts the lock. Your account is safe as long as nobody knows \
                 your password.\n",
                until.format("%Y-%m-%d %H:%M"),
            ),
        );
        write.send(outbox, mail).await?;
    } else if locked_addresses == 1 {
        tracing::info!(target: "orgql::auth", user_id = %user.id, "address locked out of an account after repeated wrong passwords");
        let mail = Mail::new(
            &user.email,
            "Sign-in to your orgql account is locked from one address",
            format!(
                "Someone entered a wrong password for your orgql account {} times in a row \
                 from one address ({address}), so sign-in from there is refused until {} (UTC). \
                 Anywhere else, you can sign in as usual.\n\n\
                 If it was you, wait, or reset your password (that lifts the lock). If it was \
                 not you, nothing more is needed: your account is safe as long as nobody \
                 knows your password.\n",
                policy.threshold,
                until.format("%Y-%m-%d %H:%M"),
            ),
        );
        write.send(outbox, mail).await?;
    }
    let scope = if account_locked { "account" } else { "address" };
    write
        .commit(Entry::new(
            AuditAction::UserLockedOut,
            user.id,
            json!({
                "scope": scope,
                "failedAttempts": policy.threshold,
                "lockedAddresses": locked_addresses,
                "lockedUntil": until,
            }),
        ))
        .await
}

/// Locks the account for unknown addresses until `until`, unless a lock is
/// already in force. Returns whether this call locked it.
async fn lock_account<C: ConnectionTrait>(
    txn: &C,
    user_id: Uuid,
    until: DateTime<Utc>,
    locked_addresses: u64,
) -> AppResult<bool> {
    let now = Utc::now();
    let attempts = i32::try_from(locked_addresses).unwrap_or(i32::MAX);
    let existing = account_lockout::Entity::find_by_id(user_id)
        .one(txn)
        .await?;
    match existing {
        Some(row) if in_force(row.locked_until) => Ok(false),
        Some(_) => {
            account_lockout::Entity::update_many()
                .col_expr(account_lockout::Column::LockedUntil, Expr::value(until))
                .col_expr(
                    account_lockout::Column::FailedAttempts,
                    Expr::value(attempts),
                )
                .col_expr(account_lockout::Column::UpdatedAt, Expr::value(now))
                .filter(account_lockout::Column::UserId.eq(user_id))
                .exec(txn)
                .await?;
            Ok(true)
        }
        None => {
            account_lockout::Entity::insert(account_lockout::ActiveModel {
                user_id: Set(user_id),
                failed_attempts: Set(attempts),
                locked_until: Set(Some(until)),
                updated_at: Set(now),
            })
            .exec_without_returning(txn)
            .await?;
            Ok(true)
        }
    }
}

/// The right password from `address`: forgets its wrong passwords and,
/// once the person is fully signed in (`signed_in`: after the second
/// factor, when MFA is on), remembers the address as one the account-wide
/// lock spares.
pub async fn record_success<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    address: &str,
    signed_in: bool,
) -> AppResult<()> {
    let now = Utc::now();
    let mut on_conflict = OnConflict::columns([
        sign_in_address::Column::UserId,
        sign_in_address::Column::Address,
    ]);
    on_conflict
        .value(sign_in_address::Column::FailedAttempts, Expr::value(0))
        .value(sign_in_address::Column::UpdatedAt, Expr::value(now));
    if signed_in {
        on_conflict.value(sign_in_address::Column::SignedInAt, Expr::value(now));
    }
    sign_in_address::Entity::insert(sign_in_address::ActiveModel {
        user_id: Set(user_id),
        address: Set(address.to_owned()),
        failed_attempts: Set(0),
        locked_until: Set(None),
        signed_in_at: Set(signed_in.then_some(now)),
        updated_at: Set(now),
    })
    .on_conflict(on_conflict.to_owned())
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Lifts every lock of the account and forgets its wrong passwords (the
/// known addresses stay known): a password reset proved the mailbox.
pub async fn clear<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<()> {
    account_lockout::Entity::delete_by_id(user_id)
        .exec(db)
        .await?;
    sign_in_address::Entity::delete_many()
        .filter(sign_in_address::Column::UserId.eq(user_id))
        .filter(sign_in_address::Column::SignedInAt.is_null())
        .exec(db)
        .await?;
    sign_in_address::Entity::update_many()
        .col_expr(sign_in_address::Column::FailedAttempts, Expr::value(0))
        .col_expr(
            sign_in_address::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(sign_in_address::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_address_counts_by_its_64() {
        let a = address_key(Some("2001:db8:1:2:aaaa::1".parse().unwrap()));
        let b = address_key(Some("2001:db8:1:2:bbbb::9".parse().unwrap()));
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, b);
        assert_ne!(a, address_key(Some("2001:db8:1:3::1".parse().unwrap())));
    }

    #[test]
    fn an_ipv4_address_counts_by_itself_mapped_or_not() {
        assert_eq!(
            address_key(Some("::ffff:198.51.100.7".parse().unwrap())),
            "198.51.100.7"
        );
        assert_ne!(
            address_key(Some("198.51.100.7".parse().unwrap())),
            address_key(Some("198.51.100.8".parse().unwrap()))
        );
        assert_eq!(address_key(None), "unknown");
    }

    #[test]
    fn the_account_lock_spares_a_known_address_but_an_address_lock_does_not() {
        let locked_account = Standing {
            address_locked: false,
            account_locked: true,
            known_address: true,
        };
        assert!(!locked_account.refuses());
        assert!(
            Standing {
                known_address: false,
                ..locked_account
            }
            .refuses()
        );
        assert!(
            Standing {
                address_locked: true,
                ..locked_account
            }
            .refuses()
        );
    }
}
