//! Teams: groups of members inside an organization, nested up to eight
//! levels.
//!
//! Who may change a team: holders of teams:manage in its organization, or a
//! MAINTAINER of that team ([`may_administer`]). Anyone with teams:create
//! may start a team and becomes its first maintainer. Only members of the
//! organization join its teams, and leaving the organization removes a
//! member from all of them (a cascading foreign key).

use std::collections::HashMap;

use chrono::Utc;
use entity::{member, team, team_member, values::TeamRole};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    ModelTrait, PaginatorTrait, QueryFilter, QuerySelect, QueryTrait, Select,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::access::{self, OrgAccess};
use crate::domain::audit::{self, AuditActor, Change};
use crate::domain::pagination::{self, Page, PageRequest};
use crate::domain::permissions::Permission;
use crate::domain::tiers::{self, Resource};
use crate::domain::values::{self, Slug};
use crate::domain::{begin_write, ids::new_id};
use crate::error::{AppError, AppResult};

/// The deepest a team may sit: a top-level team is at level 1.
pub const MAX_LEVELS: usize = 8;

pub struct NewTeam {
    pub organization_id: Uuid,
    pub name: String,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub parent_team_id: Option<Uuid>,
}

/// A change to a team. `None` leaves a field; `Some(None)` clears it
/// (`parent`: moves the team to the top level).
#[derive(Default)]
pub struct TeamPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
    pub parent_team_id: Option<Option<Uuid>>,
}

/// Whether the actor may change `team`: teams:manage in the organization,
/// or MAINTAINER of the team.
pub fn may_administer(
    holds_teams_manage: bool,
    is_member: bool,
    team_role: Option<TeamRole>,
) -> bool {
    holds_teams_manage || (is_member && team_role == Some(TeamRole::Maintainer))
}

fn snapshot(team: &team::Model) -> Value {
    json!({
        "name": team.name,
        "slug": team.slug,
        "description": team.description,
        "parentTeamId": team.parent_team_id,
    })
}

