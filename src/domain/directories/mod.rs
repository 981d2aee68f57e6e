//! Directory sync (issue #25): an organization's SCIM 2.0 directories.
//!
//! A directory (Okta, Entra ID, …) provisions the organization's members:
//! a SCIM User is a membership of the account its address names, a SCIM
//! Group is a team. The protocol (JSON, filters, PATCH) is the HTTP edge's,
//! `http::scim`; the rules are here:
//!
//! - Connecting one needs directory:manage on ENTERPRISE, like SSO. It
//!   keeps serving after a downgrade, so that people who leave are still
//!   deprovisioned, under the lower tier's seat limit.
//! - Its bearer token is shown once, stored as its SHA-256, and can be
//!   rotated or revoked. A directory acts only in its own organization
//!   (`Principal::Directory`); its changes go through the write path like
//!   anyone's, audited with the directory as the actor.
//! - Trust: an address counts only inside the organization's verified
//!   domains, the same rule as SSO ([`users`]).
//! - Roles: a person the directory adds gets its `defaultRole`. When the
//!   directory maps groups to roles, the members it manages take the
//!   highest role of their mapped groups (the default without one), as
//!   their groups change. It never makes or unmakes an OWNER; it can end
//!   an owner's membership, but never the last owner's.

pub mod groups;
pub mod users;

use std::collections::HashMap;

use chrono::Utc;
use entity::{member, scim_directory, scim_group, scim_group_member, scim_user, team_member};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, ModelTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::secrets;
use crate::domain::audit::{AuditAction, Entry};
use crate::domain::authz::matrix::{Via, may_assign, rank, role_for_new_member};
use crate::domain::authz::principal::DirectoryGrant;
use crate::domain::authz::{Actor, Permission, Principal, RequestMeta, Role};
use crate::domain::ids::{OrganizationId, ScimDirectoryId, new_id};
use crate::domain::values;
use crate::domain::write::{OrgWrite, Write};
use crate::domain::{teams, tiers};
use crate::error::{AppError, AppResult};

/// How many directories one organization may connect.
pub const MAX_DIRECTORIES: u64 = 5;

/// How many groups may be mapped to roles.
const MAX_GROUP_ROLES: usize = 50;

/// What a directory token starts with, so that it is recognizable in a
/// secret scanner.
const TOKEN_PREFIX: &str = "scim_";

/// The longest `externalId` kept (the column's width).
const MAX_EXTERNAL_ID_CHARS: usize = 320;

/// An `externalId` as the directory sent it, within
/// [`MAX_EXTERNAL_ID_CHARS`] (BAD_USER_INPUT naming `externalId`).
fn external_id(value: Option<String>) -> AppResult<Option<String>> {
    match value {
        Some(id) if id.chars().count() > MAX_EXTERNAL_ID_CHARS => Err(AppError::bad_input(
            "externalId",
            format!("externalId is at most {MAX_EXTERNAL_ID_CHARS} characters"),
        )),
        other => Ok(other),
    }
}

/// A name checked like any (`values::text`), whose lower-cased form (the
/// key it is looked up by, which may be longer in a few scripts) fits
/// the same width.
fn name_and_key(field: &str, value: &str, max_chars: usize) -> AppResult<(String, String)> {
    let name = values::text(field, value, max_chars)?;
    let key = name.to_lowercase();
    if key.chars().count() > max_chars {
        return Err(AppError::bad_input(
            field,
            format!("{field} is at most {max_chars} characters"),
        ));
    }
    Ok((name, key))
}

/// A group whose members hold a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRole {
    /// The group's `displayName`, compared case-insensitively.
    pub group: String,
    pub role: Role,
}

/// A directory's settings, as given to `createScimDirectory`.
pub struct NewDirectory {
    pub organization_id: OrganizationId,
    pub name: String,
    pub default_role: Role,
    pub group_roles: Vec<GroupRole>,
}

/// A change to a directory's settings; `None` leaves a field.
#[derive(Default)]
pub struct DirectoryPatch {
    pub name: Option<String>,
    pub default_role: Option<Role>,
    pub group_roles: Option<Vec<GroupRole>>,
}

