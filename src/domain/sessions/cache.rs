//! Sessions kept in memory between requests, so that authenticating a
//! request costs no statement, and exact across every instance that shares
//! the database.
//!
//! Exactness comes from PostgreSQL, not from the code paths that change a
//! session: triggers on `sessions` and `users` (migration
//! `m20261130_000022_session_change_notices`) send the user's id on the
//! channel [`CHANNEL`] whenever a session is revoked, deleted or changes how
//! it was authenticated, and whenever the user row changes or goes. Every
//! instance listens and drops that user's cached sessions, whoever made the
//! change and however. The cache serves only while its listener is connected
//! and listening; when the connection drops it empties itself and serves
//! nothing until it listens again (notices sent meanwhile are lost, so
//! nothing read before can be trusted). A read that raced a notice is not
//! stored (the generation check in [`SessionCache::insert`]).
//!
//! On SQLite there is no listener and no cache: the lookup is in-process
//! and cheap, and a second process on the same file would not be told.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sea_orm::sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

/// The channel the triggers notify on; the payload is a user id.
pub const CHANNEL: &str = "orgql_session_changes";

/// A backstop: an entry is read again after this long even without a notice.
const MAX_AGE: Duration = Duration::from_secs(60);

/// Most sessions held; past it the cache starts over.
const MAX_ENTRIES: usize = 50_000;

struct Entry<V> {
    user_id: Uuid,
    value: V,
    stored_at: Instant,
}

/// Values keyed by session id, dropped by user id.
pub struct SessionCache<V> {
    entries: RwLock<HashMap<Uuid, Entry<V>>>,
    /// Bumped by every notice and every reconnection: a read that began
    /// under an older generation may be stale and is not stored.
    generation: AtomicU64,
    /// Whether the listener is connected and listening.
    live: AtomicBool,
}

/// The generation a read began under; hand it back to [`SessionCache::insert`].
#[derive(Debug, Clone, Copy)]
pub struct Generation(u64);

impl<V: Clone + Send + Sync + 'static> SessionCache<V> {
    fn new() -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
            live: AtomicBool::new(false),
        }
    }

    /// A cache fed by a listener on the PostgreSQL database at `url`. The
    /// listener is one of the application's background tasks: it runs on
    /// `tasks` until `stop` is cancelled (or the cache is dropped), so that
    /// shutdown waits for it like for the others. The cache serves nothing
    /// until the listener is listening, and nothing once it has stopped.
    pub fn listening(url: String, tasks: &TaskTracker, stop: CancellationToken) -> Arc<Self> {
        let cache = Arc::new(Self::new());
        let notified = Arc::downgrade(&cache);
        tasks.spawn(async move {
            tokio::select! {
                () = listen(notified.clone(), url) => {}
                () = stop.cancelled() => {
                    if let Some(cache) = notified.upgrade() {
                        cache.reset(false);
                    }
                }
            }
        });
        cache
    }

    /// A cache that serves at once, with no listener: for tests of the
    /// cache itself.
    #[doc(hidden)]
    pub fn live_without_listener() -> Self {
        let cache = Self::new();
        cache.live.store(true, Ordering::SeqCst);
        cache
    }

    /// Whether the cache is serving (its listener is listening).
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::SeqCst)
    }

    /// The session's cached value, if the cache is serving and holds a
    /// fresh one.
    pub fn get(&self, session_id: Uuid) -> Option<V> {
        if !self.is_live() {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&session_id)
            .filter(|entry| entry.stored_at.elapsed() < MAX_AGE)
            .map(|entry| entry.value.clone())
    }

    /// Call before reading a session from the database.
    pub fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::SeqCst))
    }

    /// Stores a value read from the database, unless a notice (or a
    /// reconnection) came after the read began: the value may predate it.
    pub fn insert(&self, read_under: Generation, session_id: Uuid, user_id: Uuid, value: V) {
        if !self.is_live() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        // Checked under the write lock: `forget_user` bumps the generation
        // before it takes the lock, so a notice either is seen here or
        // removes this entry after it.
        if self.generation.load(Ordering::SeqCst) != read_under.0 {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            session_id,
            Entry {
                user_id,
                value,
                stored_at: Instant::now(),
            },
        );
    }

    /// Replaces a cached value in place (after this instance itself
    /// changed something the value holds, such as the last use).
    pub fn update(&self, session_id: Uuid, value: V) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get_mut(&session_id) {
            entry.value = value;
        }
    }

    /// Drops every cached session of a user: a notice.
    pub fn forget_user(&self, user_id: Uuid) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, entry| entry.user_id != user_id);
    }

    /// Drops every cached session (after this instance wrote something
    /// that may have changed one, before the notice comes back).
    pub fn forget_everything(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Drops everything and stops or resumes serving.
    fn reset(&self, live: bool) {
        self.live.store(false, Ordering::SeqCst);
        self.forget_everything();
        self.live.store(live, Ordering::SeqCst);
    }
}

