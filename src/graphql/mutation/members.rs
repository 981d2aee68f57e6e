use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::domain::ids;
use crate::domain::members;
use crate::graphql::context::ContextExt;
use crate::graphql::guards::{Person, SignedIn};
use crate::graphql::types::{Member, enums::Role};

#[derive(Default)]
pub struct MemberMutations;

/// A member and the role to give them.
#[derive(InputObject)]
pub struct UpdateMemberRoleInput {
    /// The member (`mem_` id).
    pub member_id: ID,
    /// The new role: at most your own; only an OWNER makes an OWNER.
    pub role: Role,
}

/// The result of `updateMemberRole`.
#[derive(SimpleObject)]
pub struct UpdateMemberRolePayload {
    /// The member with their new role.
    pub member: Member,
}

/// The member to remove.
#[derive(InputObject)]
pub struct RemoveMemberInput {
    /// The member (`mem_` id).
    pub member_id: ID,
}

/// The result of `removeMember`.
#[derive(SimpleObject)]
pub struct RemoveMemberPayload {
    /// The id the membership had.
    pub removed_member_id: ID,
}

/// The organization to leave.
#[derive(InputObject)]
pub struct LeaveOrganizationInput {
    /// The organization (`org_` id).
    pub organization_id: ID,
}

/// The result of `leaveOrganization`.
#[derive(SimpleObject)]
pub struct LeaveOrganizationPayload {
    /// The organization left.
    pub organization_id: ID,
}

#[Object]
impl MemberMutations {
    /// Changes a member's role (members:manage). OWNER changes anyone;
    /// ADMIN changes MEMBER, VIEWER and BILLING; the last OWNER stays.
    #[graphql(guard = "SignedIn")]
    async fn update_member_role(
        &self,
        ctx: &Context<'_>,
        input: UpdateMemberRoleInput,
    ) -> async_graphql::Result<UpdateMemberRolePayload> {
        let member_id = ids::parse::<ids::MemberId>(&input.member_id, "memberId")?;
        let member =
            members::change_role(ctx.db()?, ctx.actor()?, member_id, input.role.into()).await?;
        Ok(UpdateMemberRolePayload {
            member: member.into(),
        })
    }

    /// Removes a member (members:manage, same rank rules) and ends their
    /// sessions in the organization.
    #[graphql(guard = "SignedIn")]
    async fn remove_member(
        &self,
        ctx: &Context<'_>,
        input: RemoveMemberInput,
    ) -> async_graphql::Result<RemoveMemberPayload> {
        let member_id = ids::parse::<ids::MemberId>(&input.member_id, "memberId")?;
        members::remove(ctx.db()?, ctx.actor()?, member_id).await?;
        Ok(RemoveMemberPayload {
            removed_member_id: input.member_id,
        })
    }

    /// The viewer leaves an organization; the last OWNER cannot.
    #[graphql(guard = "Person")]
    async fn leave_organization(
        &self,
        ctx: &Context<'_>,
        input: LeaveOrganizationInput,
    ) -> async_graphql::Result<LeaveOrganizationPayload> {
        let organization_id =
            ids::parse::<ids::OrganizationId>(&input.organization_id, "organizationId")?;
        members::leave(ctx.db()?, ctx.actor()?, organization_id).await?;
        Ok(LeaveOrganizationPayload {
            organization_id: input.organization_id,
        })
    }
}
