//! Query fields.

use async_graphql::{
    Context, ID, InputObject, Object,
    dataloader::{DataLoader, HashMapCache},
};

use crate::domain::authz::Permission;
use crate::domain::authz::matrix::MATRIX;
use crate::read::organizations::OrganizationFilter;

use crate::domain::ids::{self, IdKind};
use crate::error::AppError;
use crate::graphql::connection::{self, CountedConnection, TotalCount};
use crate::graphql::context::ContextExt;
use crate::graphql::guards::{SignedIn, note_staff_read};
use crate::graphql::loaders::{
    CountKey, CountLoader, MembersOfOrganization, ViewerAccess, ViewerMembershipLoader, prefetch,
};
use crate::graphql::rate_limits::Limited;
use crate::graphql::types::{
    Invitation, JoinCode, Member, Node, Organization, Team, User,
    enums::{OrganizationStatus, Tier},
    invitation::InvitationPreview,
    roles::RolePermissions,
    viewer::Viewer,
};
use crate::read::paging;

#[derive(Default)]
pub struct QueryRoot;

/// Narrows `organizations`.
#[derive(InputObject, Default)]
pub struct OrganizationFilterInput {
    /// Only organizations in this status.
    pub status: Option<OrganizationStatus>,
    /// Only organizations on this tier.
    pub tier: Option<Tier>,
    /// Only organizations whose name or slug contains this text.
    pub search: Option<String>,
}

#[Object(name = "QueryRootFields")] // merged into `Query` by `graphql::Query`
impl QueryRoot {
    /// The signed-in person; null when the request carries no credentials
    /// or an API token.
    async fn viewer(&self, ctx: &Context<'_>) -> Option<Viewer> {
        ctx.actor_opt()
            .and_then(|actor| actor.person())
            .cloned()
            .map(Viewer)
    }

    /// One organization by id or by slug (give exactly one); null when it
    /// does not exist or the viewer is not a member.
    #[graphql(guard = "SignedIn")]
    async fn organization(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organization's `org_` id.")] id: Option<ID>,
        #[graphql(desc = "The organization's slug.")] slug: Option<String>,
    ) -> async_graphql::Result<Option<Organization>> {
        let actor = ctx.actor()?;
        let db = ctx.db()?;
        let found = match (id, slug) {
            (Some(id), None) => {
                let id = ids::parse_uuid::<ids::OrganizationId>(&id, "id")?;
                crate::read::organizations::visible_by_id(db, actor, id).await?
            }
            (None, Some(slug)) => {
                crate::read::organizations::visible_by_slug(db, actor, &slug).await?
            }
            _ => return Err(AppError::bad_input("id", "give either id or slug").into()),
        };
        Ok(match found {
            Some((organization, membership)) => {
                Some(prime_membership(ctx, organization, membership).await?)
            }
            None => None,
        })
    }

    /// The viewer's organizations, oldest first; for a platform
    /// administrator, every organization.
    #[graphql(
        guard = "SignedIn",
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity"
    )]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: 20 when absent, at most 100.")] first: Option<i32>,
        #[graphql(desc = "The `cursor` of the last edge already seen.")] after: Option<String>,
        #[graphql(desc = "Narrows the list by status, tier or text.")] filter: Option<
            OrganizationFilterInput,
        >,
    ) -> async_graphql::Result<CountedConnection<Organization>> {
        let actor = ctx.actor()?;
        let db = ctx.db()?.clone();
        let request = connection::page_request(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let select = crate::read::organizations::listable(
            db.get_database_backend(),
            actor,
            &OrganizationFilter {
                status: filter.status.map(Into::into),
                tier: filter.tier.map(Into::into),
                search: filter.search,
            },
        )?;
        let page = crate::read::organizations::page(&db, select.clone(), request).await?;
        let ids = || page.items.iter().map(|o| o.id);
        prefetch::<ViewerMembershipLoader, _>(ctx, &["edges", "node", "viewerMembership"], ids())
            .await?;
        prefetch::<CountLoader<MembersOfOrganization>, _>(
            ctx,
            &["edges", "node", "membersCount"],
            ids().map(CountKey::unfiltered),
        )
        .await?;
        let total = TotalCount::of(db, select);
        Ok(connection::build(
            page,
            request,
            total,
            |o| o.id,
            Organization,
        ))
    }

    /// Any object by its id; null when absent or not visible.
    #[graphql(guard = "SignedIn")]
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A type-prefixed id such as `org_…`.")] id: ID,
    ) -> async_graphql::Result<Option<Node>> {
        resolve_node(ctx, &id, "id").await
    }

    /// Several objects by id, in the order asked (null for each one absent
    /// or not visible); at most 100.
    #[graphql(guard = "SignedIn")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Type-prefixed ids, at most 100.")] ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Node>>> {
        if ids.len() > paging::MAX_PAGE_SIZE as usize {
            return Err(AppError::bad_input("ids", "at most 100 ids").into());
        }
        let mut nodes = Vec::with_capacity(ids.len());
        for id in &ids {
            nodes.push(resolve_node(ctx, id, "ids").await?);
        }
        Ok(nodes)
    }

    /// What an invitation's accept page needs before sign-in: organization,
    /// inviter, role, expiry and status. Null for an unknown token.
    async fn invitation_preview(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token from the invitation link.")] token: String,
    ) -> async_graphql::Result<Option<InvitationPreview>> {
        ctx.rate_limit(Limited::Invitation, None).await?;
        Ok(crate::read::invitations::preview(ctx.db()?, &token)
            .await?
            .map(Into::into))
    }

    /// Home-realm discovery: where a person with this email signs in, when
    /// the organization that verified its domain has an ACTIVE single
    /// sign-on connection (null otherwise). Open it in the browser; the
    /// app is sent back to `redirectUri` (on the server's allowlist) with
    /// a one-time `code` for `exchangeSsoCode`.
    async fn sso_login_url(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The person's email address.")] email: String,
        #[graphql(desc = "Where the browser returns with its one-time code.")] redirect_uri: String,
    ) -> async_graphql::Result<Option<String>> {
        Ok(crate::domain::sso::sign_in::login_url(
            ctx.db()?,
            ctx.data::<std::sync::Arc<crate::domain::sso::SsoSettings>>()?,
            &email,
            &redirect_uri,
        )
        .await?)
    }

    /// The role → permission matrix.
    async fn roles(&self) -> Vec<RolePermissions> {
        MATRIX
            .iter()
            .map(|(role, permissions)| RolePermissions {
                role: (*role).into(),
                permissions: permissions.iter().copied().map(Into::into).collect(),
            })
            .collect()
    }
}

