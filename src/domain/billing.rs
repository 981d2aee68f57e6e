//! Tiers and usage: what an organization uses against its tier's limits,
//! requests for a higher tier, and platform administrators' answers. After
//! a downgrade what exists stays; `tiers::ensure_room` refuses anything new
//! past the limit.

use chrono::Utc;
use entity::{
    api_token, join_code, organization, team, tier_upgrade_request,
    values::{RequestStatus, Tier},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

use crate::domain::audit::AuditAction;
use crate::domain::audit::Entry;
use crate::domain::authz::{Actor, Permission};
use crate::domain::ids::{OrganizationId, TierUpgradeRequestId, new_id};
use crate::domain::tiers::{self, Resource};
use crate::domain::write::{OrgWrite, Write};
use crate::domain::{members, values};
use crate::error::{AppError, AppResult, Constraint, ResultExt};

/// How much of one limited resource is used.
#[derive(Debug, Clone, Copy)]
pub struct Used {
    pub used: u64,
    /// None: unlimited.
    pub limit: Option<u64>,
}

/// An organization's usage against its tier.
#[derive(Debug, Clone)]
pub struct Usage {
    pub members: Used,
    pub teams: Used,
    pub api_tokens: Used,
    pub join_codes: Used,
    pub ip_allowlist_entries: Used,
    pub webhook_endpoints: Used,
    pub audit_retention_days: u32,
}

/// Counts what an organization uses (pending invitations take member
/// seats; only usable tokens and codes count).
pub async fn usage<C: ConnectionTrait>(
    db: &C,
    organization: &organization::Model,
) -> AppResult<Usage> {
    let now = Utc::now();
    let of = |resource, used| Used {
        used,
        limit: tiers::limit(organization.tier, resource),
    };
    let teams = team::Entity::find()
        .filter(team::Column::OrganizationId.eq(organization.id))
        .count(db)
        .await?;
    let tokens = api_token::Entity::find()
        .filter(api_token::Column::OrganizationId.eq(organization.id))
        .filter(api_token::Column::RevokedAt.is_null())
        .filter(
            Condition::any()
                .add(api_token::Column::ExpiresAt.is_null())
                .add(api_token::Column::ExpiresAt.gt(now)),
        )
        .count(db)
        .await?;
    let codes = join_code::Entity::find()
        .filter(join_code::Column::OrganizationId.eq(organization.id))
        .all(db)
        .await?
        .iter()
        .filter(|code| crate::domain::join_codes::is_active(code, now))
        .count() as u64;
    Ok(Usage {
        members: of(
            Resource::Members,
            members::seats_used(db, organization.id).await?,
        ),
        teams: of(Resource::Teams, teams),
        api_tokens: of(Resource::ApiTokens, tokens),
        join_codes: of(Resource::JoinCodes, codes),
        ip_allowlist_entries: of(
            Resource::IpAllowlistEntries,
            entity::ip_allowlist_entry::Entity::find()
                .filter(entity::ip_allowlist_entry::Column::OrganizationId.eq(organization.id))
                .count(db)
                .await?,
        ),
        webhook_endpoints: of(
            Resource::WebhookEndpoints,
            entity::webhook_endpoint::Entity::find()
                .filter(entity::webhook_endpoint::Column::OrganizationId.eq(organization.id))
                .count(db)
                .await?,
        ),
        audit_retention_days: tiers::audit_retention_days(organization.tier),
    })
}

fn rank(tier: Tier) -> u8 {
    match tier {
        Tier::Free => 0,
        Tier::Starter => 1,
        Tier::Team => 2,
        Tier::Enterprise => 3,
    }
}

/// One pending upgrade request per organization (a partial index: `WHERE
/// status = 'PENDING'`).
const PENDING_UNIQUE: Constraint = Constraint {
    name: "uq_tier_upgrade_requests_pending",
    sqlite: "tier_upgrade_requests.organization_id",
};

/// Asks for a higher tier (billing:manage).
#[tracing::instrument(skip_all, fields(%organization_id, ?requested_tier))]
pub async fn request_upgrade(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: OrganizationId,
    requested_tier: Tier,
    reason: Option<String>,
) -> AppResult<tier_upgrade_request::Model> {
    let reason = reason
        .as_deref()
        .map(|r| values::prose("reason", r, 1000))
        .transpose()?
        .flatten();
    let organization_id = Uuid::from(organization_id);
    let write = OrgWrite::begin(db, actor, organization_id, Permission::BillingManage).await?;
    let current_tier = write.organization().tier;
    if rank(requested_tier) <= rank(current_tier) {
        return Err(AppError::bad_input(
            "requestedTier",
            "ask for a tier above the current one",
        ));
    }
    let request = tier_upgrade_request::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(organization_id),
        requested_tier: Set(requested_tier),
        reason: Set(reason),
        status: Set(RequestStatus::Pending),
        requested_by_user_id: Set(actor.user_id()),
        decided_by_user_id: Set(None),
        created_at: Set(Utc::now()),
        decided_at: Set(None),
    }
    .insert(write.txn())
    .await
    .on_unique(PENDING_UNIQUE, || {
        AppError::taken(
            "organizationId",
            "a tier upgrade request is already pending",
        )
    })?;
    write
        .commit(Entry::new(
            AuditAction::TierUpgradeRequested,
            request.id,
            json!({ "from": current_tier, "to": requested_tier, "reason": request.reason }),
        ))
        .await?;
    Ok(request)
}

