//! The read side of teams: lists, pages and counts per organization and per
//! team, and lookups by slug or id. Loaders call these.

use entity::{member, team, team_member, values::TeamRole};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DerivePartialModel, EntityTrait, FromQueryResult,
    QueryFilter, QueryTrait, Select,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use uuid::Uuid;

use crate::domain::authz::{Actor, Permission, access};
use crate::domain::values;
use crate::error::AppResult;
use crate::read::paging::{self, PerParent};
use sea_orm::sea_query::SelectStatement;
use sea_orm::{DbErr, QueryResult};

/// What a members page reads of a member's teams when the client asks for
/// nothing that needs more: four columns instead of eight.
#[derive(Debug, Clone, PartialEq, Eq, DerivePartialModel)]
#[sea_orm(entity = "team::Entity", from_query_result)]
pub struct TeamBrief {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub slug: String,
}

impl TeamBrief {
    /// Its columns, in the order of its fields.
    pub const COLUMNS: [&'static str; 4] = ["id", "organization_id", "name", "slug"];

    /// Reads it from a row by the positions of [`Self::COLUMNS`]; none
    /// when the row has no team (its id is null: a member in none).
    pub fn read_optional(row: &QueryResult, at: [usize; 4]) -> Result<Option<Self>, DbErr> {
        let Some(id) = paging::cell::<Option<Uuid>>(row, at[0])? else {
            return Ok(None);
        };
        Ok(Some(Self {
            id,
            organization_id: paging::cell(row, at[1])?,
            name: paging::cell(row, at[2])?,
            slug: paging::cell(row, at[3])?,
        }))
    }
}

/// A team as a read found it: every column, or only the brief (the rest is
/// then loaded by id if a resolver needs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamRow {
    Full(team::Model),
    Brief(TeamBrief),
}

impl TeamRow {
    pub fn id(&self) -> Uuid {
        match self {
            Self::Full(team) => team.id,
            Self::Brief(brief) => brief.id,
        }
    }

    pub fn organization_id(&self) -> Uuid {
        match self {
            Self::Full(team) => team.organization_id,
            Self::Brief(brief) => brief.organization_id,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Full(team) => &team.name,
            Self::Brief(brief) => &brief.name,
        }
    }

    pub fn slug(&self) -> &str {
        match self {
            Self::Full(team) => &team.slug,
            Self::Brief(brief) => &brief.slug,
        }
    }
}

impl From<team::Model> for TeamRow {
    fn from(team: team::Model) -> Self {
        Self::Full(team)
    }
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
        let pattern = LikeExpr::new(paging::like_pattern(&search)).escape('\\');
        select = select.filter(
            Condition::any()
                .add(Expr::expr(Func::lower(Expr::col(team::Column::Name))).like(pattern.clone()))
                .add(Expr::col(team::Column::Slug).like(pattern)),
        );
    }
    Ok(select)
}

/// An organization's teams.
pub struct TeamsOfOrganization;

impl PerParent for TeamsOfOrganization {
    type Filter = TeamFilter;
    type Item = team::Model;
    const PARENT: (&'static str, &'static str) = ("teams", "organization_id");
    const ID: (&'static str, &'static str) = ("teams", "id");

    fn select(parents: &[Uuid], filter: &Self::Filter) -> AppResult<SelectStatement> {
        Ok(listable(parents, filter)?.into_query())
    }

    fn parse(
        row: &QueryResult,
        _filter: &Self::Filter,
        _at: &mut paging::Positions,
    ) -> Result<(Uuid, Self::Item), DbErr> {
        let team = team::Model::from_query_result(row, "")?;
        Ok((team.organization_id, team))
    }
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

/// A team's members, with their organization memberships.
pub struct MembersOfTeam;

impl PerParent for MembersOfTeam {
    type Filter = TeamMemberFilter;
    type Item = TeamMemberWithMember;
    const PARENT: (&'static str, &'static str) = ("team_members", "team_id");
    const ID: (&'static str, &'static str) = ("team_members", "id");

    fn select(parents: &[Uuid], filter: &Self::Filter) -> AppResult<SelectStatement> {
        Ok(members_listable(parents, filter)
            .select_also(member::Entity)
            .into_query())
    }

    fn parse(
        row: &QueryResult,
        _filter: &Self::Filter,
        _at: &mut paging::Positions,
    ) -> Result<(Uuid, Self::Item), DbErr> {
        let placement = team_member::Model::from_query_result(row, "A_")?;
        let member = member::Model::from_query_result_optional(row, "B_")?;
        Ok((placement.team_id, (placement, member)))
    }
}
