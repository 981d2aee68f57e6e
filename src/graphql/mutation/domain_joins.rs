//! Joining an organization by the verified domain of one's address.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::domain::ids;
use crate::graphql::context::ContextExt;
use crate::graphql::guards::Person;
use crate::graphql::types::{Member, Organization};

#[derive(Default)]
pub struct DomainJoinMutations;

/// An organization to join by domain.
#[derive(InputObject)]
pub struct JoinOrganizationByDomainInput {
    /// The organization (`org_` id), from `viewer.joinableOrganizations`.
    pub organization_id: ID,
}

/// The result of `joinOrganizationByDomain`.
#[derive(SimpleObject)]
pub struct JoinOrganizationByDomainPayload {
    /// The new membership, with the policy's `defaultRole`.
    pub member: Member,
    /// The organization joined.
    pub organization: Organization,
}

#[Object]
impl DomainJoinMutations {
    /// Joins an organization by the verified domain of the viewer's address
    /// (its policy's `autoJoinDomains`), within its seat limit and IP
    /// allowlist. An unverified address is FORBIDDEN; an organization that
    /// does not admit the viewer is NOT_FOUND.
    #[graphql(guard = "Person")]
    async fn join_organization_by_domain(
        &self,
        ctx: &Context<'_>,
        input: JoinOrganizationByDomainInput,
    ) -> async_graphql::Result<JoinOrganizationByDomainPayload> {
        let organization_id: crate::domain::ids::OrganizationId =
            ids::parse::<ids::OrganizationId>(&input.organization_id, "organizationId")?;
        let (member, organization) =
            crate::domain::domain_joins::join(ctx.db()?, ctx.actor()?, organization_id.into())
                .await?;
        Ok(JoinOrganizationByDomainPayload {
            member: member.into(),
            organization: Organization(organization),
        })
    }
}
