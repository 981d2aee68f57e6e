//! An ownership transfer, as clients read it.

use async_graphql::{
    Context, ID, Object,
    dataloader::{DataLoader, HashMapCache},
};
use chrono::{DateTime, Utc};
use entity::ownership_transfer;

use crate::domain::ids::{self, IdKind};
use crate::domain::ownership;
use crate::error::AppError;
use crate::graphql::loaders::MemberLoader;
use crate::graphql::types::{Member, enums::RequestStatus};

/// An OWNER's offer to hand ownership to another member, open for seven
/// days.
pub struct OwnershipTransfer(pub ownership_transfer::Model);

async fn member(ctx: &Context<'_>, id: uuid::Uuid) -> async_graphql::Result<Member> {
    let member = ctx
        .data::<DataLoader<MemberLoader, HashMapCache>>()?
        .load_one(id)
        .await?
        .ok_or_else(|| AppError::internal("a transfer's member is missing"))?;
    Ok(Member::from(member))
}

/// An OWNER's offer to hand ownership to another member, open for seven
/// days.
#[Object]
impl OwnershipTransfer {
    /// Opaque id, prefixed `xfer_`.
    async fn id(&self) -> ID {
        ID(ids::encode(IdKind::OwnershipTransfer, self.0.id))
    }

    /// The owner who offered it; becomes ADMIN on acceptance.
    async fn from(&self, ctx: &Context<'_>) -> async_graphql::Result<Member> {
        member(ctx, self.0.from_member_id).await
    }

    /// The member it is offered to; becomes OWNER on acceptance.
    async fn to(&self, ctx: &Context<'_>) -> async_graphql::Result<Member> {
        member(ctx, self.0.to_member_id).await
    }

    /// PENDING until answered, EXPIRED once `expiresAt` passes unanswered.
    async fn status(&self) -> RequestStatus {
        if self.0.status == entity::values::RequestStatus::Pending
            && !ownership::is_pending(&self.0)
        {
            RequestStatus::Expired
        } else {
            self.0.status.into()
        }
    }

    /// When the offer lapses.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }

    /// When it was offered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
