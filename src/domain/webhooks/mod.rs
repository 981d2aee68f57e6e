//! Webhooks (issue #24): an organization's events, posted to the
//! endpoints it registers.
//!
//! - Endpoints are managed under webhooks:manage (OWNER, ADMIN), within
//!   the tier's limit. Their URL is https on a public host; plain http and
//!   private, loopback or link-local targets only where the server allows
//!   them (development). The host is checked again at connect time, after
//!   DNS (`domain::outbound`), against rebinding.
//! - The signing secret (`whsec_…`, Standard Webhooks) is shown once, at
//!   creation and on rotation, and kept sealed at rest: the sender needs
//!   it to sign.
//! - Delivery is an outbox: the event's transaction queues one row per
//!   listening endpoint ([`enqueue`]), so a change that rolls back sends
//!   nothing and a crash loses nothing. The sender ([`sender`]) claims a
//!   due row with a conditional update, so across instances one attempt
//!   is made once, retries with exponential backoff and jitter for about
//!   three days ([`deliveries::RETRY_DELAYS`]), and disables an endpoint
//!   that has failed for a day, mailing the organization's owners.

pub mod deliveries;
pub mod sender;
pub mod signing;

use std::collections::BTreeSet;
use std::sync::LazyLock;

use chrono::Utc;
use entity::{event, webhook_delivery, webhook_endpoint};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, ModelTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::auth::Sealer;
use crate::domain::audit::{AuditAction, Entry};
use crate::domain::authz::{Actor, Permission};
use crate::domain::events::EventType;
use crate::domain::ids::{OrganizationId, WebhookDeliveryId, WebhookEndpointId, new_id};
use crate::domain::outbound;
use crate::domain::tiers::{self, Resource};
use crate::domain::values;
use crate::domain::write::{OrgWrite, Write};
use crate::error::{AppError, AppResult};

/// The longest endpoint URL.
const MAX_URL_CHARS: usize = 2048;

/// The longest description.
const MAX_DESCRIPTION_CHARS: usize = 500;

/// Why an endpoint is disabled, as stored and shown.
pub const DISABLED_BY_HAND: &str = "MANUAL";
pub const DISABLED_FAILING: &str = "FAILING";

/// Which targets the server may post to (`ORGQL_WEBHOOK_ALLOW_HTTP`,
/// `ORGQL_WEBHOOK_ALLOW_PRIVATE_TARGETS`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Targets {
    pub allow_http: bool,
    pub allow_private: bool,
}

impl Targets {
    /// An endpoint URL as stored: absolute, https (or http where allowed),
    /// no credentials, and a host that is a name or a public address
    /// unless private targets are allowed. BAD_USER_INPUT naming `url`.
    pub fn checked_url(&self, text: &str) -> AppResult<String> {
        let refuse = |message: &str| AppError::bad_input("url", message);
        let text = values::text("url", text, MAX_URL_CHARS)?;
        let url = url::Url::parse(&text).map_err(|_| refuse("not an absolute URL"))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            _ => return Err(refuse("must be an https URL")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("must not carry a user name or password"));
        }
        if url.host().is_none() {
            return Err(refuse("must name a host"));
        }
        if !self.allow_private && !outbound::public_host(&url) {
            return Err(refuse(
                "must name a public host, not a private, loopback or link-local address",
            ));
        }
        Ok(url.into())
    }
}

/// Wakes the senders once a write that queued deliveries has committed.
/// One per process: every server in it looks at its own database, so a
/// wake that finds nothing due costs one query.
static DELIVERIES_QUEUED: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Tells every sender in this process that deliveries may be due (after a
/// commit that queued some; tests that move the clock call it too).
pub fn wake_senders() {
    DELIVERIES_QUEUED.notify_waiters();
}

/// Resolves at the next [`wake_senders`].
pub(crate) fn deliveries_queued() -> tokio::sync::futures::Notified<'static> {
    DELIVERIES_QUEUED.notified()
}

/// An endpoint to register, as given to `createWebhookEndpoint`.
pub struct NewEndpoint {
    pub organization_id: OrganizationId,
    pub url: String,
    /// The types it receives; empty: every type.
    pub types: Vec<EventType>,
    pub description: Option<String>,
}

/// A change to an endpoint; `None` leaves a field.
#[derive(Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub types: Option<Vec<EventType>>,
    pub description: Option<String>,
    /// `true` enables a disabled endpoint (its failure clock starts over);
    /// `false` disables it.
    pub enabled: Option<bool>,
}

