//! Events and webhooks (issue #24) as the API shows them.

use async_graphql::connection::{Connection, Edge};
use async_graphql::dataloader::{DataLoader, HashMapCache};
use async_graphql::{Context, Enum, ID, Json, Object};
use base64::Engine;
use chrono::{DateTime, Utc};
use entity::{event, webhook_delivery, webhook_endpoint};

use crate::domain::audit;
use crate::domain::events::EventType;
use crate::domain::ids::{self, IdKind};
use crate::domain::webhooks::{self, DISABLED_BY_HAND, deliveries};
use crate::error::AppError;
use crate::graphql::connection::{self, CountedConnection};
use crate::graphql::loaders::{EventLoader, load_existing};
use crate::graphql::types::audit::AuditActor;
use crate::read::webhooks::DeliveriesOfEndpoint;

/// A change in an organization that products may hear about: an entry of
/// its audit log in a stable public shape. Read them with
/// `Organization.events`; webhook endpoints receive the same shape.
pub struct Event(pub event::Model);

/// A change in an organization that products may hear about: an entry of
/// its audit log in a stable public shape. Read them with
/// `Organization.events`; webhook endpoints receive the same shape.
#[Object]
impl Event {
    /// Opaque id, prefixed `evt_`: the same in every delivery of the event
    /// (Standard Webhooks' `webhook-id`), so a receiver can drop
    /// duplicates.
    async fn id(&self) -> ID {
        ID(ids::encode(IdKind::Event, self.0.id))
    }

    /// What happened.
    async fn r#type(&self) -> async_graphql::Result<EventType> {
        self.0.event_type.parse().map_err(|_| {
            AppError::internal(format!("unknown event type {:?}", self.0.event_type)).into()
        })
    }

    /// The organization it happened in (`org_` id).
    async fn organization_id(&self) -> ID {
        ID(ids::encode(IdKind::Organization, self.0.organization_id))
    }

    /// When the change was made.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }

    /// Who made it.
    async fn actor(&self) -> AuditActor {
        AuditActor {
            id: self
                .0
                .actor_id
                .map(|id| ID(ids::encode(audit::actor_id_kind(self.0.actor_kind), id))),
            email: self.0.actor_email.clone(),
            kind: self.0.actor_kind.into(),
        }
    }

    /// The object the event is about (`object`: its type, `id`: its id)
    /// and what changed (before and after values, the member and role, …),
    /// with ids in their public form; never a secret.
    async fn data(&self) -> Json<serde_json::Value> {
        Json(self.0.data.clone())
    }
}

/// An event of a page of `Organization.events`, with its cursor.
pub type EventConnection = Connection<String, Event>;

const CURSOR: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// An events cursor: the event's number in its organization's sequence,
/// opaque to clients.
fn encode_event_cursor(sequence: i64) -> String {
    CURSOR.encode(format!("evt:{sequence}"))
}

/// The sequence number a cursor names.
pub fn decode_event_cursor(cursor: &str) -> Result<i64, AppError> {
    CURSOR
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("evt:")?.parse().ok())
        .ok_or_else(|| AppError::bad_input("after", "not a cursor from Organization.events"))
}

/// A page of events in commit order.
pub fn event_connection(
    rows: Vec<event::Model>,
    has_previous_page: bool,
    has_next_page: bool,
) -> EventConnection {
    let mut connection = Connection::new(has_previous_page, has_next_page);
    connection.edges = rows
        .into_iter()
        .map(|row| Edge::new(encode_event_cursor(row.sequence), Event(row)))
        .collect();
    connection
}

/// Why a webhook endpoint is disabled.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WebhookDisabledReason {
    /// A person disabled it.
    Manual,
    /// Its deliveries failed for a day; the organization's owners were
    /// emailed.
    Failing,
}

/// Where a delivery stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WebhookDeliveryStatus {
    /// Waiting for its next attempt, or being attempted.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt over about three days failed; `redeliverWebhook`
    /// starts over.
    Failed,
}

impl WebhookDeliveryStatus {
    pub fn stored(self) -> &'static str {
        match self {
            Self::Pending => deliveries::PENDING,
            Self::Delivered => deliveries::DELIVERED,
            Self::Failed => deliveries::FAILED,
        }
    }
}

/// An address that receives an organization's events, signed with
/// Standard Webhooks (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature`). Its secret is shown once, when it is created or
/// rotated.
pub struct WebhookEndpoint(pub webhook_endpoint::Model);

