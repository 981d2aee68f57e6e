//! The read side of verified domains.

use std::collections::HashMap;

use entity::organization_domain;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::error::AppResult;

/// Each organization's claimed domains, alphabetically.
pub async fn of_organizations<C: ConnectionTrait>(
    db: &C,
    organization_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<organization_domain::Model>>> {
    let rows = organization_domain::Entity::find()
        .filter(organization_domain::Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .order_by_asc(organization_domain::Column::Domain)
        .all(db)
        .await?;
    let mut domains: HashMap<Uuid, Vec<organization_domain::Model>> = organization_ids
        .iter()
        .map(|id| (*id, Vec::new()))
        .collect();
    for row in rows {
        domains.entry(row.organization_id).or_default().push(row);
    }
    Ok(domains)
}
