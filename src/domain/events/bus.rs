//! How live subscriptions hear that something changed. A notice carries no
//! event, only which organization has news (or whose sessions changed):
//! each subscription then reads what follows its own last sequence number
//! from the events table, so a notice that is lost, repeated or merged
//! with another loses nothing and shows nothing twice.
//!
//! - PostgreSQL: one listener per instance (not one per socket) LISTENs to
//!   `orgql_events`, which a trigger on `events` notifies at each commit,
//!   and to `orgql_session_changes` (the sessions' triggers), so a revoked
//!   session's streams end at once. After its connection drops it listens
//!   anew and wakes every subscription, which reads the gap from the table.
//! - SQLite: one server per database, so the write path tells the
//!   subscriptions of this process directly (`committed_here`).

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use sea_orm::sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

/// What a notice wakes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The subscriptions of an organization: it has new events.
    Organization(Uuid),
    /// The subscriptions of a person: their sessions or account changed.
    User(Uuid),
    /// Every subscription: notices may have been missed.
    Everyone,
}

/// Notices queued per receiver before it counts as lagging (and is woken
/// for everything instead).
const CAPACITY: usize = 1024;

const EVENTS_CHANNEL: &str = "orgql_events";
const SESSIONS_CHANNEL: &str = "orgql_session_changes";

/// SQLite's notices, shared by every server of the process (each reads
/// its own database, so a notice about another's organization finds
/// nothing new).
static IN_PROCESS: LazyLock<broadcast::Sender<Wake>> =
    LazyLock::new(|| broadcast::channel(CAPACITY).0);

/// Tells this process's subscriptions that `organization` has new events
/// (the write path, after a commit on SQLite).
pub(crate) fn committed_here(organization: Uuid) {
    // No subscriber: nobody to tell.
    let _ = IN_PROCESS.send(Wake::Organization(organization));
}

/// Where a server's subscriptions get their notices.
pub struct EventBus {
    sender: broadcast::Sender<Wake>,
}

impl EventBus {
    /// SQLite: the write path's notices in this process.
    pub fn in_process() -> Arc<Self> {
        Arc::new(Self {
            sender: IN_PROCESS.clone(),
        })
    }

    /// PostgreSQL: this instance's listener, running on `tasks` until
    /// `stop`.
    pub fn listening(url: String, tasks: &TaskTracker, stop: CancellationToken) -> Arc<Self> {
        let sender = broadcast::channel(CAPACITY).0;
        tasks.spawn(listen(url, sender.clone(), stop));
        Arc::new(Self { sender })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Wake> {
        self.sender.subscribe()
    }
}

/// Listens until `stop`, reconnecting after a loss; every (re)connection
/// wakes everyone, since notices sent while nobody listened are gone.
async fn listen(url: String, sender: broadcast::Sender<Wake>, stop: CancellationToken) {
    const RETRY: Duration = Duration::from_secs(1);
    loop {
        let connected = tokio::select! {
            _ = stop.cancelled() => return,
            connected = connect(&url) => connected,
        };
        let mut listener = match connected {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(target: "orgql::events", error = %e, "cannot listen for events; retrying");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(RETRY) => continue,
                }
            }
        };
        let listening_since = Instant::now();
        let _ = sender.send(Wake::Everyone);
        loop {
            let received = tokio::select! {
                _ = stop.cancelled() => return,
                received = listener.try_recv() => received,
            };
            match received {
                Ok(Some(notice)) => {
                    let id = notice.payload().parse::<Uuid>().ok();
                    let wake = match (notice.channel(), id) {
                        (EVENTS_CHANNEL, Some(id)) => Wake::Organization(id),
                        (SESSIONS_CHANNEL, Some(id)) => Wake::User(id),
                        _ => Wake::Everyone,
                    };
                    let _ = sender.send(wake);
                }
                Ok(None) => {
                    tracing::warn!(target: "orgql::events", "the events listener's connection dropped; listening again");
                    break;
                }
                Err(e) => {
                    tracing::warn!(target: "orgql::events", error = %e, "lost the events listener; listening again");
                    break;
                }
            }
        }
        if listening_since.elapsed() < RETRY {
            tokio::time::sleep(RETRY).await;
        }
    }
}

/// A listener that is listening on both channels; it never reconnects by
/// itself, so a loss is seen (and answered by waking everyone).
async fn connect(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.eager_reconnect(false);
    listener
        .listen_all([EVENTS_CHANNEL, SESSIONS_CHANNEL])
        .await?;
    Ok(listener)
}
