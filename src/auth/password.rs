//! Password hashing with argon2id (RFC 9106). Production uses the crate's
//! recommended parameters; tests and seeding may ask for cheap ones.
//!
//! One argon2id hash or verification is tens of milliseconds of one core
//! and 19 MiB of memory, by design. Run on an async worker, it would stall
//! every request that worker serves; a flood of log-ins would stall them
//! all (issue #26). So every hash and every verification here runs on
//! tokio's blocking pool, at most `concurrency` at once: the others wait
//! for a permit without holding a thread, and the async workers keep the
//! cores that the hashing leaves them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{AppError, AppResult};

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// One permit per hash allowed to run at once. A permit moves into the
    /// blocking task and is released when the hash ends, not when the
    /// request waiting for it does: a client that hangs up mid-log-in
    /// cannot leave more hashes running than the bound.
    permits: Arc<Semaphore>,
    concurrency: usize,
    /// Hashes waiting for a permit.
    waiting: Arc<AtomicUsize>,
    /// The hash [`PasswordHasher::verify_dummy`] checks against, made with
    /// this hasher's parameters (the ones its accounts' hashes have), on
    /// first use.
    dummy: Arc<OnceLock<String>>,
}

/// How many hashes may run at once when `ORGQL_PASSWORD_HASHING_CONCURRENCY`
/// is unset: one core fewer than the machine has (at least one), so that a
/// flood of log-ins leaves a core to the async workers, which serve every
/// other request. At 2 cores: one hash at a time.
pub fn default_concurrency() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |cores| cores.get().saturating_sub(1))
        .max(1)
}

impl PasswordHasher {
    /// `cheap` trades security for speed: for tests and demo data only.
    /// `concurrency` bounds the hashes running at once (0 counts as 1).
    pub fn new(cheap: bool, concurrency: usize) -> Self {
        let params = if cheap {
            Params::new(256, 1, 1, None).expect("static argon2 parameters are valid")
        } else {
            Params::default()
        };
        let concurrency = concurrency.max(1);
        Self {
            params,
            permits: Arc::new(Semaphore::new(concurrency)),
            concurrency,
            waiting: Arc::new(AtomicUsize::new(0)),
            dummy: Arc::new(OnceLock::new()),
        }
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// A PHC string holding the salt and parameters.
    pub async fn hash(&self, password: &str) -> AppResult<String> {
        let (password, params) = (password.to_owned(), self.params.clone());
        self.off_the_workers(move || hash_blocking(params, &password))
            .await?
    }

    /// Whether `password` matches `phc`. A malformed stored hash never
    /// matches.
    pub async fn verify(&self, password: &str, phc: &str) -> AppResult<bool> {
        let (password, phc) = (password.to_owned(), phc.to_owned());
        self.off_the_workers(move || verify_blocking(&password, &phc))
            .await
    }

    /// Spends the work of one verification, in the same queue, so that a
    /// log-in for an unknown email takes as long as one with a wrong
    /// password.
    pub async fn verify_dummy(&self, password: &str) -> AppResult<()> {
        let (password, params, dummy) =
            (password.to_owned(), self.params.clone(), self.dummy.clone());
        self.off_the_workers(move || {
            if let Some(phc) = dummy_hash(params, &dummy) {
                verify_blocking(&password, phc);
            }
        })
        .await
    }

    /// Makes the dummy hash ahead of the first log-in that needs it, which
    /// would otherwise spend two hashes and so tell itself apart.
    pub async fn make_dummy_hash(&self) -> AppResult<()> {
        let (params, dummy) = (self.params.clone(), self.dummy.clone());
        self.off_the_workers(move || {
            dummy_hash(params, &dummy);
        })
        .await
    }

    /// Runs `work` on the blocking pool once a permit is free. A task that
    /// panicked (or a runtime shutting down) is INTERNAL.
    async fn off_the_workers<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> AppResult<T> {
        let queued = Waiting::join(&self.waiting);
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AppError::internal("the password hashing permits are closed"))?;
        drop(queued);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| AppError::internal(format!("a password hashing task failed: {e}")))
    }

    /// How many hashes wait for a permit now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Takes every permit, as a flood of log-ins would; they come back when
    /// the guard drops. For tests: with the hashing full, requests that
    /// hash nothing must still be answered.
    #[doc(hidden)]
    pub async fn hold_every_permit(&self) -> AppResult<OwnedSemaphorePermit> {
        let every = u32::try_from(self.concurrency).unwrap_or(u32::MAX);
        self.permits
            .clone()
            .acquire_many_owned(every)
            .await
            .map_err(|_| AppError::internal("the password hashing permits are closed"))
    }
}

/// One place in the queue for a permit, left on drop: also when the
/// request waiting is dropped (the client hung up, the request timed out).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn join(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The dummy hash, made (blocking) if it is not yet. None only if hashing
/// failed.
fn dummy_hash(params: Params, dummy: &OnceLock<String>) -> Option<&String> {
    if let Some(phc) = dummy.get() {
        return Some(phc);
    }
    let phc = hash_blocking(params, "orgql-dummy-password").ok()?;
    Some(dummy.get_or_init(|| phc))
}

/// Blocks for one hash.
fn hash_blocking(params: Params, password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2::password_hash::PasswordHasher::hash_password(
        &PasswordHasher::argon2(params),
        password.as_bytes(),
        &salt,
    )
    .map(|hash| hash.to_string())
    .map_err(|e| AppError::internal(e.to_string()))
}

/// Blocks for one verification, with the parameters `phc` names.
fn verify_blocking(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            // The parameters are read from `phc`, not from the instance.
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::{Context, Waker};

    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_own_hash_only() {
        let passwords = PasswordHasher::new(true, 1);
        let phc = passwords.hash("correct horse").await.unwrap();
        assert!(passwords.verify("correct horse", &phc).await.unwrap());
        assert!(!passwords.verify("wrong horse", &phc).await.unwrap());
        assert!(
            !passwords
                .verify("correct horse", "not a hash")
                .await
                .unwrap()
        );
        passwords.verify_dummy("anything").await.unwrap();
    }

    /// The hash runs elsewhere: the first poll of a verification returns
    /// at once, pending, instead of hashing on the polling thread (which
    /// is what inline hashing does, then returns ready).
    #[tokio::test]
    async fn a_verification_hands_the_hash_to_another_thread() {
        let passwords = PasswordHasher::new(false, 1);
        let phc = passwords.hash("correct horse").await.unwrap();
        let mut verification = pin!(passwords.verify("correct horse", &phc));
        let mut context = Context::from_waker(Waker::noop());
        assert!(verification.as_mut().poll(&mut context).is_pending());
        assert!(verification.await.unwrap());
    }

    #[tokio::test]
    async fn hashes_past_the_bound_wait_for_a_permit() {
        let passwords = PasswordHasher::new(true, 2);
        let held = passwords.hold_every_permit().await.unwrap();
        let mut waiting = pin!(passwords.hash("correct horse"));
        let mut context = Context::from_waker(Waker::noop());
        for _ in 0..3 {
            assert!(waiting.as_mut().poll(&mut context).is_pending());
            tokio::task::yield_now().await;
        }
        assert_eq!(passwords.waiting(), 1);
        drop(held);
        assert!(waiting.await.is_ok());
    }
}