/// The group → role mapping a directory row holds.
pub fn group_roles_of(directory: &scim_directory::Model) -> Vec<GroupRole> {
    let Some(object) = directory.group_roles.as_object() else {
        return Vec::new();
    };
    object
        .iter()
        .filter_map(|(group, role)| {
            let role = serde_json::from_value::<Role>(role.clone()).ok()?;
            Some(GroupRole {
                group: group.clone(),
                role,
            })
        })
        .collect()
}

/// Checks a mapping: names present and distinct, roles a directory may
/// give and the actor may assign.
fn checked_group_roles(write: &OrgWrite<'_>, group_roles: Vec<GroupRole>) -> AppResult<Value> {
    if group_roles.len() > MAX_GROUP_ROLES {
        return Err(AppError::bad_input(
            "groupRoles",
            format!("at most {MAX_GROUP_ROLES} groups may be mapped to roles"),
        ));
    }
    let mut stored = serde_json::Map::new();
    let mut seen = std::collections::HashSet::new();
    for GroupRole { group, role } in group_roles {
        let group = values::text("groupRoles", &group, 200)?;
        if !seen.insert(group.to_lowercase()) {
            return Err(AppError::bad_input(
                "groupRoles",
                format!("the group {group:?} is mapped twice"),
            ));
        }
        let role = role_for_new_member(Via::DirectoryGroup, Some(role), false, "groupRoles")?;
        ensure_may_give(write, role, "groupRoles")?;
        stored.insert(group, json!(role));
    }
    Ok(Value::Object(stored))
}

/// Nobody sets a directory up to give a role they could not give.
fn ensure_may_give(write: &OrgWrite<'_>, role: Role, field: &str) -> AppResult<()> {
    if may_assign(write.acting_role()?, role) {
        Ok(())
    } else {
        Err(AppError::Forbidden(if field == "defaultRole" {
            "you may not give a default role above your own"
        } else {
            "you may not map a group to a role above your own"
        }))
    }
}

/// What an audit entry says about a directory (never its token).
fn described(directory: &scim_directory::Model) -> Value {
    json!({
        "name": directory.name,
        "defaultRole": directory.default_role,
        "groupRoles": directory.group_roles,
        "tokenLastFour": directory.token_last_four,
    })
}

/// A fresh token: shown once, stored as its digest.
fn new_token() -> (String, String, String) {
    let token = format!("{TOKEN_PREFIX}{}", secrets::generate_hex(32));
    let digest = secrets::digest(&token);
    let last_four = token[token.len() - 4..].to_owned();
    (token, digest, last_four)
}

/// Connects a directory (directory:manage, ENTERPRISE); returns it with
/// its bearer token, shown this once.
#[tracing::instrument(skip_all, fields(organization_id = %input.organization_id))]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewDirectory,
) -> AppResult<(scim_directory::Model, String)> {
    let name = values::text("name", &input.name, 200)?;
    let default_role = role_for_new_member(
        Via::DefaultRole,
        Some(input.default_role),
        false,
        "defaultRole",
    )?;
    let organization_id = Uuid::from(input.organization_id);
    let write = OrgWrite::begin(db, actor, organization_id, Permission::DirectoryManage).await?;
    tiers::ensure_enterprise(write.organization().tier, "scimDirectories")?;
    ensure_may_give(&write, default_role, "defaultRole")?;
    let group_roles = checked_group_roles(&write, input.group_roles)?;
    let existing = scim_directory::Entity::find()
        .filter(scim_directory::Column::OrganizationId.eq(organization_id))
        .count(write.txn())
        .await?;
    if existing >= MAX_DIRECTORIES {
        return Err(AppError::bad_input(
            "organizationId",
            format!("at most {MAX_DIRECTORIES} directories per organization"),
        ));
    }
    let (token, digest, last_four) = new_token();
    let now = Utc::now();
    let directory = scim_directory::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(organization_id),
        name: Set(name),
        default_role: Set(default_role),
        group_roles: Set(group_roles),
        token_hash: Set(Some(digest)),
        token_last_four: Set(Some(last_four)),
        created_by_user_id: Set(actor.user_id()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(write.txn())
    .await?;
    write
        .commit(Entry::new(
            AuditAction::ScimDirectoryCreated,
            directory.id,
            described(&directory),
        ))
        .await?;
    Ok((directory, token))
}

/// Opens a write on a directory's organization (directory:manage): a
/// directory elsewhere is NOT_FOUND.
async fn begin<'a>(
    db: &DatabaseConnection,
    actor: &'a Actor,
    directory_id: ScimDirectoryId,
) -> AppResult<(OrgWrite<'a>, scim_directory::Model)> {
    let write = Write::begin(db).await?;
    let organization_id = find_directory(write.txn(), directory_id)
        .await?
        .organization_id;
    let write = write
        .authorize(actor, organization_id, Permission::DirectoryManage)
        .await?;
    let directory = find_directory(write.txn(), directory_id).await?;
    Ok((write, directory))
}

