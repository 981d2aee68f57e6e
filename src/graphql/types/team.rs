use std::borrow::Cow;
use std::collections::HashSet;

use async_graphql::parser::types::Field;
use async_graphql::{
    Context, ContextSelectionSet, ID, InputObject, Object, ScalarType, Value,
    dataloader::{DataLoader, HashMapCache},
};
use chrono::{DateTime, Utc};
use entity::{member, team, team_member};
use uuid::Uuid;

use crate::domain::authz::access::decide_for;
use crate::domain::authz::matrix::{Decision, Permission};
use crate::domain::ids::{self, IdKind};
use crate::error::AppError;
use crate::graphql::connection::{self, CountedConnection};
use crate::graphql::context::ContextExt;
use crate::graphql::guards::PermissionGuard;
use crate::graphql::loaders::{
    ChildTeamsLoader, CountKey, CountLoader, MemberKey, MemberLoader, MembersOfTeam,
    OrganizationLoader, TeamLoader, TeamRoleLoader, TeamsByMemberLoader, UserLoader,
    ViewerMembershipLoader, load_existing, prefetch,
};
use crate::graphql::plain::PlainFields;
use crate::graphql::types::{Member, Organization, enums::TeamRole};
use crate::read::teams::{TeamMemberFilter, TeamRow};

/// A group of members inside an organization; teams nest up to eight
/// levels.
#[derive(Clone)]
pub struct Team(pub TeamRow);

impl From<team::Model> for Team {
    fn from(team: team::Model) -> Self {
        Self(TeamRow::Full(team))
    }
}

impl Team {
    /// The fields a `TeamBrief` cannot answer: a members page whose client
    /// selects none of them under `teams` reads only the brief.
    pub const BEYOND_BRIEF: &[&str] = &["description", "parent", "createdAt", "updatedAt"];

    fn opaque_id(&self) -> ID {
        ID(ids::encode(IdKind::Team, self.0.id()))
    }

    /// Every column: as read, or loaded by id when only the brief was.
    async fn full(&self, ctx: &Context<'_>) -> async_graphql::Result<Cow<'_, team::Model>> {
        match &self.0 {
            TeamRow::Full(team) => Ok(Cow::Borrowed(team)),
            TeamRow::Brief(brief) => Ok(Cow::Owned(
                load_existing::<TeamLoader>(ctx, brief.id, "a listed team").await?,
            )),
        }
    }
}

/// Narrows `Team.members`.
#[derive(InputObject, Default)]
pub struct TeamMemberFilterInput {
    /// Only members with this role in the team.
    pub role: Option<TeamRole>,
}

/// A group of members inside an organization; teams nest up to eight
/// levels.
// `serial`: see `Member` (issue #26).
#[Object(serial)]
impl Team {
    /// Opaque id, prefixed `team_`.
    pub async fn id(&self) -> ID {
        self.opaque_id()
    }

    /// Display name.
    async fn name(&self) -> &str {
        self.0.name()
    }

    /// URL-safe name, unique within the organization.
    async fn slug(&self) -> &str {
        self.0.slug()
    }

    /// What the team is for.
    async fn description(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.full(ctx).await?.description.clone())
    }

    /// The organization the team belongs to.
    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Organization> {
        let organization = load_existing::<OrganizationLoader>(
            ctx,
            self.0.organization_id(),
            "a team's organization",
        );
        Ok(Organization(organization.await?))
    }

    /// The enclosing team; null at the top level.
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Team>> {
        let Some(parent) = self.full(ctx).await?.parent_team_id else {
            return Ok(None);
        };
        Ok(ctx
            .data::<DataLoader<TeamLoader, HashMapCache>>()?
            .load_one(parent)
            .await?
            .map(Team::from))
    }

