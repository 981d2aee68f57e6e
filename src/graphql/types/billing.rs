//! Tiers as clients read them: a tier upgrade request, and an
//! organization's usage against its tier's limits.

use async_graphql::{ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::tier_upgrade_request;

use crate::domain::billing;
use crate::domain::ids::{self, IdKind};
use crate::graphql::types::enums::{RequestStatus, Tier};

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
    /// Webhook endpoints, enabled or not.
    pub webhook_endpoints: UsageCount,
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
            webhook_endpoints: usage.webhook_endpoints.into(),
            audit_retention_days: usage.audit_retention_days,
        }
    }
}
