//! The read side of the audit trail: an organization's entries, newest
//! first, within its tier's retention.

use chrono::{DateTime, Duration, Utc};
use entity::{audit_entry, organization};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use crate::domain::audit::AuditAction;
use crate::domain::tiers;
use crate::error::{AppError, AppResult};
use crate::read::paging::{self, Page, PageRequest};

/// Narrows an organization's audit log.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Any of these actions.
    pub actions: Vec<AuditAction>,
    pub actor_id: Option<Uuid>,
    pub resource_type: Option<String>,
    pub resource_id: Option<Uuid>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// An organization's entries, newest first, within its tier's retention:
/// `ix_audit_entries_organization_page (organization_id, id, created_at)`
/// serves the order (UUIDv7 ids grow with time) and the count (from the
/// index alone); with actions or an actor, the index of that column in
/// front of the same three.
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
        select = select
            .filter(audit_entry::Column::Action.is_in(filter.actions.iter().map(|a| a.as_str())));
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
    Ok((paging::into_page(rows, page), select))
}
