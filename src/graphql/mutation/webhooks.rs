use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::domain::events::EventType;
use crate::domain::ids::{self, WebhookDeliveryId, WebhookEndpointId};
use crate::domain::webhooks::{self, EndpointPatch, NewEndpoint};
use crate::graphql::context::ContextExt;
use crate::graphql::guards::SignedIn;
use crate::graphql::types::webhook::{WebhookDelivery, WebhookEndpoint};

#[derive(Default)]
pub struct WebhookMutations;

/// An endpoint to register.
#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// The organization (`org_` id).
    pub organization_id: ID,
    /// An https URL on a public host.
    pub url: String,
    /// The event types to receive; empty or absent: every type.
    #[graphql(default)]
    pub types: Vec<EventType>,
    /// A note for people (at most 500 characters).
    pub description: Option<String>,
}

/// Changes to an endpoint; fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    /// The endpoint (`whe_` id).
    pub endpoint_id: ID,
    /// A new URL.
    pub url: Option<String>,
    /// The whole new list of types (empty: every type).
    pub types: Option<Vec<EventType>>,
    /// A new note.
    pub description: Option<String>,
    /// `true` enables a disabled endpoint (deliveries waiting for it are
    /// sent); `false` disables it.
    pub enabled: Option<bool>,
}

/// An endpoint to act on.
#[derive(InputObject)]
pub struct WebhookEndpointInput {
    /// The endpoint (`whe_` id).
    pub endpoint_id: ID,
}

/// A delivery to make again.
#[derive(InputObject)]
pub struct RedeliverWebhookInput {
    /// The delivery (`whd_` id, from `WebhookEndpoint.deliveries`).
    pub delivery_id: ID,
}

/// An endpoint with its signing secret.
#[derive(SimpleObject)]
pub struct WebhookEndpointSecretPayload {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// The signing secret (`whsec_…`, Standard Webhooks), shown this once:
    /// verify deliveries with it.
    pub secret: String,
}

/// The endpoint after the change.
#[derive(SimpleObject)]
pub struct WebhookEndpointPayload {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
}

/// The result of `deleteWebhookEndpoint`.
#[derive(SimpleObject)]
pub struct DeleteWebhookEndpointPayload {
    /// The id the endpoint had.
    pub deleted_endpoint_id: ID,
}

/// The delivery, queued again.
#[derive(SimpleObject)]
pub struct RedeliverWebhookPayload {
    /// The delivery, PENDING with its attempts counted from zero.
    pub delivery: WebhookDelivery,
}

fn endpoint_id(id: &ID) -> Result<WebhookEndpointId, crate::error::AppError> {
    ids::parse::<WebhookEndpointId>(id, "endpointId")
}

#[Object]
impl WebhookMutations {
    /// Registers a webhook endpoint (webhooks:manage, within the tier's
    /// limit). Returns its signing secret, shown this once.
    #[graphql(guard = "SignedIn")]
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> async_graphql::Result<WebhookEndpointSecretPayload> {
        let organization_id =
            ids::parse::<ids::OrganizationId>(&input.organization_id, "organizationId")?;
        let (endpoint, secret) = webhooks::create(
            ctx.db()?,
            ctx.actor()?,
            &ctx.auth()?.sealer,
            ctx.config()?.webhook_targets(),
            NewEndpoint {
                organization_id,
                url: input.url,
                types: input.types,
                description: input.description,
            },
        )
        .await?;
        Ok(WebhookEndpointSecretPayload {
            endpoint: WebhookEndpoint(endpoint),
            secret,
        })
    }

    /// Changes an endpoint's URL, types, description, or enables or
    /// disables it (webhooks:manage).
    #[graphql(guard = "SignedIn")]
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookEndpointInput,
    ) -> async_graphql::Result<WebhookEndpointPayload> {
        let endpoint = webhooks::update(
            ctx.db()?,
            ctx.actor()?,
            ctx.config()?.webhook_targets(),
            endpoint_id(&input.endpoint_id)?,
            EndpointPatch {
                url: input.url,
                types: input.types,
                description: input.description,
                enabled: input.enabled,
            },
        )
        .await?;
        Ok(WebhookEndpointPayload {
            endpoint: WebhookEndpoint(endpoint),
        })
    }

    /// Gives an endpoint a new signing secret (webhooks:manage), shown
    /// this once; the old one signs nothing more.
    #[graphql(guard = "SignedIn")]
    async fn rotate_webhook_endpoint_secret(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointInput,
    ) -> async_graphql::Result<WebhookEndpointSecretPayload> {
        let (endpoint, secret) = webhooks::rotate_secret(
            ctx.db()?,
            ctx.actor()?,
            &ctx.auth()?.sealer,
            endpoint_id(&input.endpoint_id)?,
        )
        .await?;
        Ok(WebhookEndpointSecretPayload {
            endpoint: WebhookEndpoint(endpoint),
            secret,
        })
    }

    /// Disables an endpoint (webhooks:manage): nothing is sent to it
    /// until it is enabled again.
    #[graphql(guard = "SignedIn")]
    async fn disable_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointInput,
    ) -> async_graphql::Result<WebhookEndpointPayload> {
        let endpoint =
            webhooks::disable(ctx.db()?, ctx.actor()?, endpoint_id(&input.endpoint_id)?).await?;
        Ok(WebhookEndpointPayload {
            endpoint: WebhookEndpoint(endpoint),
        })
    }

    /// Deletes an endpoint and its deliveries (webhooks:manage).
    #[graphql(guard = "SignedIn")]
    async fn delete_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointInput,
    ) -> async_graphql::Result<DeleteWebhookEndpointPayload> {
        let id =
            webhooks::delete(ctx.db()?, ctx.actor()?, endpoint_id(&input.endpoint_id)?).await?;
        Ok(DeleteWebhookEndpointPayload {
            deleted_endpoint_id: ID(ids::encode(ids::IdKind::WebhookEndpoint, id)),
        })
    }

    /// Queues a delivery again, due now, with a fresh round of retries
    /// (webhooks:manage).
    #[graphql(guard = "SignedIn")]
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        input: RedeliverWebhookInput,
    ) -> async_graphql::Result<RedeliverWebhookPayload> {
        let delivery = webhooks::redeliver(
            ctx.db()?,
            ctx.actor()?,
            ids::parse::<WebhookDeliveryId>(&input.delivery_id, "deliveryId")?,
        )
        .await?;
        Ok(RedeliverWebhookPayload {
            delivery: WebhookDelivery(delivery),
        })
    }
}