/// Listens for notices until the cache is dropped. The cache serves only
/// between a confirmed LISTEN and the first sign that the connection is
/// gone: it is turned off the moment the listener reports the loss, before
/// anything reconnects, and on again only once a new LISTEN has been
/// answered (notices sent in between are lost, so nothing read before can
/// be trusted).
async fn listen<V: Clone + Send + Sync + 'static>(
    cache: std::sync::Weak<SessionCache<V>>,
    url: String,
) {
    const RETRY: Duration = Duration::from_secs(1);
    loop {
        let mut listener = match connect(&url).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "session cache: cannot listen for session changes; serving without it");
                tokio::time::sleep(RETRY).await;
                if cache.strong_count() == 0 {
                    return;
                }
                continue;
            }
        };
        let listening_since = Instant::now();
        let Some(live) = cache.upgrade() else { return };
        live.reset(true);
        drop(live);
        loop {
            let received = listener.try_recv().await;
            let Some(cache) = cache.upgrade() else { return };
            match received {
                Ok(Some(notice)) => match notice.payload().parse::<Uuid>() {
                    Ok(user_id) => cache.forget_user(user_id),
                    // Not ours to read: forget everything rather than guess.
                    Err(_) => cache.reset(true),
                },
                // The connection dropped (the listener does not reconnect
                // by itself, see `connect`): off at once, then listen anew.
                Ok(None) => {
                    cache.reset(false);
                    tracing::warn!(
                        "session cache: the listener's connection dropped; serving without it until it listens again"
                    );
                    break;
                }
                Err(e) => {
                    cache.reset(false);
                    tracing::warn!(error = %e, "session cache: lost the listener; serving without it until it listens again");
                    break;
                }
            }
        }
        // A connection that keeps dropping right after it listens is not
        // retried in a tight loop.
        if listening_since.elapsed() < RETRY {
            tokio::time::sleep(RETRY).await;
        }
    }
}

/// A listener that is listening: `listen` returns once PostgreSQL has
/// answered the LISTEN, so every notice committed from then on reaches it.
/// It never reconnects on its own: sqlx's default (`eager_reconnect`)
/// reconnects inside `try_recv` before reporting the loss, and the cache
/// would go on serving through the reconnection, missing the notices sent
/// meanwhile (issue #22, L1). `listen` above reconnects instead, with the
/// cache off.
async fn connect(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_drops_the_users_sessions_only() {
        let cache = SessionCache::live_without_listener();
        let (ann, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let (s1, s2, s3) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        for (session, user) in [(s1, ann), (s2, ann), (s3, bob)] {
            let read = cache.generation();
            cache.insert(read, session, user, "facts");
        }
        cache.forget_user(ann);
        assert_eq!(cache.get(s1), None);
        assert_eq!(cache.get(s2), None);
        assert_eq!(cache.get(s3), Some("facts"));
    }

    #[test]
    fn a_read_that_raced_a_notice_is_not_stored() {
        let cache = SessionCache::live_without_listener();
        let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
        let read = cache.generation();
        cache.forget_user(Uuid::now_v7());
        cache.insert(read, session, user, "stale");
        assert_eq!(cache.get(session), None);
    }

    #[tokio::test]
    async fn a_stopped_listener_ends_its_task_and_its_cache_serves_nothing() {
        let (tasks, stop) = (TaskTracker::new(), CancellationToken::new());
        // Nothing answers on port 1: the listener retries until stopped.
        let cache = SessionCache::<&str>::listening(
            "postgres://orgql@127.0.0.1:1/orgql".to_owned(),
            &tasks,
            stop.clone(),
        );
        tasks.close();
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), tasks.wait())
            .await
            .expect("the listener's task ended");
        assert!(!cache.is_live());
    }

    #[test]
    fn a_cache_without_its_listener_serves_nothing() {
        let cache = SessionCache::live_without_listener();
        let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
        cache.insert(cache.generation(), session, user, "facts");
        cache.reset(false);
        assert_eq!(cache.get(session), None);
        cache.insert(cache.generation(), session, user, "facts");
        assert_eq!(cache.get(session), None);
    }
}