async fn find<C: ConnectionTrait>(db: &C, team_id: Uuid) -> AppResult<team::Model> {
    team::Entity::find_by_id(team_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The actor's role in a team, if they are in it.
async fn actor_team_role<C: ConnectionTrait>(
    db: &C,
    access: &OrgAccess,
    team_id: Uuid,
) -> AppResult<Option<TeamRole>> {
    let Some(membership) = &access.membership else {
        return Ok(None);
    };
    Ok(team_member::Entity::find()
        .filter(team_member::Column::TeamId.eq(team_id))
        .filter(team_member::Column::MemberId.eq(membership.id))
        .one(db)
        .await?
        .map(|tm| tm.role))
}

/// Loads a team for a change, with its organization locked; refuses actors
/// who may not administer it (NOT_FOUND when they cannot see it at all).
async fn authorize_team_write<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    team_id: Uuid,
) -> AppResult<(OrgAccess, team::Model)> {
    let organization_id = find(txn, team_id).await?.organization_id;
    let access =
        access::authorize_write(txn, actor, organization_id, Permission::TeamsView).await?;
    let team = find(txn, team_id).await?;
    let team_role = actor_team_role(txn, &access, team_id).await?;
    if !may_administer(
        access.allows(actor, Permission::TeamsManage),
        access.membership.is_some(),
        team_role,
    ) {
        return Err(AppError::Forbidden(
            "only a team maintainer or someone with teams:manage may change this team",
        ));
    }
    Ok((access, team))
}

/// Every team of an organization as (id → parent), for nesting checks.
async fn tree<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
) -> AppResult<HashMap<Uuid, Option<Uuid>>> {
    Ok(team::Entity::find()
        .select_only()
        .column(team::Column::Id)
        .column(team::Column::ParentTeamId)
        .filter(team::Column::OrganizationId.eq(organization_id))
        .into_tuple::<(Uuid, Option<Uuid>)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The level of a team: 1 at the top.
fn level(tree: &HashMap<Uuid, Option<Uuid>>, mut team: Uuid) -> usize {
    let mut level = 1;
    while let Some(Some(parent)) = tree.get(&team) {
        team = *parent;
        level += 1;
        if level > tree.len() + 1 {
            break; // a cycle in stored data; refuse rather than loop
        }
    }
    level
}

/// How many levels a team and its descendants span: 1 for a leaf.
fn height(tree: &HashMap<Uuid, Option<Uuid>>, team: Uuid) -> usize {
    tree.keys()
        .filter(|&&other| {
            let mut cursor = other;
            let mut steps = 0;
            while let Some(Some(parent)) = tree.get(&cursor) {
                if cursor == team {
                    return true;
                }
                cursor = *parent;
                steps += 1;
                if steps > tree.len() {
                    return false;
                }
            }
            cursor == team
        })
        .map(|&descendant| level(tree, descendant))
        .max()
        .map_or(1, |deepest| deepest + 1 - level(tree, team))
}

/// Whether `candidate` is `team` or lies below it.
fn in_subtree(tree: &HashMap<Uuid, Option<Uuid>>, team: Uuid, candidate: Uuid) -> bool {
    let mut cursor = Some(candidate);
    let mut steps = 0;
    while let Some(current) = cursor {
        if current == team {
            return true;
        }
        cursor = tree.get(&current).copied().flatten();
        steps += 1;
        if steps > tree.len() {
            return true;
        }
    }
    false
}

/// Checks a parent for a team: in the same organization, not the team or
/// one of its descendants, and not so deep that the tree passes
/// [`MAX_LEVELS`].
async fn check_parent<C: ConnectionTrait>(
    txn: &C,
    organization_id: Uuid,
    moving: Option<Uuid>,
    parent_team_id: Uuid,
) -> AppResult<()> {
    let tree = tree(txn, organization_id).await?;
    if !tree.contains_key(&parent_team_id) {
        return Err(AppError::bad_input(
            "parentTeamId",
            "no such team in this organization",
        ));
    }
    let span = match moving {
        Some(team) => {
            if in_subtree(&tree, team, parent_team_id) {
                return Err(AppError::bad_input(
                    "parentTeamId",
                    "a team cannot be placed inside itself or one of its own sub-teams",
                ));
            }
            height(&tree, team)
        }
        None => 1,
    };
    if level(&tree, parent_team_id) + span > MAX_LEVELS {
        return Err(AppError::bad_input(
            "parentTeamId",
            format!("teams nest at most {MAX_LEVELS} levels deep"),
        ));
    }
    Ok(())
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
        .map(|d| values::optional_text("description", d, 2000))
        .transpose()?
        .flatten();

    let txn = begin_write(db).await?;
    let access =
        access::authorize_write(&txn, actor, input.organization_id, Permission::TeamsCreate)
            .await?;
    // A person becomes the team's first maintainer; an API token's team
    // starts empty.
    let creator = access.membership.clone();
    let used = team::Entity::find()
        .filter(team::Column::OrganizationId.eq(input.organization_id))
        .count(&txn)
        .await?;
    tiers::ensure_room(access.organization.tier, Resource::Teams, used, 1)?;
    if let Some(parent) = input.parent_team_id {
        check_parent(&txn, input.organization_id, None, parent).await?;
    }
    let slug = match slug {
        Some(slug) => slug,
        None => {
            let base = Slug::derive(&name)
                .unwrap_or_else(|| Slug::parse("slug", "team").expect("a static slug is valid"));
            available_slug(&txn, input.organization_id, base).await?
        }
    };
    let now = Utc::now();
    let team = team::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(input.organization_id),
        parent_team_id: Set(input.parent_team_id),
        name: Set(name),
        slug: Set(slug.into_string()),
        description: Set(description),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let maintainer = match creator {
        Some(creator) => Some(
            team_member::ActiveModel {
                id: Set(new_id()),
                team_id: Set(team.id),
                member_id: Set(creator.id),
                role: Set(TeamRole::Maintainer),
                added_at: Set(now),
            }
            .insert(&txn)
            .await?,
        ),
        None => None,
    };
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "team.created",
            resource_type: "team",
            resource_id: Some(team.id),
            organization_id: Some(team.organization_id),
            metadata: json!({ "after": snapshot(&team) }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok((team, maintainer))
}

/// Changes a team's name, slug, description or parent.
#[tracing::instrument(skip_all, fields(%team_id))]
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    team_id: Uuid,
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
                .map(|d| values::optional_text("description", d, 2000))
                .transpose()
                .map(Option::flatten)
        })
        .transpose()?;

    let txn = begin_write(db).await?;
    let (_, team) = authorize_team_write(&txn, actor, team_id).await?;
    if let Some(Some(parent)) = patch.parent_team_id {
        check_parent(&txn, team.organization_id, Some(team.id), parent).await?;
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
        active.parent_team_id = Set(parent);
    }
    active.updated_at = Set(Utc::now());
    let team = active.update(&txn).await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "team.updated",
            resource_type: "team",
            resource_id: Some(team.id),
            organization_id: Some(team.organization_id),
            metadata: json!({ "before": before, "after": snapshot(&team) }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(team)
}

/// Deletes a team; refused with CONFLICT while it has sub-teams.
#[tracing::instrument(skip_all, fields(%team_id))]
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    team_id: Uuid,
) -> AppResult<team::Model> {
    let txn = begin_write(db).await?;
    let (_, team) = authorize_team_write(&txn, actor, team_id).await?;
    let children = team::Entity::find()
        .filter(team::Column::ParentTeamId.eq(team.id))
        .count(&txn)
        .await?;
    if children > 0 {
        return Err(AppError::conflict(format!(
            "this team has {children} sub-team(s): delete or move them first"
        )));
    }
    team.clone().delete(&txn).await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "team.deleted",
            resource_type: "team",
            resource_id: Some(team.id),
            organization_id: Some(team.organization_id),
            metadata: json!({ "before": snapshot(&team) }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(team)
}

/// The organization member `member_id`, which must belong to the team's
/// organization (anything else looks absent).
async fn member_of_org<C: ConnectionTrait>(
    txn: &C,
    organization_id: Uuid,
    member_id: Uuid,
) -> AppResult<member::Model> {
    member::Entity::find_by_id(member_id)
        .filter(member::Column::OrganizationId.eq(organization_id))
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)
}

