//! Subscriptions (issue #24): live events over WebSocket
//! (graphql-transport-ws, `http::subscriptions`). Each stream reads from
//! the events table after its own last event whenever the server's event
//! bus says there may be news, and checks its follower again before every
//! batch, so it never sends what its follower may no longer see: it ends
//! with the refusal's code instead.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_graphql::{Context, ID, Subscription};
use chrono::Utc;
use futures_util::Stream;
use futures_util::future::BoxFuture;
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use uuid::Uuid;

use crate::domain::authz::Actor;
use crate::domain::events::EventType;
use crate::domain::events::bus::{EventBus, Wake};
use crate::domain::events::watch::{self, BATCH, Viewer};
use crate::domain::ids::{self, OrganizationId};
use crate::error::{AppError, AppResult};
use crate::graphql::types::webhook::Event;

/// Who is on a socket, again: the credential it opened with, checked
/// anew (revocation, expiry) each time a stream asks.
pub trait Credentials: Send + Sync {
    fn actor(&self) -> BoxFuture<'_, AppResult<Actor>>;
}

/// What one WebSocket connection's subscriptions share.
pub struct Socket {
    pub db: DatabaseConnection,
    pub bus: Arc<EventBus>,
    pub credentials: Arc<dyn Credentials>,
    /// `ORGQL_SUBSCRIPTIONS_PER_SOCKET`.
    pub max_subscriptions: usize,
    /// How often a quiet stream checks its follower anyway
    /// (`ORGQL_SUBSCRIPTION_RECHECK_SECS`): how a session revoked on
    /// SQLite is noticed, where no notice says so (on PostgreSQL one does,
    /// at once).
    pub recheck: Duration,
    open: Arc<AtomicUsize>,
}

impl Socket {
    pub fn new(
        db: DatabaseConnection,
        bus: Arc<EventBus>,
        credentials: Arc<dyn Credentials>,
        max_subscriptions: usize,
        recheck: Duration,
    ) -> Self {
        Self {
            db,
            bus,
            credentials,
            max_subscriptions,
            recheck,
            open: Arc::default(),
        }
    }

    /// A place for one more subscription on this socket, held until the
    /// stream ends; RATE_LIMITED past the setting.
    fn open_subscription(&self) -> AppResult<OpenSubscription> {
        let open = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        let slot = OpenSubscription(self.open.clone());
        if open > self.max_subscriptions {
            return Err(AppError::RateLimited {
                retry_after_secs: 1,
            });
        }
        Ok(slot)
    }
}

/// One subscription's place on its socket.
struct OpenSubscription(Arc<AtomicUsize>);

impl Drop for OpenSubscription {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Waits for a notice that `concerns` the stream (or that notices were
/// lost, or the recheck is due), then takes every notice already queued:
/// the read that follows covers them. False once the bus is gone.
async fn woken(
    wakes: &mut broadcast::Receiver<Wake>,
    recheck: &mut tokio::time::Interval,
    concerns: impl Fn(Wake) -> bool,
) -> bool {
    loop {
        tokio::select! {
            wake = wakes.recv() => match wake {
                Ok(wake) if concerns(wake) => break,
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => break,
                Err(RecvError::Closed) => return false,
            },
            _ = recheck.tick() => break,
        }
    }
    loop {
        match wakes.try_recv() {
            Ok(_) | Err(TryRecvError::Lagged(_)) => continue,
            Err(TryRecvError::Empty) => return true,
            Err(TryRecvError::Closed) => return false,
        }
    }
}

fn every_recheck(period: Duration) -> tokio::time::Interval {
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}

#[derive(Default)]
pub struct SubscriptionRoot;

/// Live events over WebSocket (graphql-transport-ws at `/graphql`, the
/// credential in `connection_init` as `{"Authorization": "Bearer …"}`).
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// The organization's events as they are committed, in order, from
    /// now on (members:view; the events of invitations, join codes,
    /// policies, networks, domains, SSO and tokens need audit:view too).
    /// The same events and shape as `Organization.events`, which serves
    /// what came before. The stream ends with an error when its follower
    /// may no longer see them: UNAUTHENTICATED (session ended or token
    /// expired), NOT_FOUND (no longer a member), FORBIDDEN (permission
    /// withdrawn, organization suspended), IP_NOT_ALLOWED, MFA_REQUIRED
    /// or SSO_REQUIRED (the policy changed).
    async fn organization_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organization (`org_` id).")] organization_id: ID,
        #[graphql(desc = "Only these types (all when absent or empty).")] types: Option<
            Vec<EventType>,
        >,
        #[graphql(
            desc = "Start after this `cursor` of `Organization.events` instead of now: catch up, then stay live, with no gap between."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Event>> + use<>> {
        let socket = ctx.data::<Arc<Socket>>()?.clone();
        let after = after
            .as_deref()
            .map(crate::graphql::types::webhook::decode_event_cursor)
            .transpose()?;
        let organization = Uuid::from(ids::parse::<OrganizationId>(
            &organization_id,
            "organizationId",
        )?);
        let types = types.unwrap_or_default();
        let slot = socket.open_subscription()?;
        let actor = socket.credentials.actor().await?;
        watch::follow(&socket.db, &actor, organization).await?;
        let user = actor.user_id();
        // Listening before reading where to start: a change committed in
        // between is then both after the start and announced.
        let mut wakes = socket.bus.subscribe();
        let mut last = match after {
            Some(after) => after,
            None => watch::last_sequence(&socket.db, organization).await?,
        };
        let catch_up = after.is_some();
        Ok(async_stream::stream! {
            let _slot = slot;
            let mut recheck = every_recheck(socket.recheck);
            let concerns = |wake| match wake {
                Wake::Organization(id) => id == organization,
                Wake::User(id) => Some(id) == user,
                Wake::Everyone => true,
            };
            let mut first = catch_up;
            'stream: while std::mem::take(&mut first) || woken(&mut wakes, &mut recheck, concerns).await {
                loop {
                    let batch = match watch::after(&socket.db, organization, last).await {
                        Ok(batch) => batch,
                        Err(e) => {
                            yield Err(e.into());
                            break 'stream;
                        }
                    };
                    // Checked after the read: every event of the batch was
                    // committed before the check, so a follower who may
                    // still see now may see them all, and one removed by
                    // an event of the batch gets none of it.
                    let checked = async {
                        let actor = socket.credentials.actor().await?;
                        watch::follow(&socket.db, &actor, organization).await
                    };
                    let audience = match checked.await {
                        Ok(audience) => audience,
                        Err(refused) => {
                            yield Err(refused.into());
                            break 'stream;
                        }
                    };
                    let full = batch.len() as u64 == BATCH;
                    for row in batch {
                        last = row.sequence;
                        let Ok(event_type) = row.event_type.parse::<EventType>() else {
                            continue;
                        };
                        if audience.sees(event_type)
                            && (types.is_empty() || types.contains(&event_type))
                        {
                            yield Ok(Event(row));
                        }
                    }
                    if !full {
                        break;
                    }
                }
            }
        })
    }

