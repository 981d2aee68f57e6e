//! Teams: groups of members inside an organization, nested up to
//! [`tree::MAX_LEVELS`] levels.
//!
//! Who may change a team: holders of teams:manage in its organization, or a
//! MAINTAINER of that team (`authz::matrix::may_administer_team`). Anyone
//! with teams:create may start a team and becomes its first maintainer.
//! Only members of the organization join its teams, and leaving the
//! organization removes a member from all of them (a cascading foreign
//! key). The read side is `read::teams`.

mod roster;
pub mod tree;

pub use roster::{add_member, change_member_role, remove_member};
pub(crate) use roster::{insert as insert_member, remove as remove_member_from};

use chrono::Utc;
use entity::{team, team_member, values::TeamRole};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, EntityTrait, ModelTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::audit::AuditAction;
use crate::domain::audit::Entry;
use crate::domain::authz::matrix::may_administer_team;
use crate::domain::authz::{Actor, Permission};
use crate::domain::ids::{OrganizationId, TeamId, new_id};
use crate::domain::tiers::{self, Resource};
use crate::domain::values::{self, Slug};
use crate::domain::write::{OrgWrite, Write};
use crate::error::{AppError, AppResult, Constraint, ResultExt};

pub use tree::MAX_LEVELS;

/// A slug names one team within its organization.
const SLUG_UNIQUE: Constraint = Constraint {
    name: "uq_teams_org_slug",
    sqlite: "teams.organization_id, teams.slug",
};

fn slug_taken() -> AppError {
    AppError::taken(
        "slug",
        "this organization already has a team with this slug",
    )
}

pub struct NewTeam {
    pub organization_id: OrganizationId,
    pub name: String,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub parent_team_id: Option<TeamId>,
}

/// A change to a team. `None` leaves a field; `Some(None)` clears it
/// (`parent`: moves the team to the top level).
#[derive(Default)]
pub struct TeamPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
    pub parent_team_id: Option<Option<TeamId>>,
}

fn snapshot(team: &team::Model) -> Value {
    json!({
        "name": team.name,
        "slug": team.slug,
        "description": team.description,
        "parentTeamId": team.parent_team_id,
    })
}

async fn find<C: ConnectionTrait>(db: &C, team_id: TeamId) -> AppResult<team::Model> {
    team::Entity::find_by_id(Uuid::from(team_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The actor's role in a team, if they are in it.
async fn actor_team_role(write: &OrgWrite<'_>, team_id: Uuid) -> AppResult<Option<TeamRole>> {
    let Some(membership) = &write.access().membership else {
        return Ok(None);
    };
    Ok(team_member::Entity::find()
        .filter(team_member::Column::TeamId.eq(team_id))
        .filter(team_member::Column::MemberId.eq(membership.id))
        .one(write.txn())
        .await?
        .map(|tm| tm.role))
}

/// Opens a write on a team's organization (teams:view, so that strangers
/// get NOT_FOUND) and returns the team read under the lock.
async fn begin_on_team<'a>(
    db: &DatabaseConnection,
    actor: &'a Actor,
    team_id: TeamId,
) -> AppResult<(OrgWrite<'a>, team::Model)> {
    let write = Write::begin(db).await?;
    let organization_id = find(write.txn(), team_id).await?.organization_id;
    let write = write
        .authorize(actor, organization_id, Permission::TeamsView)
        .await?;
    let team = find(write.txn(), team_id).await?;
    Ok((write, team))
}

/// Refuses actors who may not administer `team`.
async fn ensure_may_administer(write: &OrgWrite<'_>, team: &team::Model) -> AppResult<()> {
    let team_role = actor_team_role(write, team.id).await?;
    if may_administer_team(
        write.allows(Permission::TeamsManage),
        write.access().membership.is_some(),
        team_role,
    ) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only a team maintainer or someone with teams:manage may change this team",
        ))
    }
}

/// Opens a write on a team that the actor must be able to administer.
async fn begin_administering<'a>(
    db: &DatabaseConnection,
    actor: &'a Actor,
    team_id: TeamId,
) -> AppResult<(OrgWrite<'a>, team::Model)> {
    let (write, team) = begin_on_team(db, actor, team_id).await?;
    ensure_may_administer(&write, &team).await?;
    Ok((write, team))
}

async fn available_slug<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
    base: Slug,
) -> AppResult<Slug> {
    let taken: std::collections::HashSet<String> = team::Entity::find()
        .select_only()
        .column(team::Column::Slug)
        .filter(team::Column::OrganizationId.eq(organization_id))
        .filter(
            Condition::any()
                .add(team::Column::Slug.eq(base.as_str()))
                .add(team::Column::Slug.like(format!("{}-%", base.as_str()))),
        )
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(base.first_free(&taken))
}

/// A new team's row, its values checked.
pub(crate) struct TeamRow {
    pub name: String,
    /// None: derived from the name, the first free one.
    pub slug: Option<Slug>,
    pub description: Option<String>,
    pub parent_team_id: Option<Uuid>,
}

