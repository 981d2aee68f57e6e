//! The audit trail: every mutation writes one entry in its own transaction,
//! so there is no change without its entry and no entry without its change.
//! Entries are immutable: nothing here updates one, and only retention
//! (`purge`) deletes them.

use chrono::{DateTime, Duration, Utc};
use entity::{
    audit_entry, organization,
    values::{ActorKind, Tier},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, sea_query::Query,
};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::{Actor, RequestMeta};
use crate::domain::ids::new_id;
use crate::domain::pagination::{self, Page, PageRequest};
use crate::domain::tiers;
use crate::error::{AppError, AppResult};

/// Who an entry names as the actor.
#[derive(Debug, Clone)]
pub struct AuditActor {
    pub kind: ActorKind,
    pub id: Option<Uuid>,
    pub email: Option<String>,
}

impl AuditActor {
    /// The caller: a person, or an API token (kind API_TOKEN, the token's
    /// id, no email).
    pub fn user(actor: &Actor) -> Self {
        match actor.api_token() {
            Some(grant) => Self {
                kind: ActorKind::ApiToken,
                id: Some(grant.token_id),
                email: None,
            },
            None => Self {
                kind: ActorKind::User,
                id: Some(actor.user_id),
                email: Some(actor.email.clone()),
            },
        }
    }

    /// A platform administrator acting outside their own memberships.
    pub fn platform_admin(actor: &Actor) -> Self {
        Self {
            kind: ActorKind::PlatformAdmin,
            ..Self::user(actor)
        }
    }

    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
            email: None,
        }
    }
}

/// What happened, to what, in which organization.
#[derive(Debug, Clone)]
pub struct Change {
    /// Dotted, past tense: `member.role_updated`.
    pub action: &'static str,
    pub resource_type: &'static str,
    pub resource_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    /// Before/after values and other detail; never a secret.
    pub metadata: Value,
}

/// Writes one entry inside the caller's transaction.
pub async fn record<C: ConnectionTrait>(
    txn: &C,
    who: AuditActor,
    meta: &RequestMeta,
    change: Change,
) -> AppResult<()> {
    audit_entry::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(change.organization_id),
        actor_kind: Set(who.kind),
        actor_id: Set(who.id),
        actor_email: Set(who.email),
        action: Set(change.action.to_owned()),
        resource_type: Set(change.resource_type.to_owned()),
        resource_id: Set(change.resource_id),
        metadata: Set(change.metadata),
        ip_address: Set(meta.client_ip.map(|ip| ip.to_string())),
        user_agent: Set(meta.user_agent.clone()),
        request_id: Set(meta.request_id.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Narrows an organization's audit log.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Any of these actions (`member.role_updated`, …).
    pub actions: Vec<String>,
    pub actor_id: Option<Uuid>,
    pub resource_type: Option<String>,
    pub resource_id: Option<Uuid>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// An organization's entries, newest first, within its tier's retention:
/// the index `ix_audit_entries_org_id (organization_id, id)` serves both the
/// filter and the order, since UUIDv7 ids grow with time.
fn listable(
    organization: &organization::Model,
    filter: &AuditFilter,
) -> AppResult<Select<audit_entry::Entity>> {
    if filter.actions.len() > 50 {
        return Err(AppError::bad_input("filter.actions", "at most 50 actions"));
    }
    let retention = Duration::days(i64::from(tiers::audit_retention_days(organization.tier)));
    let mut select = audit_entry::Entity::find()
        .filter(audit_entry::Column::OrganizationId.eq(organization.id))
        .filter(audit_entry::Column::CreatedAt.gte(Utc::now() - retention));
    if !filter.actions.is_empty() {
        select = select.filter(audit_entry::Column::Action.is_in(filter.actions.iter().cloned()));
    }
    if let Some(actor) = filter.actor_id {
        select = select.filter(audit_entry::Column::ActorId.eq(actor));
    }
    if let Some(kind) = &filter.resource_type {
        select = select.filter(audit_entry::Column::ResourceType.eq(kind.as_str()));
    }
    if let Some(resource) = filter.resource_id {
        select = select.filter(audit_entry::Column::ResourceId.eq(resource));
    }
    if let Some(since) = filter.since {
        select = select.filter(audit_entry::Column::CreatedAt.gte(since));
    }
    if let Some(until) = filter.until {
        select = select.filter(audit_entry::Column::CreatedAt.lt(until));
    }
    Ok(select)
}

/// One page of the log, newest first; `page.after` is the last id seen.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    organization: &organization::Model,
    filter: &AuditFilter,
    page: PageRequest,
) -> AppResult<(Page<audit_entry::Model>, Select<audit_entry::Entity>)> {
    let select = listable(organization, filter)?;
    let mut query = select.clone();
    if let Some(after) = page.after {
        query = query.filter(audit_entry::Column::Id.lt(after));
    }
    let rows = query
        .order_by_desc(audit_entry::Column::Id)
        .limit(page.first + 1)
        .all(db)
        .await?;
    Ok((pagination::into_page(rows, page), select))
}

/// Deletes entries past their organization's retention (DESIGN §6), and
/// account-level entries past the longest retention. Returns how many.
pub async fn purge<C: ConnectionTrait>(db: &C) -> AppResult<u64> {
    let now = Utc::now();
    let mut purged = 0;
    for tier in [Tier::Free, Tier::Starter, Tier::Team, Tier::Enterprise] {
        let cutoff = now - Duration::days(i64::from(tiers::audit_retention_days(tier)));
        purged += audit_entry::Entity::delete_many()
            .filter(audit_entry::Column::CreatedAt.lt(cutoff))
            .filter(
                audit_entry::Column::OrganizationId.in_subquery(
                    Query::select()
                        .column(organization::Column::Id)
                        .from(organization::Entity)
                        .and_where(organization::Column::Tier.eq(tier))
                        .to_owned(),
                ),
            )
            .exec(db)
            .await?
            .rows_affected;
    }
    let longest = now - Duration::days(i64::from(tiers::audit_retention_days(Tier::Enterprise)));
    purged += audit_entry::Entity::delete_many()
        .filter(audit_entry::Column::CreatedAt.lt(longest))
        .filter(audit_entry::Column::OrganizationId.is_null())
        .exec(db)
        .await?
        .rows_affected;
    Ok(purged)
}