async fn find_directory<C: ConnectionTrait>(
    txn: &C,
    directory_id: ScimDirectoryId,
) -> AppResult<scim_directory::Model> {
    scim_directory::Entity::find_by_id(Uuid::from(directory_id))
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)
}

/// Changes a directory's name, default role or group mapping. A new
/// mapping applies as groups next change.
#[tracing::instrument(skip_all, fields(%directory_id))]
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    directory_id: ScimDirectoryId,
    patch: DirectoryPatch,
) -> AppResult<scim_directory::Model> {
    let name = patch
        .name
        .as_deref()
        .map(|n| values::text("name", n, 200))
        .transpose()?;
    let default_role = patch
        .default_role
        .map(|r| role_for_new_member(Via::DefaultRole, Some(r), false, "defaultRole"))
        .transpose()?;
    let (write, directory) = begin(db, actor, directory_id).await?;
    let before = described(&directory);
    let mut active: scim_directory::ActiveModel = directory.into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(role) = default_role {
        ensure_may_give(&write, role, "defaultRole")?;
        active.default_role = Set(role);
    }
    if let Some(group_roles) = patch.group_roles {
        active.group_roles = Set(checked_group_roles(&write, group_roles)?);
    }
    active.updated_at = Set(Utc::now());
    let directory = active.update(write.txn()).await?;
    write
        .commit(Entry::new(
            AuditAction::ScimDirectoryUpdated,
            directory.id,
            json!({ "before": before, "after": described(&directory) }),
        ))
        .await?;
    Ok(directory)
}

/// Replaces a directory's token: the old one stops working at once. The
/// new one is returned, shown this once.
#[tracing::instrument(skip_all, fields(%directory_id))]
pub async fn rotate_token(
    db: &DatabaseConnection,
    actor: &Actor,
    directory_id: ScimDirectoryId,
) -> AppResult<(scim_directory::Model, String)> {
    let (write, directory) = begin(db, actor, directory_id).await?;
    let (token, digest, last_four) = new_token();
    let mut active: scim_directory::ActiveModel = directory.into();
    active.token_hash = Set(Some(digest));
    active.token_last_four = Set(Some(last_four));
    active.updated_at = Set(Utc::now());
    let directory = active.update(write.txn()).await?;
    write
        .commit(Entry::new(
            AuditAction::ScimDirectoryTokenRotated,
            directory.id,
            json!({ "tokenLastFour": directory.token_last_four }),
        ))
        .await?;
    Ok((directory, token))
}

/// Revokes a directory's token: it can no longer call until a new token
/// is made (`rotateScimDirectoryToken`).
#[tracing::instrument(skip_all, fields(%directory_id))]
pub async fn revoke_token(
    db: &DatabaseConnection,
    actor: &Actor,
    directory_id: ScimDirectoryId,
) -> AppResult<scim_directory::Model> {
    let (write, directory) = begin(db, actor, directory_id).await?;
    if directory.token_hash.is_none() {
        return Err(AppError::conflict(
            "this directory's token is already revoked",
        ));
    }
    let mut active: scim_directory::ActiveModel = directory.into();
    active.token_hash = Set(None);
    active.updated_at = Set(Utc::now());
    let directory = active.update(write.txn()).await?;
    write
        .commit(Entry::new(
            AuditAction::ScimDirectoryTokenRevoked,
            directory.id,
            json!({ "tokenLastFour": directory.token_last_four }),
        ))
        .await?;
    Ok(directory)
}

