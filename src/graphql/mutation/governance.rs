use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::domain::{billing, ownership};
use crate::graphql::context::ContextExt;
use crate::graphql::guards::{Person, SignedIn};
use crate::graphql::ids::{self, IdKind};
use crate::graphql::types::{
    Organization,
    enums::Tier,
    governance::{OwnershipTransfer, TierUpgradeRequest},
};

#[derive(Default)]
pub struct GovernanceMutations;

/// Whom to offer ownership.
#[derive(InputObject)]
pub struct TransferOwnershipInput {
    /// The organization (`org_` id).
    pub organization_id: ID,
    /// The member (`mem_` id) to become OWNER.
    pub new_owner_member_id: ID,
}

/// A pending ownership transfer to answer.
#[derive(InputObject)]
pub struct OwnershipTransferInput {
    /// The transfer (`xfer_` id).
    pub transfer_id: ID,
}

/// The transfer after the change.
#[derive(SimpleObject)]
pub struct OwnershipTransferPayload {
    /// The transfer.
    pub transfer: OwnershipTransfer,
}

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

fn transfer_id(
    input: &OwnershipTransferInput,
) -> Result<crate::domain::ids::OwnershipTransferId, crate::error::AppError> {
    ids::parse(IdKind::OwnershipTransfer, &input.transfer_id, "transferId")
}

#[Object]
impl GovernanceMutations {
    /// Offers ownership to another member (OWNER only); one offer at a
    /// time, open for seven days.
    #[graphql(guard = "Person")]
    async fn transfer_ownership(
        &self,
        ctx: &Context<'_>,
        input: TransferOwnershipInput,
    ) -> async_graphql::Result<OwnershipTransferPayload> {
        let transfer = ownership::offer(
            ctx.db()?,
            ctx.actor()?,
            ids::parse(
                IdKind::Organization,
                &input.organization_id,
                "organizationId",
            )?,
            ids::parse(
                IdKind::Member,
                &input.new_owner_member_id,
                "newOwnerMemberId",
            )?,
        )
        .await?;
        Ok(OwnershipTransferPayload {
            transfer: OwnershipTransfer(transfer),
        })
    }

    /// The new owner accepts: they become OWNER and the initiator ADMIN.
    #[graphql(guard = "Person")]
    async fn accept_ownership_transfer(
        &self,
        ctx: &Context<'_>,
        input: OwnershipTransferInput,
    ) -> async_graphql::Result<OwnershipTransferPayload> {
        let transfer = ownership::accept(ctx.db()?, ctx.actor()?, transfer_id(&input)?).await?;
        Ok(OwnershipTransferPayload {
            transfer: OwnershipTransfer(transfer),
        })
    }

    /// The new owner declines.
    #[graphql(guard = "Person")]
    async fn decline_ownership_transfer(
        &self,
        ctx: &Context<'_>,
        input: OwnershipTransferInput,
    ) -> async_graphql::Result<OwnershipTransferPayload> {
        let transfer = ownership::decline(ctx.db()?, ctx.actor()?, transfer_id(&input)?).await?;
        Ok(OwnershipTransferPayload {
            transfer: OwnershipTransfer(transfer),
        })
    }

    /// The initiator withdraws the offer.
    #[graphql(guard = "Person")]
    async fn cancel_ownership_transfer(
        &self,
        ctx: &Context<'_>,
        input: OwnershipTransferInput,
    ) -> async_graphql::Result<OwnershipTransferPayload> {
        let transfer = ownership::cancel(ctx.db()?, ctx.actor()?, transfer_id(&input)?).await?;
        Ok(OwnershipTransferPayload {
            transfer: OwnershipTransfer(transfer),
        })
    }

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
            ids::parse(
                IdKind::Organization,
                &input.organization_id,
                "organizationId",
            )?,
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
        let id = ids::parse(IdKind::TierUpgradeRequest, &input.request_id, "requestId")?;
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
        let id = ids::parse(IdKind::TierUpgradeRequest, &input.request_id, "requestId")?;
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
            ids::parse(
                IdKind::Organization,
                &input.organization_id,
                "organizationId",
            )?,
            input.tier.into(),
        )
        .await?;
        Ok(SetOrganizationTierPayload {
            organization: Organization(organization),
        })
    }
}
