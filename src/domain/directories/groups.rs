//! SCIM Groups: teams a directory keeps.
//!
//! A group is a team of the organization, named by its `displayName`.
//! Who is in the group is the directory's record (`scim_group_members`);
//! the team's roster follows it for the group's users who are members
//! (an inactive user is in the group, not in the team, until they are
//! active again). When the directory maps groups to roles, a change of
//! groups changes the mapped roles too (`super::apply_mapped_roles`).

use std::collections::HashSet;

use chrono::Utc;
use entity::{scim_directory, scim_group, scim_group_member, scim_user, team};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, ModelTrait,
    PaginatorTrait, QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    apply_mapped_roles, begin_provisioning, external_id, join_team, leave_team, memberships,
    name_and_key,
};
use crate::domain::audit::{AuditAction, Entry};
use crate::domain::authz::Actor;
use crate::domain::ids::new_id;
use crate::domain::teams;
use crate::domain::write::OrgWrite;
use crate::error::{AppError, AppResult};

/// A SCIM Group as the directory sent it, checked by the protocol edge.
#[derive(Debug, Clone)]
pub struct GroupRecord {
    pub display_name: String,
    pub external_id: Option<String>,
    /// The SCIM ids of its users.
    pub members: Vec<Uuid>,
}

async fn find<C: sea_orm::ConnectionTrait>(
    txn: &C,
    directory_id: Uuid,
    group_id: Uuid,
) -> AppResult<scim_group::Model> {
    scim_group::Entity::find_by_id(group_id)
        .filter(scim_group::Column::DirectoryId.eq(directory_id))
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)
}

/// The users in a group.
async fn users_of<C: sea_orm::ConnectionTrait>(
    txn: &C,
    group_id: Uuid,
) -> AppResult<Vec<scim_user::Model>> {
    Ok(scim_group_member::Entity::find()
        .filter(scim_group_member::Column::GroupId.eq(group_id))
        .find_also_related(scim_user::Entity)
        .all(txn)
        .await?
        .into_iter()
        .filter_map(|(_, user)| user)
        .collect())
}