/// Disconnects a directory. The members and teams it made stay (they are
/// the organization's now); its SCIM records go.
#[tracing::instrument(skip_all, fields(%directory_id))]
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    directory_id: ScimDirectoryId,
) -> AppResult<scim_directory::Model> {
    let (write, directory) = begin(db, actor, directory_id).await?;
    directory.clone().delete(write.txn()).await?;
    write
        .commit(Entry::new(
            AuditAction::ScimDirectoryDeleted,
            directory.id,
            described(&directory),
        ))
        .await?;
    Ok(directory)
}

/// The directory a SCIM request's bearer token belongs to, as the actor
/// of the request. UNAUTHENTICATED for a token that is unknown or revoked;
/// NOT_FOUND when the token is another directory's, so that no token
/// learns whether another directory exists.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    directory_id: ScimDirectoryId,
    token: &str,
    meta: RequestMeta,
) -> AppResult<(Actor, scim_directory::Model)> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Err(AppError::Unauthenticated);
    }
    let directory = scim_directory::Entity::find()
        .filter(scim_directory::Column::TokenHash.eq(secrets::digest(token)))
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if directory.id != Uuid::from(directory_id) {
        return Err(AppError::NotFound);
    }
    let actor = Actor {
        principal: Principal::Directory(DirectoryGrant {
            directory_id: directory.id,
            organization_id: directory.organization_id,
        }),
        meta,
    };
    Ok((actor, directory))
}

/// The directory a request acts for; FORBIDDEN for any other caller.
fn grant_of(actor: &Actor) -> AppResult<&DirectoryGrant> {
    match &actor.principal {
        Principal::Directory(grant) => Ok(grant),
        _ => Err(AppError::Forbidden("only a SCIM directory may do this")),
    }
}

/// Opens a write in the directory's organization, locked, with the
/// directory read again under the lock (its mapping may have changed).
async fn begin_provisioning<'a>(
    db: &DatabaseConnection,
    actor: &'a Actor,
) -> AppResult<(OrgWrite<'a>, scim_directory::Model)> {
    let grant = grant_of(actor)?;
    let write =
        OrgWrite::begin(db, actor, grant.organization_id, Permission::MembersManage).await?;
    let directory = scim_directory::Entity::find_by_id(grant.directory_id)
        .one(write.txn())
        .await?
        .filter(|d| d.token_hash.is_some())
        .ok_or(AppError::Unauthenticated)?;
    Ok((write, directory))
}

/// The role a directory gives someone in `groups` (display names): the
/// highest its mapping gives them, or its default role.
pub fn role_for(directory: &scim_directory::Model, groups: &[String]) -> Role {
    group_roles_of(directory)
        .into_iter()
        .filter(|mapped| groups.iter().any(|g| g.eq_ignore_ascii_case(&mapped.group)))
        .map(|mapped| mapped.role)
        .max_by_key(|role| rank(*role))
        .unwrap_or(directory.default_role)
}

