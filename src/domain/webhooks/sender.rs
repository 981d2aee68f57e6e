//! The webhook sender: one per server, a background task like the mail
//! sender. It makes the due attempts (woken by commits that queued
//! deliveries, and every few seconds for retries), several at a time,
//! each claimed first so that no other sender, here or on another
//! instance, makes the same attempt. Stopping lets the attempts in flight
//! finish and starts no new one: the rest stay queued.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use entity::values::Role;
use entity::{event, member, user, webhook_delivery, webhook_endpoint};
use futures_util::StreamExt;
use openidconnect::reqwest;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::deliveries::{self, Attempt};
use super::{DISABLED_FAILING, Targets, signing};
use crate::auth::Sealer;
use crate::domain::audit::{self, AuditAction, AuditActor, Entry};
use crate::domain::authz::RequestMeta;
use crate::domain::clock::Clock;
use crate::domain::ids::{self, IdKind};
use crate::domain::outbound::{self, PublicAddressesOnly};
use crate::domain::write::Write;
use crate::error::{AppError, AppResult};
use crate::mail::outbox::{Mail, Outbox};
use crate::mail::render::inline;

/// How often the sender looks for due retries when nothing wakes it.
const POLL: Duration = Duration::from_secs(2);

/// How many due deliveries one look takes, and how many are in flight at
/// once.
const BATCH: u64 = 32;
const IN_FLIGHT: usize = 8;

/// How much of a response's body is kept.
const KEPT_BODY_BYTES: usize = 1024;

/// The label of `orgql_webhook_deliveries_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `delivered`, `retrying` (failed, another attempt is due later) or
    /// `failed` (no attempt left).
    pub outcome: &'static str,
}

/// What the sender needs.
pub struct Sender {
    pub db: DatabaseConnection,
    pub sealer: Sealer,
    pub clock: Clock,
    pub targets: Targets,
    pub timeout: Duration,
    pub outbox: Outbox,
    pub outcomes: Family<OutcomeLabels, Counter>,
}

impl Sender {
    /// Makes due attempts until `stop` is cancelled.
    pub async fn run(self, stop: CancellationToken) {
        let http = self.http_client();
        let this = Arc::new(self);
        loop {
            // Enabled before looking, so a commit made while this sender
            // looks still wakes it.
            let woken = super::deliveries_queued();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if let Err(e) = this.deliver_due(&http, &stop).await {
                tracing::warn!(target: "orgql::webhooks", error = %e, "could not read the webhook outbox");
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = woken => {},
                _ = tokio::time::sleep(POLL) => {},
            }
        }
    }

