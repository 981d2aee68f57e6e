//! Tiers: asking for a higher one, answering that request (platform
//! administrators), and setting one directly.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::domain::billing;
use crate::domain::ids;
use crate::graphql::context::ContextExt;
use crate::graphql::guards::{Person, SignedIn};
use crate::graphql::types::{Organization, billing::TierUpgradeRequest, enums::Tier};

#[derive(Default)]
pub struct BillingMutations;

/// A tier to ask for.
#[derive(InputObject)]
pub struct RequestTierUpgradeInput {
    /// The organization (`org_` id).
    pub organization_id: ID,
    /// A tier above the current one.
    pub requested_tier: Tier,
    /// Why; shown to the platform administrators.
    pub reason: Option<String>,
}

/// A pending tier request to answer.
#[derive(InputObject)]
pub struct TierUpgradeRequestInput {
    /// The request (`tur_` id).
    pub request_id: ID,
}

/// The request and the organization after the change.
#[derive(SimpleObject)]
pub struct TierUpgradePayload {
    /// The request.
    pub request: TierUpgradeRequest,
    /// The organization, with its tier now.
    pub organization: Organization,
}

/// The result of `requestTierUpgrade`.
#[derive(SimpleObject)]
pub struct RequestTierUpgradePayload {
    /// The pending request.
    pub request: TierUpgradeRequest,
}

/// A tier to set directly.
#[derive(InputObject)]
pub struct SetOrganizationTierInput {
    /// The organization (`org_` id).
    pub organization_id: ID,
    /// The tier.
    pub tier: Tier,
}

/// The result of `setOrganizationTier`.
#[derive(SimpleObject)]
pub struct SetOrganizationTierPayload {
    /// The organization, with its tier now.
    pub organization: Organization,
}

#[Object]
impl BillingMutations {
    /// Asks for a higher tier (billing:manage).
    #[graphql(guard = "SignedIn")]
    async fn request_tier_upgrade(
        &self,
        ctx: &Context<'_>,
        input: RequestTierUpgradeInput,
    ) -> async_graphql::Result<RequestTierUpgradePayload> {
        let request = billing::request_upgrade(
            ctx.db()?,
            ctx.actor()?,
            ids::parse::<ids::OrganizationId>(&input.organization_id, "organizationId")?,
            input.requested_tier.into(),
            input.reason,
        )
        .await?;
        Ok(RequestTierUpgradePayload {
            request: TierUpgradeRequest(request),
        })
    }

    /// Approves a pending tier request (platform administrators only).
    #[graphql(guard = "Person")]
    async fn approve_tier_upgrade(
        &self,
        ctx: &Context<'_>,
        input: TierUpgradeRequestInput,
    ) -> async_graphql::Result<TierUpgradePayload> {
        let id = ids::parse::<ids::TierUpgradeRequestId>(&input.request_id, "requestId")?;
        let (request, organization) =
            billing::decide_upgrade(ctx.db()?, ctx.actor()?, id, true).await?;
        Ok(TierUpgradePayload {
            request: TierUpgradeRequest(request),
            organization: Organization(organization),
        })
    }

    /// Rejects a pending tier request (platform administrators only).
    #[graphql(guard = "Person")]
    async fn reject_tier_upgrade(
        &self,
        ctx: &Context<'_>,
        input: TierUpgradeRequestInput,
    ) -> async_graphql::Result<TierUpgradePayload> {
        let id = ids::parse::<ids::TierUpgradeRequestId>(&input.request_id, "requestId")?;
        let (request, organization) =
            billing::decide_upgrade(ctx.db()?, ctx.actor()?, id, false).await?;
        Ok(TierUpgradePayload {
            request: TierUpgradeRequest(request),
            organization: Organization(organization),
        })
    }

    /// Sets an organization's tier (platform administrators only). After a
    /// downgrade what exists stays, but nothing new past the limit fits.
    #[graphql(guard = "Person")]
    async fn set_organization_tier(
        &self,
        ctx: &Context<'_>,
        input: SetOrganizationTierInput,
    ) -> async_graphql::Result<SetOrganizationTierPayload> {
        let organization = billing::set_tier(
            ctx.db()?,
            ctx.actor()?,
            ids::parse::<ids::OrganizationId>(&input.organization_id, "organizationId")?,
            input.tier.into(),
        )
        .await?;
        Ok(SetOrganizationTierPayload {
            organization: Organization(organization),
        })
    }
}