/// Inserts a team into `organization` under its tier's team limit. Call
/// with the organization locked (the write path), the parent checked.
pub(crate) async fn insert<C: ConnectionTrait>(
    txn: &C,
    organization: &entity::organization::Model,
    row: TeamRow,
) -> AppResult<team::Model> {
    let used = team::Entity::find()
        .filter(team::Column::OrganizationId.eq(organization.id))
        .count(txn)
        .await?;
    tiers::ensure_room(organization.tier, Resource::Teams, used, 1)?;
    let slug = match row.slug {
        Some(slug) => slug,
        None => {
            let base = Slug::derive_or(&row.name, "team");
            available_slug(txn, organization.id, base).await?
        }
    };
    let now = Utc::now();
    team::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(organization.id),
        parent_team_id: Set(row.parent_team_id),
        name: Set(row.name),
        slug: Set(slug.into_string()),
        description: Set(row.description),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await
    .on_unique(SLUG_UNIQUE, slug_taken)
}

/// Creates a team (teams:create); the creator becomes its MAINTAINER.
#[tracing::instrument(skip_all, fields(organization_id = %input.organization_id))]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewTeam,
) -> AppResult<(team::Model, Option<team_member::Model>)> {
    let name = values::text("name", &input.name, 200)?;
    let slug = input
        .slug
        .as_deref()
        .map(|s| Slug::parse("slug", s))
        .transpose()?;
    let description = input
        .description
        .as_deref()
        .map(|d| values::prose("description", d, 2000))
        .transpose()?
        .flatten();

    let organization_id = Uuid::from(input.organization_id);
    let parent_team_id = input.parent_team_id.map(Uuid::from);
    let write = OrgWrite::begin(db, actor, organization_id, Permission::TeamsCreate).await?;
    // A person becomes the team's first maintainer; an API token's team
    // starts empty.
    let creator = write.access().membership.clone();
    if let Some(parent) = parent_team_id {
        tree::check_parent(write.txn(), organization_id, None, parent).await?;
    }
    let team = insert(
        write.txn(),
        write.organization(),
        TeamRow {
            name,
            slug,
            description,
            parent_team_id,
        },
    )
    .await?;
    let maintainer = match creator {
        Some(creator) => {
            Some(roster::insert(write.txn(), team.id, creator.id, TeamRole::Maintainer).await?)
        }
        None => None,
    };
    write
        .commit(Entry::new(
            AuditAction::TeamCreated,
            team.id,
            json!({ "after": snapshot(&team) }),
        ))
        .await?;
    Ok((team, maintainer))
}

/// Changes a team's name, slug, description or parent.
#[tracing::instrument(skip_all, fields(%team_id))]
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    team_id: TeamId,
    patch: TeamPatch,
) -> AppResult<team::Model> {
    let name = patch
        .name
        .as_deref()
        .map(|n| values::text("name", n, 200))
        .transpose()?;
    let slug = patch
        .slug
        .as_deref()
        .map(|s| Slug::parse("slug", s))
        .transpose()?;
    let description = patch
        .description
        .map(|d| {
            d.as_deref()
                .map(|d| values::prose("description", d, 2000))
                .transpose()
                .map(Option::flatten)
        })
        .transpose()?;

    let (write, team) = begin_administering(db, actor, team_id).await?;
    if let Some(Some(parent)) = patch.parent_team_id {
        tree::check_parent(
            write.txn(),
            team.organization_id,
            Some(team.id),
            parent.into(),
        )
        .await?;
    }
    let before = snapshot(&team);
    let mut active: team::ActiveModel = team.into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(slug) = slug {
        active.slug = Set(slug.into_string());
    }
    if let Some(description) = description {
        active.description = Set(description);
    }
    if let Some(parent) = patch.parent_team_id {
        active.parent_team_id = Set(parent.map(Uuid::from));
    }
    active.updated_at = Set(Utc::now());
    let team = active
        .update(write.txn())
        .await
        .on_unique(SLUG_UNIQUE, slug_taken)?;
    write
        .commit(Entry::new(
            AuditAction::TeamUpdated,
            team.id,
            json!({ "before": before, "after": snapshot(&team) }),
        ))
        .await?;
    Ok(team)
}

/// Deletes a team; refused with CONFLICT while it has sub-teams.
#[tracing::instrument(skip_all, fields(%team_id))]
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    team_id: TeamId,
) -> AppResult<team::Model> {
    let (write, team) = begin_administering(db, actor, team_id).await?;
    let children = team::Entity::find()
        .filter(team::Column::ParentTeamId.eq(team.id))
        .count(write.txn())
        .await?;
    if children > 0 {
        return Err(AppError::conflict(format!(
            "this team has {children} sub-team(s): delete or move them first"
        )));
    }
    team.clone().delete(write.txn()).await?;
    write
        .commit(Entry::new(
            AuditAction::TeamDeleted,
            team.id,
            json!({ "before": snapshot(&team) }),
        ))
        .await?;
    Ok(team)
}