/// Puts an organization member into a team.
#[tracing::instrument(skip_all, fields(%team_id, %member_id, ?role))]
pub async fn add_member(
    db: &DatabaseConnection,
    actor: &Actor,
    team_id: Uuid,
    member_id: Uuid,
    role: TeamRole,
) -> AppResult<team_member::Model> {
    let txn = begin_write(db).await?;
    let (_, team) = authorize_team_write(&txn, actor, team_id).await?;
    let member = member_of_org(&txn, team.organization_id, member_id).await?;
    let added = team_member::ActiveModel {
        id: Set(new_id()),
        team_id: Set(team.id),
        member_id: Set(member.id),
        role: Set(role),
        added_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "team.member_added",
            resource_type: "team",
            resource_id: Some(team.id),
            organization_id: Some(team.organization_id),
            metadata: json!({ "memberId": member.id, "userId": member.user_id, "after": { "role": role } }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(added)
}

async fn team_membership<C: ConnectionTrait>(
    txn: &C,
    team_id: Uuid,
    member_id: Uuid,
) -> AppResult<team_member::Model> {
    team_member::Entity::find()
        .filter(team_member::Column::TeamId.eq(team_id))
        .filter(team_member::Column::MemberId.eq(member_id))
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)
}

/// Changes a member's role within a team.
#[tracing::instrument(skip_all, fields(%team_id, %member_id, ?role))]
pub async fn change_member_role(
    db: &DatabaseConnection,
    actor: &Actor,
    team_id: Uuid,
    member_id: Uuid,
    role: TeamRole,
) -> AppResult<team_member::Model> {
    let txn = begin_write(db).await?;
    let (_, team) = authorize_team_write(&txn, actor, team_id).await?;
    let current = team_membership(&txn, team.id, member_id).await?;
    let before = current.role;
    let mut active: team_member::ActiveModel = current.into();
    active.role = Set(role);
    let updated = active.update(&txn).await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "team.member_role_updated",
            resource_type: "team",
            resource_id: Some(team.id),
            organization_id: Some(team.organization_id),
            metadata: json!({ "memberId": member_id, "before": { "role": before }, "after": { "role": role } }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Takes a member out of a team. Members may also take themselves out.
#[tracing::instrument(skip_all, fields(%team_id, %member_id))]
pub async fn remove_member(
    db: &DatabaseConnection,
    actor: &Actor,
    team_id: Uuid,
    member_id: Uuid,
) -> AppResult<team_member::Model> {
    let txn = begin_write(db).await?;
    let organization_id = find(&txn, team_id).await?.organization_id;
    let access =
        access::authorize_write(&txn, actor, organization_id, Permission::TeamsView).await?;
    let team = find(&txn, team_id).await?;
    let leaving = access
        .membership
        .as_ref()
        .is_some_and(|m| m.id == member_id);
    if !leaving {
        let team_role = actor_team_role(&txn, &access, team_id).await?;
        if !may_administer(
            access.allows(actor, Permission::TeamsManage),
            access.membership.is_some(),
            team_role,
        ) {
            return Err(AppError::Forbidden(
                "only a team maintainer or someone with teams:manage may change this team",
            ));
        }
    }
    let current = team_membership(&txn, team.id, member_id).await?;
    current.clone().delete(&txn).await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "team.member_removed",
            resource_type: "team",
            resource_id: Some(team.id),
            organization_id: Some(team.organization_id),
            metadata: json!({ "memberId": member_id, "before": { "role": current.role } }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(current)
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub struct TeamFilter {
    pub search: Option<String>,
    /// Only teams without a parent.
    pub top_level_only: bool,
}

/// Organizations' teams matching a filter.
pub fn listable(organization_ids: &[Uuid], filter: &TeamFilter) -> AppResult<Select<team::Entity>> {
    let search = values::search("search", filter.search.as_deref())?;
    let mut select = team::Entity::find()
        .filter(team::Column::OrganizationId.is_in(organization_ids.iter().copied()));
    if filter.top_level_only {
        select = select.filter(team::Column::ParentTeamId.is_null());
    }
    if let Some(search) = search {
        let pattern = LikeExpr::new(pagination::like_pattern(&search)).escape('\\');
        select = select.filter(
            Condition::any()
                .add(Expr::expr(Func::lower(Expr::col(team::Column::Name))).like(pattern.clone()))
                .add(Expr::col(team::Column::Slug).like(pattern)),
        );
    }
    Ok(select)
}

/// One page of teams for each organization, in one statement.
pub async fn pages<C: ConnectionTrait>(
    db: &C,
    organization_ids: &[Uuid],
    filter: &TeamFilter,
    page: PageRequest,
) -> AppResult<HashMap<Uuid, Page<team::Model>>> {
    let select = listable(organization_ids, filter)?.into_query();
    pagination::pages_per_parent(
        db,
        select,
        ("teams", "organization_id"),
        ("teams", "id"),
        page,
        |row| {
            let team = team::Model::from_query_result(row, "")?;
            Ok((team.organization_id, team))
        },
    )
    .await
}

/// How many teams match the filter in each organization.
pub async fn counts<C: ConnectionTrait>(
    db: &C,
    organization_ids: &[Uuid],
    filter: &TeamFilter,
) -> AppResult<HashMap<Uuid, u64>> {
    let select = listable(organization_ids, filter)?.into_query();
    pagination::counts_per_parent(db, select, ("teams", "organization_id")).await
}

/// A team by slug within an organization the caller already may read.
pub async fn by_slug<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
    slug: &str,
) -> AppResult<Option<team::Model>> {
    let slug = values::text("slug", slug, 64)?;
    Ok(team::Entity::find()
        .filter(team::Column::OrganizationId.eq(organization_id))
        .filter(team::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

/// A team the actor may see (teams:view in its organization).
pub async fn visible_by_id<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    team_id: Uuid,
) -> AppResult<Option<team::Model>> {
    let Some(found) = team::Entity::find_by_id(team_id).one(db).await? else {
        return Ok(None);
    };
    Ok(
        access::may_read(db, actor, found.organization_id, Permission::TeamsView)
            .await?
            .then_some(found),
    )
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub struct TeamMemberFilter {
    pub role: Option<TeamRole>,
}

/// Teams' members, joined with their organization memberships.
fn members_listable(team_ids: &[Uuid], filter: &TeamMemberFilter) -> Select<team_member::Entity> {
    let mut select = team_member::Entity::find()
        .inner_join(member::Entity)
        .filter(team_member::Column::TeamId.is_in(team_ids.iter().copied()));
    if let Some(role) = filter.role {
        select = select.filter(team_member::Column::Role.eq(role));
    }
    select
}

pub type TeamMemberWithMember = (team_member::Model, Option<member::Model>);

/// One page of members for each team, in one statement.
pub async fn member_pages<C: ConnectionTrait>(
    db: &C,
    team_ids: &[Uuid],
    filter: &TeamMemberFilter,
    page: PageRequest,
) -> AppResult<HashMap<Uuid, Page<TeamMemberWithMember>>> {
    let select = members_listable(team_ids, filter)
        .select_also(member::Entity)
        .into_query();
    pagination::pages_per_parent(
        db,
        select,
        ("team_members", "team_id"),
        ("team_members", "id"),
        page,
        |row| {
            let placement = team_member::Model::from_query_result(row, "A_")?;
            let member = member::Model::from_query_result_optional(row, "B_")?;
            Ok((placement.team_id, (placement, member)))
        },
    )
    .await
}

/// How many members match the filter in each team.
pub async fn member_counts<C: ConnectionTrait>(
    db: &C,
    team_ids: &[Uuid],
    filter: &TeamMemberFilter,
) -> AppResult<HashMap<Uuid, u64>> {
    let select = members_listable(team_ids, filter).into_query();
    pagination::counts_per_parent(db, select, ("team_members", "team_id")).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> (HashMap<Uuid, Option<Uuid>>, Vec<Uuid>) {
        let ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
        let tree = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, if i == 0 { None } else { Some(ids[i - 1]) }))
            .collect();
        (tree, ids)
    }

    #[test]
    fn levels_and_heights_count_from_one() {
        let (tree, ids) = chain(3);
        assert_eq!(level(&tree, ids[0]), 1);
        assert_eq!(level(&tree, ids[2]), 3);
        assert_eq!(height(&tree, ids[0]), 3);
        assert_eq!(height(&tree, ids[2]), 1);
    }

    #[test]
    fn a_team_lies_in_its_own_subtree() {
        let (tree, ids) = chain(3);
        assert!(in_subtree(&tree, ids[0], ids[2]));
        assert!(in_subtree(&tree, ids[1], ids[1]));
        assert!(!in_subtree(&tree, ids[2], ids[0]));
    }
}