/// An address that receives an organization's events, signed with
/// Standard Webhooks (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature`). Its secret is shown once, when it is created or
/// rotated.
#[Object]
impl WebhookEndpoint {
    /// Opaque id, prefixed `whe_`.
    pub async fn id(&self) -> ID {
        ID(ids::encode(IdKind::WebhookEndpoint, self.0.id))
    }

    /// Where events are posted.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// A note for people.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The event types it receives; empty: every type.
    async fn types(&self) -> Vec<EventType> {
        webhooks::types_of(&self.0)
    }

    /// Whether events are queued and sent to it.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// Why it is disabled; null while enabled.
    async fn disabled_reason(&self) -> Option<WebhookDisabledReason> {
        match self.0.disabled_reason.as_deref() {
            None => None,
            Some(DISABLED_BY_HAND) => Some(WebhookDisabledReason::Manual),
            Some(_) => Some(WebhookDisabledReason::Failing),
        }
    }

    /// Since when its deliveries have failed without a success between;
    /// null when the last attempt succeeded. After a day it is disabled.
    async fn failing_since(&self) -> Option<DateTime<Utc>> {
        self.0.failing_since
    }

    /// When it was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When its settings or secret last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Its deliveries, oldest first, one per event it was sent.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: 20 when absent, at most 100.")] first: Option<i32>,
        #[graphql(desc = "The `cursor` of the last edge already seen.")] after: Option<String>,
        #[graphql(desc = "Only deliveries in this state.")] status: Option<WebhookDeliveryStatus>,
    ) -> async_graphql::Result<CountedConnection<WebhookDelivery>> {
        let (page, request, total) = connection::nested_page::<DeliveriesOfEndpoint>(
            ctx,
            self.0.id,
            status.map(WebhookDeliveryStatus::stored),
            first,
            after.as_deref(),
        )
        .await?;
        crate::graphql::loaders::prefetch::<EventLoader, _>(
            ctx,
            &["edges", "node", "event"],
            page.items.iter().map(|d| d.event_id),
        )
        .await?;
        crate::graphql::loaders::prefetch::<EventLoader, _>(
            ctx,
            &["nodes", "event"],
            page.items.iter().map(|d| d.event_id),
        )
        .await?;
        Ok(connection::build(
            page,
            request,
            total,
            |d| d.id,
            WebhookDelivery,
        ))
    }
}

/// One event on its way to one endpoint, and what its last attempt came to.
pub struct WebhookDelivery(pub webhook_delivery::Model);

/// One event on its way to one endpoint, and what its last attempt came to.
#[Object]
impl WebhookDelivery {
    /// Opaque id, prefixed `whd_` (for `redeliverWebhook`).
    async fn id(&self) -> ID {
        ID(ids::encode(IdKind::WebhookDelivery, self.0.id))
    }

    /// The event delivered.
    async fn event(&self, ctx: &Context<'_>) -> async_graphql::Result<Event> {
        Ok(Event(
            load_existing::<EventLoader>(ctx, self.0.event_id, "a delivery's event").await?,
        ))
    }

    /// Where it stands.
    async fn status(&self) -> WebhookDeliveryStatus {
        match self.0.status.as_str() {
            deliveries::DELIVERED => WebhookDeliveryStatus::Delivered,
            deliveries::FAILED => WebhookDeliveryStatus::Failed,
            _ => WebhookDeliveryStatus::Pending,
        }
    }

    /// Attempts made so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// When the next attempt is due; null unless PENDING.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == deliveries::PENDING).then_some(self.0.next_attempt_at)
    }

    /// When the last attempt was made.
    async fn last_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_attempt_at
    }

    /// The HTTP status of the last response; null when none came.
    async fn last_response_status(&self) -> Option<i32> {
        self.0.last_response_status
    }

    /// The first 1 KiB of the last response's body.
    async fn last_response_body(&self) -> Option<&str> {
        self.0.last_response_body.as_deref()
    }

    /// How long the last attempt took, in milliseconds.
    async fn last_duration_ms(&self) -> Option<i32> {
        self.0.last_duration_ms
    }

    /// Why the last attempt got no response (a timeout, a refused
    /// address, …).
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// When the endpoint answered 2xx.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }

    /// When the event was queued for the endpoint.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The endpoints of organizations a request lists, through its loader.
pub async fn endpoints_of(
    ctx: &Context<'_>,
    organization_id: uuid::Uuid,
) -> async_graphql::Result<Vec<WebhookEndpoint>> {
    Ok(ctx
        .data::<DataLoader<crate::graphql::loaders::WebhookEndpointsLoader, HashMapCache>>()?
        .load_one(organization_id)
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(WebhookEndpoint)
        .collect())
}
