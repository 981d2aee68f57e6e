//! Brute-force limits on the operations that check a credential or spend a
//! secret: per client network and per account, counted per operation
//! executed (aliases and batch entries each count, since every resolver
//! asks), with the GCRA limiter of the `governor` crate. Over the limit:
//! RATE_LIMITED with `retryAfter` seconds.
//!
//! A client network is an IPv4 address, or an IPv6 address's /64 (issue
//! #22, L5): a host picks its own interface identifier within its /64
//! (RFC 4291 §2.5.1; temporary addresses, RFC 8981), so one machine may
//! hold 2^64 addresses. An IPv4-mapped IPv6 address counts as its IPv4
//! address.
//!
//! The counts live in this process: each instance limits what reaches it.
//! What must hold across instances (an account locked after repeated wrong
//! passwords) is stored in the database (`domain::accounts`).

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

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

/// The limiters of one server.
pub struct RateLimits {
    by_address: DefaultKeyedRateLimiter<(Limited, IpAddr)>,
    by_account: DefaultKeyedRateLimiter<(Limited, String)>,
    checks: AtomicU64,
    refused: AtomicU64,
}

impl RateLimits {
    /// `per_address` and `per_account` operations per `window`, each,
    /// with the whole window's budget available as a burst.
    pub fn new(per_address: u32, per_account: u32, window: Duration) -> Self {
        let quota = |n: u32| {
            let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
            Quota::with_period(window / n.get())
                .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
                .allow_burst(n)
        };
        Self {
            by_address: RateLimiter::keyed(quota(per_address)),
            by_account: RateLimiter::keyed(quota(per_account)),
            checks: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// Counts one `operation` from `address` (its network, see
    /// [`client_network`]) for `account` (an email or a user id; compared
    /// case-insensitively), or refuses it.
    pub fn check(
        &self,
        operation: Limited,
        address: Option<IpAddr>,
        account: Option<&str>,
    ) -> Result<(), AppError> {
        // Forget keys that are back to a full budget now and then, so the
        // maps stay as small as the recent traffic.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.by_address.retain_recent();
            self.by_account.retain_recent();
        }
        let now = DefaultClock::default().now();
        let mut wait = None;
        if let Some(address) = address
            && let Err(not_until) = self
                .by_address
                .check_key(&(operation, client_network(address)))
        {
            wait = Some(not_until.wait_time_from(now));
        }
        if let Some(account) = account
            && let Err(not_until) = self
                .by_account
                .check_key(&(operation, account.trim().to_lowercase()))
        {
            wait = wait.max(Some(not_until.wait_time_from(now)));
        }
        match wait {
            None => Ok(()),
            Some(wait) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                tracing::info!(target: "orgql::rate_limit", ?operation, client_ip = ?address, "rate limited");
                Err(AppError::RateLimited {
                    retry_after_secs: wait.as_secs() + 1,
                })
            }
        }
    }

    /// How many operations were refused since start-up (for metrics).
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_past_its_budget_and_others_are_not() {
        let limits = RateLimits::new(3, 100, Duration::from_secs(60));
        let attacker: IpAddr = "203.0.113.9".parse().unwrap();
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        for _ in 0..3 {
            assert!(limits.check(Limited::LogIn, Some(attacker), None).is_ok());
        }
        match limits.check(Limited::LogIn, Some(attacker), None) {
            Err(AppError::RateLimited { retry_after_secs }) => {
                assert!((1..=61).contains(&retry_after_secs))
            }
            other => panic!("{other:?}"),
        }
        assert!(limits.check(Limited::LogIn, Some(other), None).is_ok());
        // Each operation has its own budget.
        assert!(limits.check(Limited::SignUp, Some(attacker), None).is_ok());
        assert_eq!(limits.refused(), 1);
    }

    #[test]
    fn an_ipv6_address_counts_as_its_64_and_a_mapped_ipv4_as_itself() {
        let network = |a: &str| client_network(a.parse().unwrap()).to_string();
        assert_eq!(network("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::");
        assert_eq!(network("2001:db8:1:2:ffff:1:2:3"), "2001:db8:1:2::");
        assert_ne!(network("2001:db8:1:3::1"), "2001:db8:1:2::");
        assert_eq!(network("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(network("203.0.113.10"), "203.0.113.10");
    }

    #[test]
    fn an_account_is_limited_from_any_address_and_case_does_not_matter() {
        let limits = RateLimits::new(100, 2, Duration::from_secs(60));
        for n in 0..2u8 {
            let address = IpAddr::from([10, 0, 0, n]);
            assert!(
                limits
                    .check(Limited::LogIn, Some(address), Some("Ann@Example.com"))
                    .is_ok()
            );
        }
        let fresh = IpAddr::from([10, 0, 0, 9]);
        assert!(
            limits
                .check(Limited::LogIn, Some(fresh), Some("ann@example.com"))
                .is_err()
        );
    }
}
