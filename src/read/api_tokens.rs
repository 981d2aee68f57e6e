//! The read side of API tokens.

use std::collections::HashMap;

use entity::api_token;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::error::AppResult;

/// Each organization's tokens, newest first.
pub async fn of_organizations<C: ConnectionTrait>(
    db: &C,
    organization_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<api_token::Model>>> {
    let rows = api_token::Entity::find()
        .filter(api_token::Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .order_by_desc(api_token::Column::Id)
        .all(db)
        .await?;
    let mut tokens: HashMap<Uuid, Vec<api_token::Model>> = organization_ids
        .iter()
        .map(|id| (*id, Vec::new()))
        .collect();
    for row in rows {
        tokens.entry(row.organization_id).or_default().push(row);
    }
    Ok(tokens)
}
