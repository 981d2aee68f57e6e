//! Brute-force limits on the operations that check a credential or spend a
//! secret: per client network and per account, counted per operation
//! executed (aliases and batch entries each count, since every resolver
//! asks). Over the limit: RATE_LIMITED with `retryAfter` seconds.
//!
//! - A client network is an IPv4 address, or an IPv6 address's /64: a
//!   host picks its own interface identifier within its /64 (RFC 4291
//!   §2.5.1, privacy addresses of RFC 8981), so one machine holds 2^64
//!   addresses. An IPv4-mapped IPv6 address counts as its IPv4 address.
//! - An account is an email address or a user id, compared
//!   case-insensitively.
//! - On PostgreSQL the budgets live in the database
//!   (`domain::rate_limits`), shared by every instance on it: two
//!   instances give one budget. On SQLite they live in this process
//!   (GCRA of the `governor` crate), as one process serves the file.
//!
//! Both keep the same rule: `n` per window, refilled evenly, all of it
//! available at once; a refused operation spends nothing.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sea_orm::{DatabaseConnection, DbBackend};
use sha2::{Digest, Sha256};

use crate::domain::rate_limits::{self as shared, Spend};
use crate::error::AppError;

/// An operation that is limited, each with its own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limited {
    SignUp,
    LogIn,
    Refresh,
    JoinCode,
    Invitation,
    PasswordReset,
    EmailVerification,
    MfaVerification,
    /// Trading a single sign-on code for a session.
    SsoCode,
    /// Asking for and using a guest's mailed sign-in link.
    GuestSignIn,
    /// A SCIM directory's request (its own budget: `http::scim`).
    ScimRequest,
}

/// Where the budgets are kept for one check.
pub enum Budgets<'a> {
    /// In this process: SQLite.
    InProcess,
    /// In the database, shared by every instance on it: PostgreSQL.
    Shared(&'a DatabaseConnection),
}

impl<'a> Budgets<'a> {
    /// The budgets that go with `db`'s backend.
    pub fn of(db: &'a DatabaseConnection) -> Self {
        match db.get_database_backend() {
            DbBackend::Postgres => Budgets::Shared(db),
            _ => Budgets::InProcess,
        }
    }
}

/// The network a client address is limited as: an IPv4 address itself,
/// an IPv6 address's /64.
pub fn client_network(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
    }
}

/// The limits of one server.
pub struct RateLimits {
    per_address: NonZeroU32,
    per_account: NonZeroU32,
    window: Duration,
    by_address: DefaultKeyedRateLimiter<(Limited, IpAddr)>,
    by_account: DefaultKeyedRateLimiter<(Limited, String)>,
    checks: AtomicU64,
    refused: AtomicU64,
}

impl RateLimits {
    /// `per_address` and `per_account` operations per `window`, each,
    /// with the whole window's budget available as a burst.
    pub fn new(per_address: u32, per_account: u32, window: Duration) -> Self {
        let per_address = NonZeroU32::new(per_address).unwrap_or(NonZeroU32::MIN);
        let per_account = NonZeroU32::new(per_account).unwrap_or(NonZeroU32::MIN);
        let quota = |n: NonZeroU32| {
            Quota::with_period(window / n.get())
                .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
                .allow_burst(n)
        };
        Self {
            per_address,
            per_account,
            window,
            by_address: RateLimiter::keyed(quota(per_address)),
            by_account: RateLimiter::keyed(quota(per_account)),
            checks: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// Counts one `operation` from `address` (its network) for `account`
    /// (an email or a user id; compared case-insensitively), or refuses
    /// it. On shared budgets this is one statement.
    pub async fn check(
        &self,
        budgets: Budgets<'_>,
        operation: Limited,
        address: Option<IpAddr>,
        account: Option<&str>,
    ) -> Result<(), AppError> {
        let network = address.map(client_network);
        let account = account.map(|a| a.trim().to_lowercase());
        let wait = match budgets {
            Budgets::InProcess => self.spend_in_process(operation, network, account),
            Budgets::Shared(db) => {
                let mut spends = Vec::with_capacity(2);
                if let Some(network) = network {
                    spends.push(Spend {
                        key: key(operation, "network", &network.to_string()),
                        refill: self.window / self.per_address.get(),
                    });
                }
                if let Some(account) = &account {
                    spends.push(Spend {
                        key: key(operation, "account", account),
                        refill: self.window / self.per_account.get(),
                    });
                }
                shared::spend(db, &spends, self.window).await?
            }
        };
        match wait {
            None => Ok(()),
            Some(wait) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                tracing::info!(target: "orgql::rate_limit", ?operation, client_network = ?network, "rate limited");
                Err(AppError::RateLimited {
                    retry_after_secs: wait.as_secs() + 1,
                })
            }
        }
    }

    /// Spends from this process's budgets; how long to wait if refused.
    fn spend_in_process(
        &self,
        operation: Limited,
        network: Option<IpAddr>,
        account: Option<String>,
    ) -> Option<Duration> {
        // Forget keys that are back to a full budget now and then, so the
        // maps stay as small as the recent traffic.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.by_address.retain_recent();
            self.by_account.retain_recent();
        }
        let now = DefaultClock::default().now();
        let mut wait = None;
        if let Some(network) = network
            && let Err(not_until) = self.by_address.check_key(&(operation, network))
        {
            wait = Some(not_until.wait_time_from(now));
        }
        if let Some(account) = account
            && let Err(not_until) = self.by_account.check_key(&(operation, account))
        {
            wait = wait.max(Some(not_until.wait_time_from(now)));
        }
        wait
    }