    /// The teams directly inside this one, oldest first.
    async fn children(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Team>> {
        let children = ctx
            .data::<DataLoader<ChildTeamsLoader, HashMapCache>>()?
            .load_one(self.0.id())
            .await?;
        Ok(children
            .unwrap_or_default()
            .into_iter()
            .map(Team::from)
            .collect())
    }

    /// The team's members, earliest added first (members:view).
    #[graphql(
        guard = "PermissionGuard::new(Permission::MembersView, self.0.organization_id())",
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity"
    )]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: 20 when absent, at most 100.")] first: Option<i32>,
        #[graphql(desc = "The `cursor` of the last edge already seen.")] after: Option<String>,
        #[graphql(desc = "Only members with this role in the team.")] role: Option<TeamRole>,
    ) -> async_graphql::Result<CountedConnection<TeamMember>> {
        let filter = TeamMemberFilter {
            role: role.map(Into::into),
        };
        let (page, request, total) = connection::nested_page::<MembersOfTeam>(
            ctx,
            self.0.id(),
            filter,
            first,
            after.as_deref(),
        )
        .await?;
        let members = page.items.iter().filter_map(|(_, m)| m.as_ref());
        prefetch::<UserLoader, _>(
            ctx,
            &["edges", "node", "member", "user"],
            members.clone().map(|m| m.user_id),
        )
        .await?;
        prefetch::<TeamsByMemberLoader, _>(
            ctx,
            &["edges", "node", "member", "teams"],
            members.map(MemberKey::of),
        )
        .await?;
        Ok(connection::build(
            page,
            request,
            total,
            |(tm, _)| tm.id,
            |(row, member)| TeamMember { row, member },
        ))
    }

    /// How many members the team has.
    async fn members_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        Ok(ctx
            .data::<DataLoader<CountLoader<MembersOfTeam>, HashMapCache>>()?
            .load_one(CountKey::unfiltered(self.0.id()))
            .await?
            .unwrap_or(0))
    }

    /// Whether the viewer may change this team: teams:manage in the
    /// organization, or MAINTAINER of the team.
    async fn viewer_can_administer(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let Some(actor) = ctx.actor_opt() else {
            return Ok(false);
        };
        let Some(access) = ctx
            .data::<DataLoader<ViewerMembershipLoader, HashMapCache>>()?
            .load_one(self.0.organization_id())
            .await?
        else {
            return Ok(false);
        };
        let role = access.membership.as_ref().map(|m| m.role);
        let holds_teams_manage = decide_for(
            actor,
            self.0.organization_id(),
            access.gate()?,
            access.membership.as_ref(),
            Permission::TeamsManage,
        )? == Decision::Allow;
        let team_role = match &access.membership {
            Some(membership) => {
                ctx.data::<DataLoader<TeamRoleLoader, HashMapCache>>()?
                    .load_one((self.0.id(), membership.id))
                    .await?
            }
            None => None,
        };
        Ok(crate::domain::authz::matrix::may_administer_team(
            holds_teams_manage,
            role.is_some(),
            team_role,
        ))
    }

    /// When the team was created.
    async fn created_at(&self, ctx: &Context<'_>) -> async_graphql::Result<DateTime<Utc>> {
        Ok(self.full(ctx).await?.created_at)
    }

    /// When its settings last changed.
    async fn updated_at(&self, ctx: &Context<'_>) -> async_graphql::Result<DateTime<Utc>> {
        Ok(self.full(ctx).await?.updated_at)
    }
}

/// A listed team answers its brief's fields from the row
/// (`graphql::plain`).
impl PlainFields for Team {
    fn plain_field(&self, _: &ContextSelectionSet<'_>, field: &Field) -> Option<Value> {
        match field.name.node.as_str() {
            "id" => Some(self.opaque_id().to_value()),
            "name" => Some(Value::String(self.0.name().to_owned())),
            "slug" => Some(Value::String(self.0.slug().to_owned())),
            _ => None,
        }
    }
}

/// Reads, for a page of teams, each relation the client selected below
/// `edges.node`, one statement per relation.
pub async fn prefetch_team_relations(
    ctx: &Context<'_>,
    page: &[team::Model],
) -> async_graphql::Result<()> {
    let ids = || page.iter().map(|t| t.id);
    prefetch::<CountLoader<MembersOfTeam>, _>(
        ctx,
        &["edges", "node", "membersCount"],
        ids().map(CountKey::unfiltered),
    )
    .await?;
    prefetch::<ChildTeamsLoader, _>(ctx, &["edges", "node", "children"], ids()).await?;
    prefetch_viewer_team_roles(ctx, page).await?;
    let parents = page.iter().filter_map(|t| t.parent_team_id);
    prefetch::<TeamLoader, _>(ctx, &["edges", "node", "parent"], parents).await
}

/// Reads the viewer's role in each team of a page when the client selected
/// `viewerCanAdminister`: the viewer's membership in the teams'
/// organizations (usually already read with the organization), then their
/// roles, one statement.
async fn prefetch_viewer_team_roles(
    ctx: &Context<'_>,
    page: &[team::Model],
) -> async_graphql::Result<()> {
    let selected = ctx
        .look_ahead()
        .field("edges")
        .field("node")
        .field("viewerCanAdminister");
    if !selected.exists() {
        return Ok(());
    }
    let organizations: HashSet<Uuid> = page.iter().map(|t| t.organization_id).collect();
    let access = ctx
        .data::<DataLoader<ViewerMembershipLoader, HashMapCache>>()?
        .load_many(organizations)
        .await?;
    let pairs = page.iter().filter_map(|team| {
        let membership = access.get(&team.organization_id)?.membership.as_ref()?;
        Some((team.id, membership.id))
    });
    ctx.data::<DataLoader<TeamRoleLoader, HashMapCache>>()?
        .load_many(pairs)
        .await?;
    Ok(())
}

/// A member's place in a team.
pub struct TeamMember {
    pub row: team_member::Model,
    /// The organization membership, when the query already read it.
    pub member: Option<member::Model>,
}

/// A member's place in a team.
#[Object]
impl TeamMember {
    /// The organization member.
    async fn member(&self, ctx: &Context<'_>) -> async_graphql::Result<Member> {
        if let Some(member) = &self.member {
            return Ok(Member::from(member.clone()));
        }
        let member = ctx
            .data::<DataLoader<MemberLoader, HashMapCache>>()?
            .load_one(self.row.member_id)
            .await?
            .ok_or_else(|| AppError::internal("a team member's membership is missing"))?;
        Ok(Member::from(member))
    }

    /// MAINTAINER or MEMBER.
    async fn role(&self) -> TeamRole {
        self.row.role.into()
    }

    /// When the member was added to the team.
    async fn added_at(&self) -> DateTime<Utc> {
        self.row.added_at
    }
}
