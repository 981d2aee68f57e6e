use async_graphql::{
    Context, Enum, ID, Object, SimpleObject,
    dataloader::{DataLoader, HashMapCache},
};
use chrono::{DateTime, Utc};
use entity::{ownership_transfer, tier_upgrade_request};

use crate::domain::billing;
use crate::domain::ownership;
use crate::error::AppError;
use crate::graphql::ids::{self, IdKind};
use crate::graphql::loaders::MemberLoader;
use crate::graphql::types::{Member, enums::Tier};

/// Where an ownership transfer or a tier upgrade request stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::values::RequestStatus")]
pub enum RequestStatus {
    /// Waiting for an answer.
    Pending,
    /// Accepted (a transfer) or approved (a tier request).
    Accepted,
    /// Declined (a transfer) or rejected (a tier request).
    Declined,
    /// Withdrawn by whoever made it.
    Cancelled,
    /// Not answered in time.
    Expired,
}

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

/// A request for a higher tier, answered by a platform administrator.
pub struct TierUpgradeRequest(pub tier_upgrade_request::Model);

/// A request for a higher tier, answered by a platform administrator.
#[Object]
impl TierUpgradeRequest {
    /// Opaque id, prefixed `tur_`.
    async fn id(&self) -> ID {
        ID(ids::encode(IdKind::TierUpgradeRequest, self.0.id))
    }

    /// The tier asked for.
    async fn requested_tier(&self) -> Tier {
        self.0.requested_tier.into()
    }

    /// Why, in the requester's words.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }

    /// PENDING, ACCEPTED (approved) or DECLINED (rejected).
    async fn status(&self) -> RequestStatus {
        self.0.status.into()
    }

    /// When it was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it was answered.
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
}

/// How much of one limited resource is used.
#[derive(SimpleObject)]
pub struct UsageCount {
    /// In use now.
    pub used: u64,
    /// The tier's limit; null for unlimited.
    pub limit: Option<u64>,
}

impl From<billing::Used> for UsageCount {
    fn from(used: billing::Used) -> Self {
        Self {
            used: used.used,
            limit: used.limit,
        }
    }
}

/// An organization's usage against its tier's limits.
#[derive(SimpleObject)]
pub struct Usage {
    /// Members, pending invitations included.
    pub members: UsageCount,
    /// Teams.
    pub teams: UsageCount,
    /// Usable API tokens.
    pub api_tokens: UsageCount,
    /// Usable join codes.
    pub join_codes: UsageCount,
    /// IP allowlist entries.
    pub ip_allowlist_entries: UsageCount,
    /// Days of audit log kept.
    pub audit_retention_days: u32,
}

impl From<billing::Usage> for Usage {
    fn from(usage: billing::Usage) -> Self {
        Self {
            members: usage.members.into(),
            teams: usage.teams.into(),
            api_tokens: usage.api_tokens.into(),
            join_codes: usage.join_codes.into(),
            ip_allowlist_entries: usage.ip_allowlist_entries.into(),
            audit_retention_days: usage.audit_retention_days,
        }
    }
}
