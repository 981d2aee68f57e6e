use async_graphql::{
    Context, ID, Object,
    dataloader::{DataLoader, HashMapCache},
};

use crate::domain::authz::Person;
use crate::domain::ids::{self, MemberId};
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::loaders::{OrganizationLoader, UserLoader, ViewerMembershipLoader, prefetch};
use crate::graphql::types::{Invitation, Member, Organization, User, session::Session};
use crate::read::paging::PageRequest;

/// The signed-in person and what they belong to.
pub struct Viewer(pub Person);

/// The signed-in person and what they belong to.
#[Object]
impl Viewer {
    /// The signed-in user.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let user = ctx
            .data::<DataLoader<UserLoader, HashMapCache>>()?
            .load_one(self.0.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        Ok(User::from(user))
    }

    /// The address this request came from, as the organizations' IP
    /// allowlists see it (behind `ORGQL_TRUSTED_PROXIES`, the forwarded
    /// client's address): what an allowlist entry must cover to admit you.
    /// Null when the server cannot tell (no peer address).
    async fn ip_address(&self, ctx: &Context<'_>) -> Option<String> {
        ctx.meta().client_ip.map(|ip| ip.to_string())
    }

    /// How the current session was authenticated (RFC 8176 `amr`):
    /// `["pwd"]`, or `["pwd", "otp"]` after a second factor. Organizations
    /// that require MFA admit only the latter.
    async fn amr(&self) -> &'static [&'static str] {
        self.0.authentication.amr()
    }

    /// The viewer's memberships, oldest first, leaving out organizations
    /// whose IP allowlist refuses this request's address. Every one when
    /// `first` is absent (as before paging); a person in many
    /// organizations pages with `first` and `after`, each page costing the
    /// same however many there are.
    #[graphql(
        complexity = "first.map_or(child_complexity, |first| first.max(1) as usize * child_complexity)"
    )]
    async fn memberships(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100: every membership when absent.")] first: Option<
            i32,
        >,
        #[graphql(desc = "The `id` of the last membership already seen.")] after: Option<ID>,
    ) -> async_graphql::Result<Vec<Member>> {
        let after = after
            .map(|id| ids::parse_uuid::<MemberId>(&id, "after"))
            .transpose()?;
        let limit = first
            .map(|first| PageRequest::new(Some(first), after).map(|page| page.first))
            .transpose()?;
        let rows =
            crate::read::members::of_person(ctx.db()?, &self.0, ctx.meta().client_ip, after, limit)
                .await?;
        prefetch::<OrganizationLoader, _>(
            ctx,
            &["organization"],
            rows.iter().map(|m| m.organization_id),
        )
        .await?;
        Ok(rows.into_iter().map(Member::from).collect())
    }

    /// The viewer's live sessions, newest first; `current` marks this one.
    async fn sessions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Session>> {
        let rows = crate::read::sessions::active_of_user(ctx.db()?, self.0.user_id).await?;
        prefetch::<OrganizationLoader, _>(
            ctx,
            &["activeOrganization"],
            rows.iter().filter_map(|s| s.active_organization_id),
        )
        .await?;
        Ok(rows.into_iter().map(Session).collect())
    }

    /// Pending invitations to the viewer's email, in any organization;
    /// empty until the viewer's address is verified.
    async fn pending_invitations(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<Invitation>> {
        let rows = crate::read::invitations::pending_for(ctx.db()?, &self.0).await?;
        prefetch::<OrganizationLoader, _>(
            ctx,
            &["organization"],
            rows.iter().map(|i| i.organization_id),
        )
        .await?;
        Ok(rows.into_iter().map(Invitation).collect())
    }

    /// Organizations the viewer may join by the verified domain of their
    /// address (`joinOrganizationByDomain`); empty while the address is
    /// unverified.
    async fn joinable_organizations(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<Organization>> {
        let found = crate::domain::domain_joins::joinable(ctx.db()?, &self.0).await?;
        Ok(found.into_iter().map(Organization).collect())
    }

    /// The organization named by the access token's `org` claim, if the
    /// viewer is still a member of it.
    async fn active_organization(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Organization>> {
        let Some(org_id) = self.0.active_organization_id else {
            return Ok(None);
        };
        // The guards' loader reads the membership and the organization in
        // one statement, shared with every guarded field below.
        let access = ctx
            .data::<DataLoader<ViewerMembershipLoader, HashMapCache>>()?
            .load_one(org_id)
            .await?;
        if access.as_ref().is_none_or(|a| a.membership.is_none()) {
            return Ok(None);
        }
        let org = ctx
            .data::<DataLoader<OrganizationLoader, HashMapCache>>()?
            .load_one(org_id)
            .await?;
        Ok(org.map(Organization))
    }
}