    /// Events about you, in every organization, from now on: your
    /// memberships added, changed and ended, and invitations to your
    /// verified address. Ends with UNAUTHENTICATED when your session does.
    /// People only (not API tokens).
    async fn viewer_events(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Event>> + use<>> {
        let socket = ctx.data::<Arc<Socket>>()?.clone();
        let slot = socket.open_subscription()?;
        let actor = socket.credentials.actor().await?;
        let person = actor.person().ok_or(AppError::Forbidden(
            "viewerEvents is for people, not tokens",
        ))?;
        let viewer = Viewer {
            user_id: person.user_id,
            verified_email: person.email_verified.then(|| person.email.clone()),
        };
        // In an organization the stream had no start for (one that invites
        // the viewer later), events from a little before now: a change
        // whose transaction was under way as the stream began.
        let since = Utc::now() - chrono::Duration::seconds(2);
        let mut wakes = socket.bus.subscribe();
        let mut last: HashMap<Uuid, i64> = watch::viewer_starts(&socket.db, viewer.user_id).await?;
        Ok(async_stream::stream! {
            let _slot = slot;
            let mut recheck = every_recheck(socket.recheck);
            let mut pending: Vec<Uuid> = Vec::new();
            loop {
                // Which organizations to read: the ones whose notices came,
                // or all of them after lost notices.
                let woke = tokio::select! {
                    wake = wakes.recv() => wake,
                    _ = recheck.tick() => Ok(Wake::User(viewer.user_id)),
                };
                // The session is checked on its own notices and the
                // recheck, and before anything is sent.
                let mut check = !matches!(woke, Ok(Wake::Organization(_)));
                match woke {
                    Ok(Wake::Organization(id)) => pending.push(id),
                    Ok(Wake::User(id)) if id != viewer.user_id => continue,
                    Ok(Wake::User(_)) => {}
                    Ok(Wake::Everyone) | Err(RecvError::Lagged(_)) => {
                        pending.extend(last.keys().copied());
                    }
                    Err(RecvError::Closed) => break,
                }
                pending.sort();
                pending.dedup();
                let mut found = Vec::new();
                for organization in std::mem::take(&mut pending) {
                    loop {
                        let after = last.get(&organization).copied();
                        let batch = match watch::about_viewer(
                            &socket.db, &viewer, organization, after, since,
                        )
                        .await
                        {
                            Ok(batch) => batch,
                            Err(e) => {
                                yield Err(e.into());
                                return;
                            }
                        };
                        let full = batch.len() as u64 == BATCH;
                        if let Some(newest) = batch.last() {
                            last.insert(organization, newest.sequence);
                        }
                        found.extend(batch);
                        if !full {
                            break;
                        }
                    }
                }
                check |= !found.is_empty();
                if check && let Err(refused) = socket.credentials.actor().await {
                    yield Err(refused.into());
                    break;
                }
                for row in found {
                    yield Ok(Event(row));
                }
            }
        })
    }
}