/// The types an endpoint row receives; empty: every type.
pub fn types_of(endpoint: &webhook_endpoint::Model) -> Vec<EventType> {
    endpoint
        .event_types
        .as_array()
        .map(|types| {
            types
                .iter()
                .filter_map(|t| t.as_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn stored_types(types: Vec<EventType>) -> Value {
    let distinct: BTreeSet<&'static str> = types.into_iter().map(EventType::as_str).collect();
    json!(distinct)
}

fn description(text: Option<&str>) -> AppResult<String> {
    Ok(
        values::prose("description", text.unwrap_or(""), MAX_DESCRIPTION_CHARS)?
            .unwrap_or_default(),
    )
}

/// What an endpoint's audit entries record (never its secret).
fn described(endpoint: &webhook_endpoint::Model) -> Value {
    json!({
        "url": endpoint.url,
        "types": endpoint.event_types,
        "description": endpoint.description,
        "enabled": endpoint.enabled,
    })
}

/// Registers an endpoint (webhooks:manage, within the tier's limit) and
/// returns it with its signing secret, shown this once.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    sealer: &Sealer,
    targets: Targets,
    input: NewEndpoint,
) -> AppResult<(webhook_endpoint::Model, String)> {
    let url = targets.checked_url(&input.url)?;
    let description = description(input.description.as_deref())?;
    let organization_id = Uuid::from(input.organization_id);
    let write = OrgWrite::begin(db, actor, organization_id, Permission::WebhooksManage).await?;
    let used = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.eq(organization_id))
        .count(write.txn())
        .await?;
    tiers::ensure_room(
        write.organization().tier,
        Resource::WebhookEndpoints,
        used,
        1,
    )?;
    let id = new_id();
    let secret = signing::new_secret();
    let now = Utc::now();
    let endpoint = webhook_endpoint::ActiveModel {
        id: Set(id),
        organization_id: Set(organization_id),
        url: Set(url),
        description: Set(description),
        event_types: Set(stored_types(input.types)),
        secret_sealed: Set(sealer.seal(secret.as_bytes(), id.as_bytes())?),
        enabled: Set(true),
        disabled_reason: Set(None),
        failing_since: Set(None),
        created_by_user_id: Set(actor.user_id()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(write.txn())
    .await?;
    write
        .commit(Entry::new(
            AuditAction::WebhookEndpointCreated,
            endpoint.id,
            described(&endpoint),
        ))
        .await?;
    Ok((endpoint, secret))
}

/// Opens a write on an endpoint's organization (webhooks:manage): an
/// endpoint elsewhere is NOT_FOUND.
async fn begin<'a>(
    db: &DatabaseConnection,
    actor: &'a Actor,
    endpoint_id: WebhookEndpointId,
) -> AppResult<(OrgWrite<'a>, webhook_endpoint::Model)> {
    let write = Write::begin(db).await?;
    let organization_id = find(write.txn(), endpoint_id).await?.organization_id;
    let write = write
        .authorize(actor, organization_id, Permission::WebhooksManage)
        .await?;
    let endpoint = find(write.txn(), endpoint_id).await?;
    Ok((write, endpoint))
}

async fn find<C: ConnectionTrait>(
    db: &C,
    endpoint_id: WebhookEndpointId,
) -> AppResult<webhook_endpoint::Model> {
    webhook_endpoint::Entity::find_by_id(Uuid::from(endpoint_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Changes an endpoint's URL, types, description or state
/// (webhooks:manage).
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    targets: Targets,
    endpoint_id: WebhookEndpointId,
    patch: EndpointPatch,
) -> AppResult<webhook_endpoint::Model> {
    let url = patch
        .url
        .as_deref()
        .map(|u| targets.checked_url(u))
        .transpose()?;
    let description = patch
        .description
        .as_deref()
        .map(|d| description(Some(d)))
        .transpose()?;
    let (write, before) = begin(db, actor, endpoint_id).await?;
    let mut row: webhook_endpoint::ActiveModel = before.clone().into();
    if let Some(url) = url {
        row.url = Set(url);
    }
    if let Some(description) = description {
        row.description = Set(description);
    }
    if let Some(types) = patch.types {
        row.event_types = Set(stored_types(types));
    }
    match patch.enabled {
        Some(true) if !before.enabled => {
            row.enabled = Set(true);
            row.disabled_reason = Set(None);
            row.failing_since = Set(None);
        }
        Some(false) if before.enabled => {
            row.enabled = Set(false);
            row.disabled_reason = Set(Some(DISABLED_BY_HAND.to_owned()));
        }
        _ => {}
    }
    row.updated_at = Set(Utc::now());
    let after = row.update(write.txn()).await?;
    write
        .commit(Entry::new(
            AuditAction::WebhookEndpointUpdated,
            after.id,
            json!({ "before": described(&before), "after": described(&after) }),
        ))
        .await?;
    Ok(after)
}

/// Gives an endpoint a new signing secret (webhooks:manage), shown this
/// once; deliveries from now on are signed with it.
pub async fn rotate_secret(
    db: &DatabaseConnection,
    actor: &Actor,
    sealer: &Sealer,
    endpoint_id: WebhookEndpointId,
) -> AppResult<(webhook_endpoint::Model, String)> {
    let (write, before) = begin(db, actor, endpoint_id).await?;
    let secret = signing::new_secret();
    let mut row: webhook_endpoint::ActiveModel = before.clone().into();
    row.secret_sealed = Set(sealer.seal(secret.as_bytes(), before.id.as_bytes())?);
    row.updated_at = Set(Utc::now());
    let after = row.update(write.txn()).await?;
    write
        .commit(Entry::new(
            AuditAction::WebhookEndpointSecretRotated,
            after.id,
            json!({ "url": after.url }),
        ))
        .await?;
    Ok((after, secret))
}

/// Disables an endpoint (webhooks:manage): nothing more is queued for it,
/// and what is queued waits until it is enabled again.
pub async fn disable(
    db: &DatabaseConnection,
    actor: &Actor,
    endpoint_id: WebhookEndpointId,
) -> AppResult<webhook_endpoint::Model> {
    let (write, before) = begin(db, actor, endpoint_id).await?;
    if !before.enabled {
        return Ok(before);
    }
    let mut row: webhook_endpoint::ActiveModel = before.into();
    row.enabled = Set(false);
    row.disabled_reason = Set(Some(DISABLED_BY_HAND.to_owned()));
    row.updated_at = Set(Utc::now());
    let after = row.update(write.txn()).await?;
    write
        .commit(Entry::new(
            AuditAction::WebhookEndpointDisabled,
            after.id,
            json!({ "url": after.url, "reason": DISABLED_BY_HAND }),
        ))
        .await?;
    Ok(after)
}

/// Deletes an endpoint with its deliveries (webhooks:manage).
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    endpoint_id: WebhookEndpointId,
) -> AppResult<Uuid> {
    let (write, endpoint) = begin(db, actor, endpoint_id).await?;
    let id = endpoint.id;
    let described = described(&endpoint);
    endpoint.delete(write.txn()).await?;
    write
        .commit(Entry::new(
            AuditAction::WebhookEndpointDeleted,
            id,
            described,
        ))
        .await?;
    Ok(id)
}

/// Queues a delivery again, now (webhooks:manage): a failed one gets a
/// fresh round of retries, a delivered one is sent once more.
pub async fn redeliver(
    db: &DatabaseConnection,
    actor: &Actor,
    delivery_id: WebhookDeliveryId,
) -> AppResult<webhook_delivery::Model> {
    let write = Write::begin(db).await?;
    let delivery = webhook_delivery::Entity::find_by_id(Uuid::from(delivery_id))
        .one(write.txn())
        .await?
        .ok_or(AppError::NotFound)?;
    let write = write
        .authorize(actor, delivery.organization_id, Permission::WebhooksManage)
        .await?;
    let mut row: webhook_delivery::ActiveModel = delivery.clone().into();
    row.status = Set(deliveries::PENDING.to_owned());
    row.attempts = Set(0);
    row.next_attempt_at = Set(Utc::now());
    row.claimed_until = Set(None);
    let after = row.update(write.txn()).await?;
    write
        .commit(Entry::new(
            AuditAction::WebhookRedeliveryRequested,
            delivery.endpoint_id,
            json!({ "eventId": delivery.event_id, "deliveryId": delivery.id }),
        ))
        .await?;
    wake_senders();
    Ok(after)
}

/// Queues `event` for every enabled endpoint of its organization that
/// receives its type, in the event's transaction. Returns whether any
/// delivery was queued.
pub(crate) async fn enqueue<C: ConnectionTrait>(
    txn: &C,
    event: &event::Model,
    event_type: EventType,
) -> AppResult<bool> {
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.eq(event.organization_id))
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .all(txn)
        .await?;
    let listening: Vec<_> = endpoints
        .into_iter()
        .filter(|endpoint| {
            let types = types_of(endpoint);
            types.is_empty() || types.contains(&event_type)
        })
        .map(|endpoint| webhook_delivery::ActiveModel {
            id: Set(new_id()),
            endpoint_id: Set(endpoint.id),
            event_id: Set(event.id),
            organization_id: Set(event.organization_id),
            status: Set(deliveries::PENDING.to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(event.occurred_at),
            claimed_until: Set(None),
            last_attempt_at: Set(None),
            last_response_status: Set(None),
            last_response_body: Set(None),
            last_duration_ms: Set(None),
            last_error: Set(None),
            delivered_at: Set(None),
            created_at: Set(event.occurred_at),
        })
        .collect();
    if listening.is_empty() {
        return Ok(false);
    }
    webhook_delivery::Entity::insert_many(listening)
        .exec(txn)
        .await?;
    Ok(true)
}
