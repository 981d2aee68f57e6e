//! The read side of SCIM directories (issue #25): the GraphQL API's lists
//! and lookups, and what the SCIM edge reads of a directory's users and
//! groups.

use std::collections::HashMap;

use entity::{scim_directory, scim_group, scim_group_member, scim_user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::domain::authz::{Actor, Permission, access};
use crate::error::AppResult;

/// A directory by id, for those who may manage it (directory:manage);
/// otherwise absent.
pub async fn visible_by_id<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    directory_id: Uuid,
) -> AppResult<Option<scim_directory::Model>> {
    let Some(found) = scim_directory::Entity::find_by_id(directory_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(access::may_read(
        db,
        actor,
        found.organization_id,
        Permission::DirectoryManage,
    )
    .await?
    .then_some(found))
}

/// Each organization's directories, oldest first.
pub async fn of_organizations<C: ConnectionTrait>(
    db: &C,
    organization_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<scim_directory::Model>>> {
    let rows = scim_directory::Entity::find()
        .filter(scim_directory::Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .order_by_asc(scim_directory::Column::Id)
        .all(db)
        .await?;
    let mut directories: HashMap<Uuid, Vec<scim_directory::Model>> = organization_ids
        .iter()
        .map(|id| (*id, Vec::new()))
        .collect();
    for row in rows {
        directories
            .entry(row.organization_id)
            .or_default()
            .push(row);
    }
    Ok(directories)
}

/// Which SCIM users of a directory to read.
#[derive(Debug, Clone)]
pub enum UserLookup {
    All,
    /// `userName eq`, ignoring case.
    UserName(String),
    /// `externalId eq`.
    ExternalId(String),
    /// `id eq`.
    Id(Uuid),
}

/// A directory's users, oldest first.
pub async fn users<C: ConnectionTrait>(
    db: &C,
    directory_id: Uuid,
    lookup: UserLookup,
) -> AppResult<Vec<scim_user::Model>> {
    let query = scim_user::Entity::find().filter(scim_user::Column::DirectoryId.eq(directory_id));
    let query = match lookup {
        UserLookup::All => query,
        UserLookup::UserName(name) => {
            query.filter(scim_user::Column::UserNameKey.eq(name.to_lowercase()))
        }
        UserLookup::ExternalId(id) => query.filter(scim_user::Column::ExternalId.eq(id)),
        UserLookup::Id(id) => query.filter(scim_user::Column::Id.eq(id)),
    };
    Ok(query.order_by_asc(scim_user::Column::Id).all(db).await?)
}

/// Which groups of a directory to read.
#[derive(Debug, Clone)]
pub enum GroupLookup {
    All,
    /// `displayName eq`, ignoring case.
    DisplayName(String),
    /// `externalId eq`.
    ExternalId(String),
    /// `id eq`.
    Id(Uuid),
}

/// A directory's groups, oldest first.
pub async fn groups<C: ConnectionTrait>(
    db: &C,
    directory_id: Uuid,
    lookup: GroupLookup,
) -> AppResult<Vec<scim_group::Model>> {
    let query = scim_group::Entity::find().filter(scim_group::Column::DirectoryId.eq(directory_id));
    let query = match lookup {
        GroupLookup::All => query,
        GroupLookup::DisplayName(name) => {
            query.filter(scim_group::Column::DisplayNameKey.eq(name.to_lowercase()))
        }
        GroupLookup::ExternalId(id) => query.filter(scim_group::Column::ExternalId.eq(id)),
        GroupLookup::Id(id) => query.filter(scim_group::Column::Id.eq(id)),
    };
    Ok(query.order_by_asc(scim_group::Column::Id).all(db).await?)
}

/// The users of each group, oldest first, in one read.
pub async fn group_members<C: ConnectionTrait>(
    db: &C,
    group_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<Uuid>>> {
    let rows = scim_group_member::Entity::find()
        .filter(scim_group_member::Column::GroupId.is_in(group_ids.iter().copied()))
        .order_by_asc(scim_group_member::Column::ScimUserId)
        .all(db)
        .await?;
    let mut members: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for row in rows {
        members
            .entry(row.group_id)
            .or_default()
            .push(row.scim_user_id);
    }
    Ok(members)
}
