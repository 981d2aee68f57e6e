use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};

use crate::domain::ids;
use crate::domain::teams::{self, NewTeam, TeamPatch};
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::guards::SignedIn;
use crate::graphql::types::{Team, TeamMember, enums::TeamRole};

#[derive(Default)]
pub struct TeamMutations;

/// A new team.
#[derive(InputObject)]
pub struct CreateTeamInput {
    /// The organization (`org_` id).
    pub organization_id: ID,
    /// Display name, 1 to 200 characters.
    pub name: String,
    /// URL-safe name, unique in the organization; derived from the name
    /// when absent.
    pub slug: Option<String>,
    /// What the team is for, up to 2,000 characters.
    pub description: Option<String>,
    /// The enclosing team (`team_` id); absent for a top-level team.
    pub parent_team_id: Option<ID>,
}

/// The result of `createTeam`.
#[derive(SimpleObject)]
pub struct CreateTeamPayload {
    /// The new team, with its creator as MAINTAINER.
    pub team: Team,
}

/// New settings for a team; fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateTeamInput {
    /// The team (`team_` id).
    pub team_id: ID,
    /// Display name.
    pub name: Option<String>,
    /// URL-safe name, unique in the organization.
    pub slug: Option<String>,
    /// What the team is for; null clears it.
    pub description: MaybeUndefined<String>,
    /// The enclosing team; null moves the team to the top level.
    pub parent_team_id: MaybeUndefined<ID>,
}

/// The result of `updateTeam`.
#[derive(SimpleObject)]
pub struct UpdateTeamPayload {
    /// The team as it is now.
    pub team: Team,
}

/// The team to delete.
#[derive(InputObject)]
pub struct DeleteTeamInput {
    /// The team (`team_` id); it must have no sub-teams.
    pub team_id: ID,
}

/// The result of `deleteTeam`.
#[derive(SimpleObject)]
pub struct DeleteTeamPayload {
    /// The id the team had.
    pub deleted_team_id: ID,
}

/// A member to put into a team, or whose team role to change.
#[derive(InputObject)]
pub struct TeamMemberInput {
    /// The team (`team_` id).
    pub team_id: ID,
    /// The organization member (`mem_` id).
    pub member_id: ID,
    /// MAINTAINER, or MEMBER when absent.
    pub role: Option<TeamRole>,
}

/// The result of `addTeamMember` and `updateTeamMemberRole`.
#[derive(SimpleObject)]
pub struct TeamMemberPayload {
    /// The member's place in the team.
    pub team_member: TeamMember,
}

/// A member to take out of a team.
#[derive(InputObject)]
pub struct RemoveTeamMemberInput {
    /// The team (`team_` id).
    pub team_id: ID,
    /// The organization member (`mem_` id).
    pub member_id: ID,
}

/// The result of `removeTeamMember`.
#[derive(SimpleObject)]
pub struct RemoveTeamMemberPayload {
    /// The team.
    pub team_id: ID,
    /// The member taken out.
    pub member_id: ID,
}

fn team_id(id: &ID, field: &str) -> Result<crate::domain::ids::TeamId, AppError> {
    ids::parse::<ids::TeamId>(id, field)
}

#[Object]
impl TeamMutations {
    /// Creates a team (teams:create); the creator becomes its MAINTAINER.
    #[graphql(guard = "SignedIn")]
    async fn create_team(
        &self,
        ctx: &Context<'_>,
        input: CreateTeamInput,
    ) -> async_graphql::Result<CreateTeamPayload> {
        let (team, _) = teams::create(
            ctx.db()?,
            ctx.actor()?,
            NewTeam {
                organization_id: ids::parse::<ids::OrganizationId>(
                    &input.organization_id,
                    "organizationId",
                )?,
                name: input.name,
                slug: input.slug,
                description: input.description,
                parent_team_id: input
                    .parent_team_id
                    .as_ref()
                    .map(|id| team_id(id, "parentTeamId"))
                    .transpose()?,
            },
        )
        .await?;
        Ok(CreateTeamPayload {
            team: Team::from(team),
        })
    }

    /// Changes a team (teams:manage, or MAINTAINER of the team). Moving a
    /// team under one of its own sub-teams, or deeper than eight levels, is
    /// refused.
    #[graphql(guard = "SignedIn")]
    async fn update_team(
        &self,
        ctx: &Context<'_>,
        input: UpdateTeamInput,
    ) -> async_graphql::Result<UpdateTeamPayload> {
        let parent_team_id = match input.parent_team_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(id) => Some(Some(team_id(&id, "parentTeamId")?)),
        };
        let description = match input.description {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(text) => Some(Some(text)),
        };
        let team = teams::update(
            ctx.db()?,
            ctx.actor()?,
            team_id(&input.team_id, "teamId")?,
            TeamPatch {
                name: input.name,
                slug: input.slug,
                description,
                parent_team_id,
            },
        )
        .await?;
        Ok(UpdateTeamPayload {
            team: Team::from(team),
        })
    }

    /// Deletes a team (teams:manage, or MAINTAINER); CONFLICT while it has
    /// sub-teams.
    #[graphql(guard = "SignedIn")]
    async fn delete_team(
        &self,
        ctx: &Context<'_>,
        input: DeleteTeamInput,
    ) -> async_graphql::Result<DeleteTeamPayload> {
        teams::delete(ctx.db()?, ctx.actor()?, team_id(&input.team_id, "teamId")?).await?;
        Ok(DeleteTeamPayload {
            deleted_team_id: input.team_id,
        })
    }

    /// Puts an organization member into a team (teams:manage, or
    /// MAINTAINER).
    #[graphql(guard = "SignedIn")]
    async fn add_team_member(
        &self,
        ctx: &Context<'_>,
        input: TeamMemberInput,
    ) -> async_graphql::Result<TeamMemberPayload> {
        let row = teams::add_member(
            ctx.db()?,
            ctx.actor()?,
            team_id(&input.team_id, "teamId")?,
            ids::parse::<ids::MemberId>(&input.member_id, "memberId")?,
            input.role.unwrap_or(TeamRole::Member).into(),
        )
        .await?;
        Ok(TeamMemberPayload {
            team_member: TeamMember { row, member: None },
        })
    }

    /// Changes a member's role in a team (teams:manage, or MAINTAINER).
    #[graphql(guard = "SignedIn")]
    async fn update_team_member_role(
        &self,
        ctx: &Context<'_>,
        input: TeamMemberInput,
    ) -> async_graphql::Result<TeamMemberPayload> {
        let row = teams::change_member_role(
            ctx.db()?,
            ctx.actor()?,
            team_id(&input.team_id, "teamId")?,
            ids::parse::<ids::MemberId>(&input.member_id, "memberId")?,
            input.role.unwrap_or(TeamRole::Member).into(),
        )
        .await?;
        Ok(TeamMemberPayload {
            team_member: TeamMember { row, member: None },
        })
    }

    /// Takes a member out of a team (teams:manage, MAINTAINER, or the
    /// member themselves).
    #[graphql(guard = "SignedIn")]
    async fn remove_team_member(
        &self,
        ctx: &Context<'_>,
        input: RemoveTeamMemberInput,
    ) -> async_graphql::Result<RemoveTeamMemberPayload> {
        teams::remove_member(
            ctx.db()?,
            ctx.actor()?,
            team_id(&input.team_id, "teamId")?,
            ids::parse::<ids::MemberId>(&input.member_id, "memberId")?,
        )
        .await?;
        Ok(RemoveTeamMemberPayload {
            team_id: input.team_id,
            member_id: input.member_id,
        })
    }
}
