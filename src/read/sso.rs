//! The read side of single sign-on connections.

use std::collections::HashMap;

use entity::sso_connection;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::domain::authz::{Actor, Permission, access};
use crate::error::AppResult;

/// A connection by id, for those who may manage it (sso:manage);
/// otherwise absent.
pub async fn visible_by_id<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    connection_id: Uuid,
) -> AppResult<Option<sso_connection::Model>> {
    let Some(found) = sso_connection::Entity::find_by_id(connection_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(
        access::may_read(db, actor, found.organization_id, Permission::SsoManage)
            .await?
            .then_some(found),
    )
}

/// Each organization's connections, oldest first.
pub async fn of_organizations<C: ConnectionTrait>(
    db: &C,
    organization_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<sso_connection::Model>>> {
    let rows = sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .order_by_asc(sso_connection::Column::Id)
        .all(db)
        .await?;
    let mut connections: HashMap<Uuid, Vec<sso_connection::Model>> = organization_ids
        .iter()
        .map(|id| (*id, Vec::new()))
        .collect();
    for row in rows {
        connections
            .entry(row.organization_id)
            .or_default()
            .push(row);
    }
    Ok(connections)
}
