//! Ownership transfers: offering ownership to another member, and that
//! member's answer.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::domain::ids;
use crate::domain::ownership;
use crate::graphql::context::ContextExt;
use crate::graphql::guards::Person;
use crate::graphql::types::ownership::OwnershipTransfer;

#[derive(Default)]
pub struct OwnershipMutations;

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

fn transfer_id(
    input: &OwnershipTransferInput,
) -> Result<crate::domain::ids::OwnershipTransferId, crate::error::AppError> {
    ids::parse::<ids::OwnershipTransferId>(&input.transfer_id, "transferId")
}

#[Object]
impl OwnershipMutations {
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
            ids::parse::<ids::OrganizationId>(&input.organization_id, "organizationId")?,
            ids::parse::<ids::MemberId>(&input.new_owner_member_id, "newOwnerMemberId")?,
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
}