    /// How many operations were refused since start-up (for metrics).
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// A shared budget's key: a hash, so that the table holds no address or
/// email, and no client picks a key's length.
fn key(operation: Limited, scope: &str, value: &str) -> String {
    let digest = Sha256::digest(format!("{operation:?}|{scope}|{value}"));
    hex::encode(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn check(
        limits: &RateLimits,
        operation: Limited,
        address: Option<IpAddr>,
        account: Option<&str>,
    ) -> Result<(), AppError> {
        limits
            .check(Budgets::InProcess, operation, address, account)
            .await
    }

    #[tokio::test]
    async fn an_address_is_refused_past_its_budget_and_others_are_not() {
        let limits = RateLimits::new(3, 100, Duration::from_secs(60));
        let attacker: IpAddr = "203.0.113.9".parse().unwrap();
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        for _ in 0..3 {
            assert!(
                check(&limits, Limited::LogIn, Some(attacker), None)
                    .await
                    .is_ok()
            );
        }
        match check(&limits, Limited::LogIn, Some(attacker), None).await {
            Err(AppError::RateLimited { retry_after_secs }) => {
                assert!((1..=61).contains(&retry_after_secs))
            }
            other => panic!("{other:?}"),
        }
        assert!(
            check(&limits, Limited::LogIn, Some(other), None)
                .await
                .is_ok()
        );
        // Each operation has its own budget.
        assert!(
            check(&limits, Limited::SignUp, Some(attacker), None)
                .await
                .is_ok()
        );
        assert_eq!(limits.refused(), 1);
    }

    #[tokio::test]
    async fn an_account_is_limited_from_any_address_and_case_does_not_matter() {
        let limits = RateLimits::new(100, 2, Duration::from_secs(60));
        for n in 0..2u8 {
            let address = IpAddr::from([10, 0, 0, n]);
            assert!(
                check(
                    &limits,
                    Limited::LogIn,
                    Some(address),
                    Some("Ann@Example.com")
                )
                .await
                .is_ok()
            );
        }
        let fresh = IpAddr::from([10, 0, 0, 9]);
        assert!(
            check(
                &limits,
                Limited::LogIn,
                Some(fresh),
                Some("ann@example.com")
            )
            .await
            .is_err()
        );
    }

    #[test]
    fn an_ipv6_address_counts_as_its_64_and_a_mapped_ipv4_as_itself() {
        let network = |a: &str| client_network(a.parse().unwrap()).to_string();
        assert_eq!(network("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::");
        assert_eq!(network("2001:db8:1:2:ffff:1:2:3"), "2001:db8:1:2::");
        assert_ne!(network("2001:db8:1:3::1"), "2001:db8:1:2::");
        assert_eq!(network("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(network("203.0.113.9"), "203.0.113.9");
        assert_ne!(network("203.0.113.10"), "203.0.113.9");
    }
}
