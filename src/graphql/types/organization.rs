use async_graphql::{
    Context, ID, InputObject, Lookahead, Object,
    dataloader::{DataLoader, HashMapCache},
};
use chrono::{DateTime, Utc};
use entity::organization;

use crate::domain::authz::matrix::Permission;
use crate::domain::authz::network;
use crate::domain::ids::{self, IdKind};
use crate::domain::values;
use crate::domain::{billing, ownership};
use crate::error::AppError;
use crate::graphql::connection::{self, CountedConnection, TotalCount};
use crate::graphql::context::ContextExt;
use crate::graphql::guards::PermissionGuard;
use crate::graphql::loaders::{
    ApiTokensLoader, CountKey, CountLoader, DomainsLoader, InvitationsOfOrganization,
    JoinCodesOfOrganization, MembersOfOrganization, ScimDirectoriesLoader, SsoConnectionsLoader,
    TeamsOfOrganization, ViewerMembershipLoader, columns_for,
};
use crate::graphql::plain::{Plain, PlainConnection};
use crate::graphql::types::audit::{AuditEntry, AuditLogFilter};
use crate::graphql::types::billing::{TierUpgradeRequest, Usage};
use crate::graphql::types::domain::OrganizationDomain;
use crate::graphql::types::ownership::OwnershipTransfer;
use crate::graphql::types::policy::{IpAllowlistEntry, Policy};
use crate::graphql::types::sso::SsoConnection;
use crate::graphql::types::team::prefetch_team_relations;
use crate::graphql::types::{
    ApiToken, Invitation, JoinCode, Member, Team, User,
    enums::{InvitationStatus, OrganizationStatus, Role, Tier},
};
use crate::read::audit::AuditFilter;
use crate::read::members::MemberFilter;
use crate::read::teams::TeamFilter;

/// A tenant: a company or group whose members share teams, settings and an
/// audit trail. Only its members (and platform administrators) see it.
pub struct Organization(pub organization::Model);

/// Narrows `Organization.members`.
#[derive(InputObject, Default)]
pub struct MemberFilterInput {
    /// Only members with this role.
    pub role: Option<Role>,
    /// Only members whose name or email contains this text
    /// (case-insensitive).
    pub search: Option<String>,
}

