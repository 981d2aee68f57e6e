use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::dns::TxtResolver;
use crate::domain::domains;
use crate::domain::ids;
use crate::graphql::context::ContextExt;
use crate::graphql::guards::SignedIn;
use crate::graphql::types::domain::{DnsChallenge, OrganizationDomain};

#[derive(Default)]
pub struct DomainMutations;

/// A domain of an organization.
#[derive(InputObject)]
pub struct DomainInput {
    /// The organization (`org_` id).
    pub organization_id: ID,
    /// The domain (`example.com`).
    pub domain: String,
}

/// The result of `addDomain`.
#[derive(SimpleObject)]
pub struct AddDomainPayload {
    /// The claim, unverified.
    pub domain: OrganizationDomain,
    /// The TXT record to publish before calling `verifyDomain`.
    pub challenge: DnsChallenge,
}

/// The result of `verifyDomain`.
#[derive(SimpleObject)]
pub struct VerifyDomainPayload {
    /// The domain, verified.
    pub domain: OrganizationDomain,
}

/// The result of `removeDomain`.
#[derive(SimpleObject)]
pub struct RemoveDomainPayload {
    /// The domain that was removed.
    pub removed_domain: String,
}

#[Object]
impl DomainMutations {
    /// Claims a domain for the organization (policies:manage) and answers
    /// the DNS TXT record that proves it. Another organization's claim to
    /// the same domain neither blocks nor shows here.
    #[graphql(guard = "SignedIn")]
    async fn add_domain(
        &self,
        ctx: &Context<'_>,
        input: DomainInput,
    ) -> async_graphql::Result<AddDomainPayload> {
        let organization_id =
            ids::parse::<ids::OrganizationId>(&input.organization_id, "organizationId")?;
        let claim = domains::add(ctx.db()?, ctx.actor()?, organization_id, &input.domain).await?;
        Ok(AddDomainPayload {
            challenge: DnsChallenge::from(&claim),
            domain: OrganizationDomain(claim),
        })
    }

    /// Looks up the domain's TXT challenge in DNS and marks it verified
    /// when found (policies:manage). BAD_USER_INPUT while the record is
    /// missing; CONFLICT if another organization verified the domain first.
    #[graphql(guard = "SignedIn")]
    async fn verify_domain(
        &self,
        ctx: &Context<'_>,
        input: DomainInput,
    ) -> async_graphql::Result<VerifyDomainPayload> {
        let organization_id =
            ids::parse::<ids::OrganizationId>(&input.organization_id, "organizationId")?;
        let dns = TxtResolver::new(ctx.config()?.dns_resolver);
        let claim =
            domains::verify(ctx.db()?, dns, ctx.actor()?, organization_id, &input.domain).await?;
        Ok(VerifyDomainPayload {
            domain: OrganizationDomain(claim),
        })
    }

    /// Drops the organization's claim to a domain, verified or not
    /// (policies:manage).
    #[graphql(guard = "SignedIn")]
    async fn remove_domain(
        &self,
        ctx: &Context<'_>,
        input: DomainInput,
    ) -> async_graphql::Result<RemoveDomainPayload> {
        let organization_id =
            ids::parse::<ids::OrganizationId>(&input.organization_id, "organizationId")?;
        let claim =
            domains::remove(ctx.db()?, ctx.actor()?, organization_id, &input.domain).await?;
        Ok(RemoveDomainPayload {
            removed_domain: claim.domain,
        })
    }
}
