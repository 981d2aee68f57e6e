//! Join codes: creating and revoking them, and joining with one.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::domain::ids;
use crate::domain::join_codes::{self, NewJoinCode};
use crate::graphql::context::ContextExt;
use crate::graphql::guards::{Person, SignedIn};
use crate::graphql::rate_limits::Limited;
use crate::graphql::types::{JoinCode, Organization, enums::Role};

use super::invitations::actor_key;

#[derive(Default)]
pub struct JoinCodeMutations;

/// A join code to create.
#[derive(InputObject)]
pub struct CreateJoinCodeInput {
    /// The organization (`org_` id).
    pub organization_id: ID,
    /// The role joiners get: MEMBER when absent; never OWNER, at most your
    /// own.
    pub role: Option<Role>,
    /// The most uses; absent for no limit.
    pub max_uses: Option<i32>,
    /// Hours until it expires; absent for never (at most a year).
    pub expires_in_hours: Option<i32>,
    /// A guest link: joiners become guests (VIEWER; give no other role)
    /// with only a proven email address (`requestGuestSignIn` with the
    /// code). Only while the policy's `guestAccessEnabled` is on.
    pub guest: Option<bool>,
}

/// A new join code and, this once, the code itself.
#[derive(SimpleObject)]
pub struct CreateJoinCodePayload {
    /// The join code.
    pub join_code: JoinCode,
    /// The code to share; shown only here.
    pub code: String,
}

/// A join code to revoke.
#[derive(InputObject)]
pub struct RevokeJoinCodeInput {
    /// The join code (`jc_` id).
    pub join_code_id: ID,
}

/// The result of `revokeJoinCode`.
#[derive(SimpleObject)]
pub struct RevokeJoinCodePayload {
    /// The join code, now revoked.
    pub join_code: JoinCode,
}

/// A code to join with.
#[derive(InputObject)]
pub struct JoinOrganizationInput {
    /// The join code.
    pub code: String,
}

/// The result of `joinOrganization`.
#[derive(SimpleObject)]
pub struct JoinOrganizationPayload {
    /// The organization.
    pub organization: Organization,
    /// The viewer's role there.
    pub role: Role,
    /// True when the viewer was a member already (the code was not used).
    pub already_member: bool,
}

#[Object]
impl JoinCodeMutations {
    /// Creates a shareable join code (members:manage).
    #[graphql(guard = "SignedIn")]
    async fn create_join_code(
        &self,
        ctx: &Context<'_>,
        input: CreateJoinCodeInput,
    ) -> async_graphql::Result<CreateJoinCodePayload> {
        let (join_code, code) = join_codes::create(
            ctx.db()?,
            ctx.actor()?,
            NewJoinCode {
                organization_id: ids::parse::<ids::OrganizationId>(
                    &input.organization_id,
                    "organizationId",
                )?,
                role: input.role.map(Into::into),
                max_uses: input.max_uses,
                expires_in_hours: input.expires_in_hours,
                guest: input.guest.unwrap_or(false),
            },
        )
        .await?;
        Ok(CreateJoinCodePayload {
            join_code: JoinCode(join_code),
            code,
        })
    }

    /// Ends a join code (members:manage).
    #[graphql(guard = "SignedIn")]
    async fn revoke_join_code(
        &self,
        ctx: &Context<'_>,
        input: RevokeJoinCodeInput,
    ) -> async_graphql::Result<RevokeJoinCodePayload> {
        let id = ids::parse::<ids::JoinCodeId>(&input.join_code_id, "joinCodeId")?;
        let join_code = join_codes::revoke(ctx.db()?, ctx.actor()?, id).await?;
        Ok(RevokeJoinCodePayload {
            join_code: JoinCode(join_code),
        })
    }

    /// Joins the organization a code belongs to.
    #[graphql(guard = "Person")]
    async fn join_organization(
        &self,
        ctx: &Context<'_>,
        input: JoinOrganizationInput,
    ) -> async_graphql::Result<JoinOrganizationPayload> {
        let actor = ctx.actor()?;
        ctx.rate_limit(Limited::JoinCode, actor_key(actor).as_deref())
            .await?;
        let joined = join_codes::join(ctx.db()?, actor, &input.code).await?;
        Ok(JoinOrganizationPayload {
            role: joined.membership.role.into(),
            organization: Organization(joined.organization),
            already_member: joined.already_member,
        })
    }
}