/// The pending upgrade request of an organization, if any.
pub async fn pending_request<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
) -> AppResult<Option<tier_upgrade_request::Model>> {
    Ok(tier_upgrade_request::Entity::find()
        .filter(tier_upgrade_request::Column::OrganizationId.eq(organization_id))
        .filter(tier_upgrade_request::Column::Status.eq(RequestStatus::Pending))
        .one(db)
        .await?)
}

async fn change_tier<C: ConnectionTrait>(
    txn: &C,
    organization: organization::Model,
    tier: Tier,
) -> AppResult<organization::Model> {
    let mut active: organization::ActiveModel = organization.into();
    active.tier = Set(tier);
    active.updated_at = Set(Utc::now());
    Ok(active.update(txn).await?)
}

/// Approves or rejects a pending request (platform administrators only).
#[tracing::instrument(skip_all, fields(%request_id, approve))]
pub async fn decide_upgrade(
    db: &DatabaseConnection,
    actor: &Actor,
    request_id: TierUpgradeRequestId,
    approve: bool,
) -> AppResult<(tier_upgrade_request::Model, organization::Model)> {
    let write = Write::begin(db).await?;
    let request = tier_upgrade_request::Entity::find_by_id(Uuid::from(request_id))
        .one(write.txn())
        .await?
        .ok_or(AppError::NotFound)?;
    let write = write
        .authorize_platform_admin(actor, request.organization_id)
        .await?;
    let organization = write.organization().clone();
    if request.status != RequestStatus::Pending {
        return Err(AppError::conflict("this request is already answered"));
    }
    let before = organization.tier;
    let organization = if approve {
        change_tier(write.txn(), organization, request.requested_tier).await?
    } else {
        organization
    };
    let mut active: tier_upgrade_request::ActiveModel = request.into();
    active.status = Set(if approve {
        RequestStatus::Accepted
    } else {
        RequestStatus::Declined
    });
    active.decided_by_user_id = Set(actor.user_id());
    active.decided_at = Set(Some(Utc::now()));
    let request = active.update(write.txn()).await?;
    write
        .commit(Entry::new(
            if approve {
                AuditAction::TierUpgradeApproved
            } else {
                AuditAction::TierUpgradeRejected
            },
            request.id,
            json!({ "before": { "tier": before }, "after": { "tier": organization.tier } }),
        ))
        .await?;
    Ok((request, organization))
}

/// Sets a tier directly (platform administrators only).
#[tracing::instrument(skip_all, fields(%organization_id, ?tier))]
pub async fn set_tier(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: OrganizationId,
    tier: Tier,
) -> AppResult<organization::Model> {
    let write = Write::begin(db)
        .await?
        .authorize_platform_admin(actor, organization_id.into())
        .await?;
    let organization = write.organization().clone();
    let before = organization.tier;
    let organization = change_tier(write.txn(), organization, tier).await?;
    write
        .commit(Entry::new(
            AuditAction::TierSet,
            organization.id,
            json!({ "before": { "tier": before }, "after": { "tier": tier } }),
        ))
        .await?;
    Ok(organization)
}