/// Creates a group and its team (under the tier's team limit).
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    record: GroupRecord,
) -> AppResult<scim_group::Model> {
    let (name, key) = name_and_key("displayName", &record.display_name, 200)?;
    let external_id = external_id(record.external_id)?;
    let (write, directory) = begin_provisioning(db, actor).await?;
    let team = teams::insert(
        write.txn(),
        write.organization(),
        teams::TeamRow {
            name: name.clone(),
            slug: None,
            description: None,
            parent_team_id: None,
        },
    )
    .await?;
    let now = Utc::now();
    let group = scim_group::ActiveModel {
        id: Set(new_id()),
        directory_id: Set(directory.id),
        team_id: Set(team.id),
        display_name_key: Set(key),
        display_name: Set(name),
        external_id: Set(external_id),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(write.txn())
    .await?;
    let mut entries = vec![Entry::new(
        AuditAction::TeamCreated,
        team.id,
        json!({
            "directoryId": directory.id,
            "scimGroupId": group.id,
            "after": { "name": team.name, "slug": team.slug },
        }),
    )];
    set_members(&write, &directory, &group, &record.members, &mut entries).await?;
    write.commit_all(entries).await?;
    Ok(group)
}

/// Replaces a group's name and members (PUT, and PATCH once applied).
#[tracing::instrument(skip_all, fields(%group_id))]
pub async fn replace(
    db: &DatabaseConnection,
    actor: &Actor,
    group_id: Uuid,
    record: GroupRecord,
) -> AppResult<scim_group::Model> {
    let (name, key) = name_and_key("displayName", &record.display_name, 200)?;
    let external_id = external_id(record.external_id)?;
    let (write, directory) = begin_provisioning(db, actor).await?;
    let group = find(write.txn(), directory.id, group_id).await?;
    let mut entries = Vec::new();
    let renamed = group.display_name != name;
    if renamed {
        let team = team::Entity::find_by_id(group.team_id)
            .one(write.txn())
            .await?
            .ok_or(AppError::NotFound)?;
        let before = team.name.clone();
        let mut team: team::ActiveModel = team.into();
        team.name = Set(name.clone());
        team.updated_at = Set(Utc::now());
        let team = team.update(write.txn()).await?;
        entries.push(Entry::new(
            AuditAction::TeamUpdated,
            team.id,
            json!({
                "directoryId": directory.id,
                "scimGroupId": group.id,
                "before": { "name": before },
                "after": { "name": team.name },
            }),
        ));
    }
    let mut active: scim_group::ActiveModel = group.into();
    active.display_name_key = Set(key);
    active.display_name = Set(name);
    active.external_id = Set(external_id);
    active.updated_at = Set(Utc::now());
    let group = active.update(write.txn()).await?;
    set_members(&write, &directory, &group, &record.members, &mut entries).await?;
    // A new name may be mapped to a role (or no longer be): every member's
    // role follows. (`set_members` did it for those who came and went.)
    if renamed {
        let members = users_of(write.txn(), group.id).await?;
        apply_mapped_roles(&write, &directory, &members, &mut entries).await?;
    }
    if entries.is_empty() {
        entries.push(Entry::new(
            AuditAction::ScimGroupUpdated,
            directory.id,
            json!({ "scimGroupId": group.id, "displayName": group.display_name }),
        ));
    }
    write.commit_all(entries).await?;
    Ok(group)
}

/// Deletes a group and its team; CONFLICT while the team has sub-teams
/// (made in orgql).
#[tracing::instrument(skip_all, fields(%group_id))]
pub async fn delete(db: &DatabaseConnection, actor: &Actor, group_id: Uuid) -> AppResult<()> {
    let (write, directory) = begin_provisioning(db, actor).await?;
    let group = find(write.txn(), directory.id, group_id).await?;
    let members = users_of(write.txn(), group.id).await?;
    let children = team::Entity::find()
        .filter(team::Column::ParentTeamId.eq(group.team_id))
        .count(write.txn())
        .await?;
    if children > 0 {
        return Err(AppError::conflict(format!(
            "this group's team has {children} sub-team(s) in orgql: move or delete them first"
        )));
    }
    let team = team::Entity::find_by_id(group.team_id)
        .one(write.txn())
        .await?;
    // The team's deletion takes the group and its records with it.
    let mut entries = Vec::new();
    match team {
        Some(team) => {
            team.clone().delete(write.txn()).await?;
            entries.push(Entry::new(
                AuditAction::TeamDeleted,
                team.id,
                json!({
                    "directoryId": directory.id,
                    "scimGroupId": group.id,
                    "before": { "name": team.name, "slug": team.slug },
                }),
            ));
        }
        None => {
            group.delete(write.txn()).await?;
        }
    }
    apply_mapped_roles(&write, &directory, &members, &mut entries).await?;
    write.commit_all(entries).await
}

/// Makes the group's users exactly `wanted` (SCIM ids of this
/// directory's users; BAD_USER_INPUT naming `members` for any other), and
/// the team's roster follow for those who are members.
async fn set_members(
    write: &OrgWrite<'_>,
    directory: &scim_directory::Model,
    group: &scim_group::Model,
    wanted: &[Uuid],
    entries: &mut Vec<Entry>,
) -> AppResult<()> {
    let txn = write.txn();
    let wanted: HashSet<Uuid> = wanted.iter().copied().collect();
    let current: HashSet<Uuid> = scim_group_member::Entity::find()
        .filter(scim_group_member::Column::GroupId.eq(group.id))
        .all(txn)
        .await?
        .into_iter()
        .map(|link| link.scim_user_id)
        .collect();
    let added: Vec<Uuid> = wanted.difference(&current).copied().collect();
    let removed: Vec<Uuid> = current.difference(&wanted).copied().collect();
    if added.is_empty() && removed.is_empty() {
        return Ok(());
    }
    let affected: Vec<scim_user::Model> = scim_user::Entity::find()
        .filter(scim_user::Column::DirectoryId.eq(directory.id))
        .filter(scim_user::Column::Id.is_in(added.iter().chain(&removed).copied()))
        .all(txn)
        .await?;
    if let Some(unknown) = added
        .iter()
        .find(|id| !affected.iter().any(|u| u.id == **id))
    {
        return Err(AppError::bad_input(
            "members",
            format!("{unknown} is not a user of this directory"),
        ));
    }
    if !added.is_empty() {
        scim_group_member::Entity::insert_many(added.iter().map(|&scim_user_id| {
            scim_group_member::ActiveModel {
                group_id: Set(group.id),
                scim_user_id: Set(scim_user_id),
            }
        }))
        .exec(txn)
        .await?;
    }
    if !removed.is_empty() {
        scim_group_member::Entity::delete_many()
            .filter(scim_group_member::Column::GroupId.eq(group.id))
            .filter(scim_group_member::Column::ScimUserId.is_in(removed.iter().copied()))
            .exec(txn)
            .await?;
    }
    entries.push(Entry::new(
        AuditAction::ScimGroupUpdated,
        directory.id,
        json!({
            "scimGroupId": group.id,
            "displayName": group.display_name,
            "added": added,
            "removed": removed,
        }),
    ));
    let members = memberships(txn, write.organization_id(), &affected).await?;
    for user in &affected {
        let Some(member) = members.get(&user.user_id) else {
            continue;
        };
        let entry = if added.contains(&user.id) {
            join_team(txn, group.team_id, member, directory.id).await?
        } else {
            leave_team(txn, group.team_id, member, directory.id).await?
        };
        entries.extend(entry);
    }
    apply_mapped_roles(write, directory, &affected, entries).await
}