    /// No redirects (a receiver could point them anywhere), no proxy from
    /// the environment, and unless private targets are allowed a resolver
    /// that connects a name only to its public addresses.
    fn http_client(&self) -> reqwest::Client {
        let builder = reqwest::ClientBuilder::new()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("orgql-webhooks/", env!("CARGO_PKG_VERSION")));
        let builder = if self.targets.allow_private {
            builder
        } else {
            builder.dns_resolver(Arc::new(PublicAddressesOnly))
        };
        builder.build().unwrap_or_default()
    }

    /// Attempts what is due until nothing is or `stop` is cancelled.
    async fn deliver_due(
        self: &Arc<Self>,
        http: &reqwest::Client,
        stop: &CancellationToken,
    ) -> AppResult<()> {
        loop {
            let due = deliveries::due(&self.db, self.clock.now(), BATCH).await?;
            if due.is_empty() || stop.is_cancelled() {
                return Ok(());
            }
            futures_util::stream::iter(due)
                .for_each_concurrent(IN_FLIGHT, |delivery| async move {
                    if stop.is_cancelled() {
                        return;
                    }
                    if let Err(e) = self.attempt(http, delivery).await {
                        tracing::warn!(target: "orgql::webhooks", error = %e, "a webhook attempt failed to run");
                    }
                })
                .await;
        }
    }

    /// Claims one delivery and, if this sender got it, makes the attempt
    /// and records what came of it.
    async fn attempt(
        &self,
        http: &reqwest::Client,
        delivery: webhook_delivery::Model,
    ) -> AppResult<()> {
        let now = self.clock.now();
        let Some(delivery) = deliveries::claim(&self.db, delivery, now).await? else {
            return Ok(());
        };
        let endpoint = webhook_endpoint::Entity::find_by_id(delivery.endpoint_id)
            .one(&self.db)
            .await?;
        let event = event::Entity::find_by_id(delivery.event_id)
            .one(&self.db)
            .await?;
        let (Some(endpoint), Some(event)) = (endpoint, event) else {
            return Ok(());
        };
        if !endpoint.enabled {
            return deliveries::release(&self.db, &delivery, now).await;
        }
        let attempt = self.post(http, &endpoint, &event).await?;
        let retry_at = if attempt.succeeded() {
            None
        } else {
            deliveries::next_attempt(delivery.attempts, self.clock.now())
        };
        deliveries::record(&self.db, &delivery, &attempt, retry_at, self.clock.now()).await?;
        let outcome = match (attempt.succeeded(), retry_at) {
            (true, _) => "delivered",
            (false, Some(_)) => "retrying",
            (false, None) => "failed",
        };
        self.outcomes
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        tracing::info!(
            target: "orgql::webhooks",
            delivery_id = %delivery.id,
            attempt = delivery.attempts,
            status = attempt.status,
            outcome,
            "webhook attempt"
        );
        if !attempt.succeeded() {
            self.disable_if_failing_too_long(endpoint.id).await?;
        }
        Ok(())
    }

    /// Posts `event` to `endpoint`, signed; never fails for what the
    /// receiver does (that is the attempt's outcome).
    async fn post(
        &self,
        http: &reqwest::Client,
        endpoint: &webhook_endpoint::Model,
        event: &event::Model,
    ) -> AppResult<Attempt> {
        let secret = String::from_utf8(
            self.sealer
                .open(&endpoint.secret_sealed, endpoint.id.as_bytes())?,
        )
        .map_err(|_| AppError::internal("a webhook secret is not text"))?;
        let message_id = ids::encode(IdKind::Event, event.id);
        let body = serde_json::to_vec(&payload(event))
            .map_err(|e| AppError::internal(format!("an event did not serialize: {e}")))?;
        let at = Utc::now();
        let timestamp = at.timestamp();
        let signature = signing::signature(&secret, &message_id, timestamp, &body)?;
        let started = Instant::now();
        let finished = |status, body, error| Attempt {
            at,
            status,
            body,
            duration_ms: i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX),
            error,
        };
        // A literal address is not resolved, so the resolver cannot check
        // it: it is checked here, at every attempt.
        let url = url::Url::parse(&endpoint.url).ok();
        if !self.targets.allow_private && !url.as_ref().is_some_and(outbound::public_host) {
            return Ok(finished(
                None,
                None,
                Some("refused: the URL names no public host".into()),
            ));
        }
        let sent = http
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("webhook-id", &message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(e) => return Ok(finished(None, None, Some(describe(&e)))),
        };
        let status = response.status().as_u16();
        let mut kept = Vec::new();
        while kept.len() < KEPT_BODY_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => return Ok(finished(Some(status), None, Some(describe(&e)))),
            }
        }
        kept.truncate(KEPT_BODY_BYTES);
        let body = String::from_utf8_lossy(&kept).into_owned();
        Ok(finished(Some(status), Some(body), None))
    }

    /// Disables an endpoint that has failed for [`deliveries::FAILING_LIMIT`]
    /// and mails the organization's owners; a change, so through the write
    /// path, audited with the server as the actor. Of two senders that
    /// see it at once, the conditional update lets one do it.
    async fn disable_if_failing_too_long(&self, endpoint_id: Uuid) -> AppResult<()> {
        let cutoff = self.clock.now() - deliveries::FAILING_LIMIT;
        if !deliveries::failing_since_before(&self.db, endpoint_id, cutoff).await? {
            return Ok(());
        }
        let mut write = Write::begin(&self.db)
            .await?
            .attributed_to(AuditActor::system(), &RequestMeta::default());
        let disabled = webhook_endpoint::Entity::update_many()
            .col_expr(webhook_endpoint::Column::Enabled, Expr::value(false))
            .col_expr(
                webhook_endpoint::Column::DisabledReason,
                Expr::value(DISABLED_FAILING),
            )
            .col_expr(webhook_endpoint::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(webhook_endpoint::Column::Id.eq(endpoint_id))
            .filter(webhook_endpoint::Column::Enabled.eq(true))
            .filter(webhook_endpoint::Column::FailingSince.lte(cutoff))
            .exec(write.txn())
            .await?
            .rows_affected;
        let Some(endpoint) = webhook_endpoint::Entity::find_by_id(endpoint_id)
            .one(write.txn())
            .await?
            .filter(|_| disabled == 1)
        else {
            return Ok(());
        };
        for owner in owner_emails(&write, endpoint.organization_id).await? {
            write
                .send(&self.outbox, disabled_mail(&owner, &endpoint))
                .await?;
        }
        write
            .commit(
                Entry::new(
                    AuditAction::WebhookEndpointDisabled,
                    endpoint.id,
                    json!({
                        "url": endpoint.url,
                        "reason": DISABLED_FAILING,
                        "failingSince": endpoint.failing_since,
                    }),
                )
                .in_organization(endpoint.organization_id),
            )
            .await?;
        tracing::warn!(target: "orgql::webhooks", endpoint_id = %endpoint.id, "webhook endpoint disabled after failing for a day");
        Ok(())
    }
}

/// The addresses of an organization's owners.
async fn owner_emails(
    write: &crate::domain::write::AccountWrite,
    organization_id: Uuid,
) -> AppResult<Vec<String>> {
    let owners: Vec<Uuid> = member::Entity::find()
        .select_only()
        .column(member::Column::UserId)
        .filter(member::Column::OrganizationId.eq(organization_id))
        .filter(member::Column::Role.eq(Role::Owner))
        .into_tuple()
        .all(write.txn())
        .await?;
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Email)
        .filter(user::Column::Id.is_in(owners))
        .into_tuple()
        .all(write.txn())
        .await?)
}

fn disabled_mail(to: &str, endpoint: &webhook_endpoint::Model) -> Mail {
    let body = format!(
        "Deliveries to your organization's webhook endpoint\n\n  {}\n\nhave failed for a day, so it has been disabled. Events are still recorded: \
         enable the endpoint again (updateWebhookEndpoint with enabled: true) once it answers, \
         and ask for what it missed with redeliverWebhook or read Organization.events.\n",
        inline(&endpoint.url)
    );
    Mail::new(to, "A webhook endpoint was disabled", body)
}

/// The body of a delivery: the event in its public shape.
pub fn payload(event: &event::Model) -> Value {
    json!({
        "id": ids::encode(IdKind::Event, event.id),
        "type": event.event_type,
        "timestamp": event.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "organizationId": ids::encode(IdKind::Organization, event.organization_id),
        "actor": {
            "kind": event.actor_kind,
            "id": event.actor_id.map(|id| ids::encode(audit::actor_id_kind(event.actor_kind), id)),
            "email": event.actor_email,
        },
        "data": event.data,
    })
}

/// Why a request got no response, in a line for `lastError` (the receiver's
/// own URL is the endpoint's, shown to its managers already).
fn describe(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut detail = String::new();
    let mut source = error.source();
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    let line = if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    };
    line.chars().take(500).collect()
}