/// A tenant: a company or group whose members share teams, settings and an
/// audit trail. Only its members (and platform administrators) see it.
#[Object]
impl Organization {
    /// Opaque id, prefixed `org_`.
    pub async fn id(&self) -> ID {
        ID(ids::encode(IdKind::Organization, self.0.id))
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// URL-safe unique name, such as `acme-inc`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// The organization's email domain, such as `acme.com`; unique.
    async fn domain(&self) -> Option<&str> {
        self.0.domain.as_deref()
    }

    /// Public website URL.
    async fn website(&self) -> Option<&str> {
        self.0.website.as_deref()
    }

    /// Industry, free text.
    async fn industry(&self) -> Option<&str> {
        self.0.industry.as_deref()
    }

    /// What the organization is about.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// URL of the organization's picture.
    async fn avatar_url(&self) -> Option<&str> {
        self.0.avatar_url.as_deref()
    }

    /// ACTIVE, or SUSPENDED (read-only) by a platform administrator.
    async fn status(&self) -> OrganizationStatus {
        self.0.status.into()
    }

    /// The plan, which sets the organization's limits.
    async fn tier(&self) -> Tier {
        self.0.tier.into()
    }

    /// When the organization was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When its settings last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// The people in the organization, oldest membership first
    /// (members:view).
    #[graphql(
        guard = "PermissionGuard::new(Permission::MembersView, self.0.id)",
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity"
    )]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: 20 when absent, at most 100.")] first: Option<i32>,
        #[graphql(desc = "The `cursor` of the last edge already seen.")] after: Option<String>,
        #[graphql(desc = "Narrows the list by role or by name and email.")] filter: Option<
            MemberFilterInput,
        >,
    ) -> async_graphql::Result<PlainConnection<Member>> {
        let filter = filter.unwrap_or_default();
        let selection = ctx.look_ahead();
        let nodes = || {
            [
                selection.field("nodes"),
                selection.field("edges").field("node"),
            ]
        };
        let below_nodes = |name: &str| nodes().map(|node| node.field(name));
        let teams = below_nodes("teams");
        let filter = MemberFilter {
            role: filter.role.map(Into::into),
            search: values::search("search", filter.search.as_deref())?,
            by_email: ctx.actor_opt().is_none_or(|a| a.sees_others_emails()),
            members: columns_for(&nodes(), Member::BEYOND_BRIEF),
            users: columns_for(&below_nodes("user"), User::BEYOND_BRIEF)
                .union(columns_for(&nodes(), Member::BEYOND_USER_BRIEF)),
            teams: teams
                .iter()
                .any(Lookahead::exists)
                .then(|| columns_for(&teams, Team::BEYOND_BRIEF)),
        };
        let (page, request, total) = connection::nested_page::<MembersOfOrganization>(
            ctx,
            self.0.id,
            filter,
            first,
            after.as_deref(),
        )
        .await?;
        Ok(PlainConnection(connection::build(
            page,
            request,
            total,
            |listed| listed.member.id(),
            |listed| {
                Plain(Member {
                    row: listed.member,
                    user: listed.user.map(User),
                    teams: listed
                        .teams
                        .map(|teams| teams.into_iter().map(Team).collect()),
                })
            },
        )))
    }

    /// How many members the organization has.
    #[graphql(guard = "PermissionGuard::new(Permission::MembersView, self.0.id)")]
    async fn members_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        Ok(ctx
            .data::<DataLoader<CountLoader<MembersOfOrganization>, HashMapCache>>()?
            .load_one(CountKey::unfiltered(self.0.id))
            .await?
            .unwrap_or(0))
    }

    /// The organization's teams, oldest first (teams:view).
    #[graphql(
        guard = "PermissionGuard::new(Permission::TeamsView, self.0.id)",
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity"
    )]
    async fn teams(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: 20 when absent, at most 100.")] first: Option<i32>,
        #[graphql(desc = "The `cursor` of the last edge already seen.")] after: Option<String>,
        #[graphql(desc = "Only teams whose name or slug contains this text.")] search: Option<
            String,
        >,
        #[graphql(desc = "Only teams without a parent (default: every team).")]
        top_level_only: Option<bool>,
    ) -> async_graphql::Result<CountedConnection<Team>> {
        let filter = TeamFilter {
            search: values::search("search", search.as_deref())?,
            top_level_only: top_level_only.unwrap_or(false),
        };
        let (page, request, total) = connection::nested_page::<TeamsOfOrganization>(
            ctx,
            self.0.id,
            filter,
            first,
            after.as_deref(),
        )
        .await?;
        prefetch_team_relations(ctx, &page.items).await?;
        Ok(connection::build(
            page,
            request,
            total,
            |t| t.id,
            Team::from,
        ))
    }

    /// One team by its slug (teams:view).
    #[graphql(guard = "PermissionGuard::new(Permission::TeamsView, self.0.id)")]
    async fn team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team's slug.")] slug: String,
    ) -> async_graphql::Result<Option<Team>> {
        Ok(crate::read::teams::by_slug(ctx.db()?, self.0.id, &slug)
            .await?
            .map(Team::from))
    }

    /// The organization's invitations, oldest first (members:manage).
    #[graphql(
        guard = "PermissionGuard::new(Permission::MembersManage, self.0.id)",
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity"
    )]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only invitations in this status.")] status: Option<InvitationStatus>,
        #[graphql(desc = "Page size: 20 when absent, at most 100.")] first: Option<i32>,
        #[graphql(desc = "The `cursor` of the last edge already seen.")] after: Option<String>,
    ) -> async_graphql::Result<CountedConnection<Invitation>> {
        let (page, request, total) = connection::nested_page::<InvitationsOfOrganization>(
            ctx,
            self.0.id,
            status.map(Into::into),
            first,
            after.as_deref(),
        )
        .await?;
        Ok(connection::build(
            page,
            request,
            total,
            |i| i.id,
            Invitation,
        ))
    }

    /// The organization's join codes, oldest first (members:manage).
    #[graphql(
        guard = "PermissionGuard::new(Permission::MembersManage, self.0.id)",
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity"
    )]
    async fn join_codes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only codes that can still be used.")] active_only: Option<bool>,
        #[graphql(desc = "Page size: 20 when absent, at most 100.")] first: Option<i32>,
        #[graphql(desc = "The `cursor` of the last edge already seen.")] after: Option<String>,
    ) -> async_graphql::Result<CountedConnection<JoinCode>> {
        let (page, request, total) = connection::nested_page::<JoinCodesOfOrganization>(
            ctx,
            self.0.id,
            active_only.unwrap_or(false),
            first,
            after.as_deref(),
        )
        .await?;
        Ok(connection::build(page, request, total, |j| j.id, JoinCode))
    }

    /// The organization's audit log, newest first, within its tier's
    /// retention (audit:view).
    #[graphql(
        guard = "PermissionGuard::new(Permission::AuditView, self.0.id)",
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity"
    )]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: 20 when absent, at most 100.")] first: Option<i32>,
        #[graphql(desc = "The `cursor` of the last edge already seen.")] after: Option<String>,
        #[graphql(desc = "Narrows the log.")] filter: Option<AuditLogFilter>,
    ) -> async_graphql::Result<CountedConnection<AuditEntry>> {
        let filter = filter.unwrap_or_default();
        let principal = |id: &ID| {
            ids::parse_any(id)
                .filter(|(kind, _)| matches!(kind, IdKind::User | IdKind::ApiToken))
                .map(|(_, id)| id)
                .ok_or_else(|| AppError::bad_input("filter.actorId", "not a usr_ or tok_ id"))
        };
        let filter = AuditFilter {
            actions: filter.actions.unwrap_or_default(),
            actor_id: filter.actor_id.as_ref().map(principal).transpose()?,
            resource_type: filter.resource_type,
            resource_id: filter
                .resource_id
                .as_ref()
                .map(|id| {
                    ids::parse_any(id)
                        .map(|(_, id)| id)
                        .ok_or_else(|| AppError::bad_input("filter.resourceId", "not a valid id"))
                })
                .transpose()?,
            since: filter.since,
            until: filter.until,
        };
        let request = connection::page_request(first, after.as_deref())?;
        let db = ctx.db()?.clone();
        let page = crate::read::audit::page(&db, &self.0, &filter, request).await?;
        let organization = self.0.clone();
        let total = TotalCount::later(move || {
            let (db, organization, filter) = (db.clone(), organization.clone(), filter.clone());
            async move { crate::read::audit::count(&db, &organization, &filter).await }
        });
        Ok(connection::build(
            page,
            request,
            total,
            |e| e.id,
            AuditEntry,
        ))
    }

    /// The governance policy (members:view to read; policies:manage to
    /// change): the defaults until it is first changed.
    #[graphql(guard = "PermissionGuard::new(Permission::MembersView, self.0.id)")]
    async fn policy(&self) -> async_graphql::Result<Policy> {
        Ok(Policy(crate::domain::authz::Policy::of(&self.0)?))
    }

    /// The domains the organization claims, verified or not, alphabetically
    /// (members:view). At most 50.
    #[graphql(guard = "PermissionGuard::new(Permission::MembersView, self.0.id)")]
    async fn domains(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<OrganizationDomain>> {
        let domains = ctx
            .data::<DataLoader<DomainsLoader, HashMapCache>>()?
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(domains.into_iter().map(OrganizationDomain).collect())
    }

    /// The single sign-on connections, oldest first (sso:manage).
    #[graphql(guard = "PermissionGuard::new(Permission::SsoManage, self.0.id)")]
    async fn sso_connections(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<SsoConnection>> {
        let connections = ctx
            .data::<DataLoader<SsoConnectionsLoader, HashMapCache>>()?
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(connections.into_iter().map(SsoConnection).collect())
    }

    /// The SCIM directories that provision the organization, oldest first
    /// (directory:manage).
    #[graphql(guard = "PermissionGuard::new(Permission::DirectoryManage, self.0.id)")]
    async fn scim_directories(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<crate::graphql::types::directory::ScimDirectory>> {
        let directories = ctx
            .data::<DataLoader<ScimDirectoriesLoader, HashMapCache>>()?
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(directories
            .into_iter()
            .map(crate::graphql::types::directory::ScimDirectory)
            .collect())
    }

    /// The webhook endpoints that receive the organization's events,
    /// oldest first (webhooks:manage).
    #[graphql(guard = "PermissionGuard::new(Permission::WebhooksManage, self.0.id)")]
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<crate::graphql::types::webhook::WebhookEndpoint>> {
        crate::graphql::types::webhook::endpoints_of(ctx, self.0.id).await
    }

    /// The organization's events in the order they were committed, oldest
    /// first (audit:view): the events API. A consumer keeps the `cursor`
    /// of the last event it handled and asks for what follows; since
    /// events commit in this order, nothing can appear behind a cursor
    /// later. Events are kept as long as the tier keeps its audit log.
    #[graphql(
        guard = "PermissionGuard::new(Permission::AuditView, self.0.id)",
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity"
    )]
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: 20 when absent, at most 100.")] first: Option<i32>,
        #[graphql(desc = "The `cursor` of the last event already handled.")] after: Option<String>,
        #[graphql(desc = "Only events of these types (all when absent or empty).")] types: Option<
            Vec<crate::domain::events::EventType>,
        >,
    ) -> async_graphql::Result<crate::graphql::types::webhook::EventConnection> {
        let after = after
            .as_deref()
            .map(crate::graphql::types::webhook::decode_event_cursor)
            .transpose()?;
        let (rows, has_next_page) = crate::read::webhooks::events_page(
            ctx.db()?,
            &self.0,
            &types.unwrap_or_default(),
            after,
            first,
        )
        .await?;
        Ok(crate::graphql::types::webhook::event_connection(
            rows,
            after.is_some(),
            has_next_page,
        ))
    }

    /// The IP allowlist, oldest first (policies:manage).
    #[graphql(guard = "PermissionGuard::new(Permission::PoliciesManage, self.0.id)")]
    async fn ip_allowlist(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<IpAllowlistEntry>> {
        Ok(network::entries(ctx.db()?, self.0.id)
            .await?
            .into_iter()
            .map(IpAllowlistEntry)
            .collect())
    }

    /// Usage against the tier's limits (billing:view).
    #[graphql(guard = "PermissionGuard::new(Permission::BillingView, self.0.id)")]
    async fn usage(&self, ctx: &Context<'_>) -> async_graphql::Result<Usage> {
        Ok(billing::usage(ctx.db()?, &self.0).await?.into())
    }

    /// The tier upgrade request awaiting a platform administrator, if any
    /// (billing:view).
    #[graphql(guard = "PermissionGuard::new(Permission::BillingView, self.0.id)")]
    async fn pending_tier_upgrade_request(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<TierUpgradeRequest>> {
        Ok(billing::pending_request(ctx.db()?, self.0.id)
            .await?
            .map(TierUpgradeRequest))
    }

    /// The ownership transfer awaiting an answer, if any (members:view).
    #[graphql(guard = "PermissionGuard::new(Permission::MembersView, self.0.id)")]
    async fn pending_ownership_transfer(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<OwnershipTransfer>> {
        Ok(ownership::pending(ctx.db()?, self.0.id)
            .await?
            .map(OwnershipTransfer))
    }

    /// The organization's API tokens, newest first (tokens:manage).
    #[graphql(guard = "PermissionGuard::new(Permission::TokensManage, self.0.id)")]
    async fn api_tokens(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiToken>> {
        let tokens = ctx
            .data::<DataLoader<ApiTokensLoader, HashMapCache>>()?
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(tokens.into_iter().map(ApiToken).collect())
    }

    /// Lifetime, in seconds, of access tokens issued with this organization
    /// active (org:manage): 900 unless changed, 60 to 86,400.
    #[graphql(guard = "PermissionGuard::new(Permission::OrgManage, self.0.id)")]
    async fn jwt_expiry_secs(&self) -> i32 {
        self.0.jwt_expiry_secs
    }

    /// The viewer's own membership here; null for a platform administrator
    /// who is not a member.
    async fn viewer_membership(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Member>> {
        let membership = ctx
            .data::<DataLoader<ViewerMembershipLoader, HashMapCache>>()?
            .load_one(self.0.id)
            .await?
            .and_then(|access| access.membership.clone());
        Ok(membership.map(Member::from))
    }
}