/// The display names of the groups each SCIM user is in, in one read.
async fn groups_of<C: ConnectionTrait>(
    txn: &C,
    scim_user_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<String>>> {
    let rows = scim_group_member::Entity::find()
        .filter(scim_group_member::Column::ScimUserId.is_in(scim_user_ids.iter().copied()))
        .find_also_related(scim_group::Entity)
        .all(txn)
        .await?;
    let mut groups: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (link, group) in rows {
        if let Some(group) = group {
            groups
                .entry(link.scim_user_id)
                .or_default()
                .push(group.display_name);
        }
    }
    Ok(groups)
}

/// Gives each of `users` who is a member the role the directory's mapping
/// gives them now, when the directory maps groups to roles; owners keep
/// their role. One entry per change.
async fn apply_mapped_roles(
    write: &OrgWrite<'_>,
    directory: &scim_directory::Model,
    users: &[scim_user::Model],
    entries: &mut Vec<Entry>,
) -> AppResult<()> {
    if group_roles_of(directory).is_empty() || users.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    let groups = groups_of(write.txn(), &ids).await?;
    let members = memberships(write.txn(), directory.organization_id, users).await?;
    for user in users {
        let Some(member) = members.get(&user.user_id) else {
            continue;
        };
        let role = role_for(directory, groups.get(&user.id).map_or(&[][..], |g| g));
        if member.role == role || member.role == Role::Owner {
            continue;
        }
        let before = member.role;
        let mut active: member::ActiveModel = member.clone().into();
        active.role = Set(role);
        active.update(write.txn()).await?;
        entries.push(Entry::new(
            AuditAction::MemberRoleUpdated,
            member.id,
            json!({
                "userId": member.user_id,
                "directoryId": directory.id,
                "scimUserId": user.id,
                "before": { "role": before },
                "after": { "role": role },
            }),
        ));
    }
    Ok(())
}

/// The memberships of `users`' accounts in the organization, by user id.
async fn memberships<C: ConnectionTrait>(
    txn: &C,
    organization_id: Uuid,
    users: &[scim_user::Model],
) -> AppResult<HashMap<Uuid, member::Model>> {
    Ok(member::Entity::find()
        .filter(member::Column::OrganizationId.eq(organization_id))
        .filter(member::Column::UserId.is_in(users.iter().map(|u| u.user_id)))
        .all(txn)
        .await?
        .into_iter()
        .map(|m| (m.user_id, m))
        .collect())
}

/// Puts `member` into `team_id` unless they are in it; an entry when they
/// were not.
async fn join_team<C: ConnectionTrait>(
    txn: &C,
    team_id: Uuid,
    member: &member::Model,
    directory_id: Uuid,
) -> AppResult<Option<Entry>> {
    // Looked up first: on PostgreSQL a refused insert would end the
    // transaction.
    let present = team_member::Entity::find()
        .filter(team_member::Column::TeamId.eq(team_id))
        .filter(team_member::Column::MemberId.eq(member.id))
        .one(txn)
        .await?
        .is_some();
    if present {
        return Ok(None);
    }
    let role = entity::values::TeamRole::Member;
    teams::insert_member(txn, team_id, member.id, role).await?;
    Ok(Some(Entry::new(
        AuditAction::TeamMemberAdded,
        team_id,
        json!({
            "memberId": member.id,
            "userId": member.user_id,
            "directoryId": directory_id,
            "after": { "role": role },
        }),
    )))
}

/// Takes `member` out of `team_id` if they are in it; an entry when they
/// were.
async fn leave_team<C: ConnectionTrait>(
    txn: &C,
    team_id: Uuid,
    member: &member::Model,
    directory_id: Uuid,
) -> AppResult<Option<Entry>> {
    let Some(place) = teams::remove_member_from(txn, team_id, member.id).await? else {
        return Ok(None);
    };
    let role = place.role;
    Ok(Some(Entry::new(
        AuditAction::TeamMemberRemoved,
        team_id,
        json!({
            "memberId": member.id,
            "userId": member.user_id,
            "directoryId": directory_id,
            "before": { "role": role },
        }),
    )))
}

/// Records that the organization refused a directory's change (the last
/// owner), in a write of its own, since the refused one rolled back; then
/// answers the refusal.
async fn refused<T>(
    db: &DatabaseConnection,
    actor: &Actor,
    scim_user_id: Uuid,
    error: AppError,
) -> AppResult<T> {
    if matches!(error, AppError::LastOwner) {
        let (write, directory) = begin_provisioning(db, actor).await?;
        write
            .commit(Entry::new(
                AuditAction::ScimChangeRefused,
                directory.id,
                json!({ "scimUserId": scim_user_id, "reason": "LAST_OWNER" }),
            ))
            .await?;
    }
    Err(error)
}

/// A SCIM user of this directory, read under the write's lock.
async fn find_user<C: ConnectionTrait>(
    txn: &C,
    directory_id: Uuid,
    scim_user_id: Uuid,
) -> AppResult<scim_user::Model> {
    scim_user::Entity::find_by_id(scim_user_id)
        .filter(scim_user::Column::DirectoryId.eq(directory_id))
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)
}