/// Hands the viewer's membership, read together with the organization, to
/// the membership loader, so the guards below need no query of their own.
async fn prime_membership(
    ctx: &Context<'_>,
    organization: entity::organization::Model,
    membership: Option<entity::member::Model>,
) -> async_graphql::Result<Organization> {
    ctx.data::<DataLoader<ViewerMembershipLoader, HashMapCache>>()?
        .feed_one(
            organization.id,
            std::sync::Arc::new(ViewerAccess::new(&organization, membership)),
        )
        .await;
    Ok(Organization(organization))
}

async fn resolve_node(
    ctx: &Context<'_>,
    id: &str,
    field: &str,
) -> async_graphql::Result<Option<Node>> {
    let actor = ctx.actor()?;
    let db = ctx.db()?;
    let (kind, uuid) =
        ids::parse_any(id).ok_or_else(|| AppError::bad_input(field, "not a valid id"))?;
    Ok(match kind {
        IdKind::Organization => {
            match crate::read::organizations::visible_by_id(db, actor, uuid).await? {
                Some((organization, membership)) => Some(Node::Organization(
                    prime_membership(ctx, organization, membership).await?,
                )),
                None => None,
            }
        }
        IdKind::Member => match crate::read::members::visible_by_id(db, actor, uuid).await? {
            Some(member) => {
                note_staff_read(ctx, member.organization_id, Permission::MembersView).await?;
                Some(Node::Member(Member::from(member)))
            }
            None => None,
        },
        IdKind::User => crate::read::users::visible_by_id(db, actor, uuid)
            .await?
            .map(|u| Node::User(User::from(u))),
        IdKind::Team => match crate::read::teams::visible_by_id(db, actor, uuid).await? {
            Some(team) => {
                note_staff_read(ctx, team.organization_id, Permission::TeamsView).await?;
                Some(Node::Team(Team::from(team)))
            }
            None => None,
        },
        IdKind::Invitation => crate::read::invitations::visible_by_id(db, actor, uuid)
            .await?
            .map(|i| Node::Invitation(Invitation(i))),
        IdKind::JoinCode => crate::read::join_codes::visible_by_id(db, actor, uuid)
            .await?
            .map(|j| Node::JoinCode(JoinCode(j))),
        IdKind::SsoConnection => crate::read::sso::visible_by_id(db, actor, uuid)
            .await?
            .map(|c| Node::SsoConnection(crate::graphql::types::sso::SsoConnection(c))),
        IdKind::ScimDirectory => crate::read::directories::visible_by_id(db, actor, uuid)
            .await?
            .map(|d| Node::ScimDirectory(crate::graphql::types::directory::ScimDirectory(d))),
        IdKind::WebhookEndpoint => crate::read::webhooks::visible_by_id(db, actor, uuid)
            .await?
            .map(|e| Node::WebhookEndpoint(crate::graphql::types::webhook::WebhookEndpoint(e))),
        // Sessions are listed under `viewer`; tokens under their
        // organization; audit entries in its log, events in its events,
        // deliveries under their endpoint.
        IdKind::Session
        | IdKind::AuditEntry
        | IdKind::Event
        | IdKind::WebhookDelivery
        | IdKind::ApiToken
        | IdKind::OwnershipTransfer
        | IdKind::TierUpgradeRequest
        | IdKind::IpAllowlistEntry => None,
    })
}
