//! Batched lookups, one loader per relation. Loaders are created for each
//! request (`Loaders::for_request`), never on the schema, so no cache
//! crosses users or tenants. Each returns only rows its caller already
//! reached through an authorized path (a member of a visible organization),
//! or, for the membership loader, the viewer's own rows.

mod pages;
mod rows;

pub use pages::*;
pub use rows::*;

use std::hash::Hash;
use std::marker::PhantomData;

use async_graphql::{
    Lookahead,
    dataloader::{DataLoader, HashMapCache, Loader, NoCache},
};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::error::AppError;
use crate::read::Columns;
use crate::read::webhooks::DeliveriesOfEndpoint;

/// The loaders of one request.
pub struct Loaders {
    pub users: DataLoader<UserLoader, HashMapCache>,
    pub organizations: DataLoader<OrganizationLoader, HashMapCache>,
    pub viewer_memberships: DataLoader<ViewerMembershipLoader, HashMapCache>,
    pub members: DataLoader<MemberLoader, HashMapCache>,
    pub teams: DataLoader<TeamLoader, HashMapCache>,
    pub child_teams: DataLoader<ChildTeamsLoader, HashMapCache>,
    pub teams_by_member: DataLoader<TeamsByMemberLoader, HashMapCache>,
    pub team_roles: DataLoader<TeamRoleLoader, HashMapCache>,
    pub organization_member_pages: DataLoader<PageLoader<MembersOfOrganization>, NoCache>,
    pub organization_member_totals: DataLoader<CountLoader<MembersOfOrganization>, HashMapCache>,
    pub organization_team_pages: DataLoader<PageLoader<TeamsOfOrganization>, NoCache>,
    pub organization_team_totals: DataLoader<CountLoader<TeamsOfOrganization>, HashMapCache>,
    pub team_member_pages: DataLoader<PageLoader<MembersOfTeam>, NoCache>,
    pub team_member_totals: DataLoader<CountLoader<MembersOfTeam>, HashMapCache>,
    pub invitation_pages: DataLoader<PageLoader<InvitationsOfOrganization>, NoCache>,
    pub invitation_totals: DataLoader<CountLoader<InvitationsOfOrganization>, HashMapCache>,
    pub join_code_pages: DataLoader<PageLoader<JoinCodesOfOrganization>, NoCache>,
    pub join_code_totals: DataLoader<CountLoader<JoinCodesOfOrganization>, HashMapCache>,
    pub api_tokens: DataLoader<ApiTokensLoader, HashMapCache>,
    pub ip_allowlists: DataLoader<IpAllowlistLoader, HashMapCache>,
    pub domains: DataLoader<DomainsLoader, HashMapCache>,
    pub sso_connections: DataLoader<SsoConnectionsLoader, HashMapCache>,
    pub scim_directories: DataLoader<ScimDirectoriesLoader, HashMapCache>,
    pub webhook_endpoints: DataLoader<WebhookEndpointsLoader, HashMapCache>,
    pub webhook_delivery_pages: DataLoader<PageLoader<DeliveriesOfEndpoint>, NoCache>,
    pub webhook_delivery_totals: DataLoader<CountLoader<DeliveriesOfEndpoint>, HashMapCache>,
    pub events: DataLoader<EventLoader, HashMapCache>,
}

/// A loader with a cache that lives as long as the request: each key is
/// read at most once per request, and values read by another query (such
/// as the viewer's membership, read together with an organization) can be
/// fed in.
fn cached<T: Send + Sync + 'static>(loader: T) -> DataLoader<T, HashMapCache> {
    DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
}

/// A loader without a cache, for pages: each page is asked for by one
/// field (fields asking in the same batch still share one read), and a
/// page that no cache holds a second reference to is moved into its
/// connection rather than copied row by row.
fn uncached<T: Send + Sync + 'static>(loader: T) -> DataLoader<T, NoCache> {
    DataLoader::with_cache(loader, tokio::spawn, NoCache)
}

impl Loaders {
    pub fn for_request(db: &DatabaseConnection, viewer: Option<Uuid>) -> Self {
        let db = || db.clone();
        Self {
            users: cached(UserLoader { db: db() }),
            organizations: cached(OrganizationLoader { db: db() }),
            viewer_memberships: cached(ViewerMembershipLoader {
                db: db(),
                user_id: viewer,
            }),
            members: cached(MemberLoader { db: db() }),
            teams: cached(TeamLoader { db: db() }),
            child_teams: cached(ChildTeamsLoader { db: db() }),
            teams_by_member: cached(TeamsByMemberLoader { db: db() }),
            team_roles: cached(TeamRoleLoader { db: db() }),
            organization_member_pages: uncached(PageLoader {
                db: db(),
                relation: PhantomData,
            }),
            organization_member_totals: cached(CountLoader {
                db: db(),
                relation: PhantomData,
            }),
            organization_team_pages: uncached(PageLoader {
                db: db(),
                relation: PhantomData,
            }),
            organization_team_totals: cached(CountLoader {
                db: db(),
                relation: PhantomData,
            }),
            team_member_pages: uncached(PageLoader {
                db: db(),
                relation: PhantomData,
            }),
            team_member_totals: cached(CountLoader {
                db: db(),
                relation: PhantomData,
            }),
            invitation_pages: uncached(PageLoader {
                db: db(),
                relation: PhantomData,
            }),
            invitation_totals: cached(CountLoader {
                db: db(),
                relation: PhantomData,
            }),
            join_code_pages: uncached(PageLoader {
                db: db(),
                relation: PhantomData,
            }),
            join_code_totals: cached(CountLoader {
                db: db(),
                relation: PhantomData,
            }),
            api_tokens: cached(ApiTokensLoader { db: db() }),
            ip_allowlists: cached(IpAllowlistLoader { db: db() }),
            domains: cached(DomainsLoader { db: db() }),
            sso_connections: cached(SsoConnectionsLoader { db: db() }),
            scim_directories: cached(ScimDirectoriesLoader { db: db() }),
            webhook_endpoints: cached(WebhookEndpointsLoader { db: db() }),
            webhook_delivery_pages: uncached(PageLoader {
                db: db(),
                relation: PhantomData,
            }),
            webhook_delivery_totals: cached(CountLoader {
                db: db(),
                relation: PhantomData,
            }),
            events: cached(EventLoader { db: db() }),
        }
    }

    /// Adds each loader to a request's data.
    pub fn attach(self, request: async_graphql::Request) -> async_graphql::Request {
        request
            .data(self.users)
            .data(self.organizations)
            .data(self.viewer_memberships)
            .data(self.members)
            .data(self.teams)
            .data(self.child_teams)
            .data(self.teams_by_member)
            .data(self.team_roles)
            .data(self.organization_member_pages)
            .data(self.organization_member_totals)
            .data(self.organization_team_pages)
            .data(self.organization_team_totals)
            .data(self.team_member_pages)
            .data(self.team_member_totals)
            .data(self.invitation_pages)
            .data(self.invitation_totals)
            .data(self.join_code_pages)
            .data(self.join_code_totals)
            .data(self.api_tokens)
            .data(self.ip_allowlists)
            .data(self.domains)
            .data(self.sso_connections)
            .data(self.scim_directories)
            .data(self.webhook_endpoints)
            .data(self.webhook_delivery_pages)
            .data(self.webhook_delivery_totals)
            .data(self.events)
    }
}

/// Loads `keys` through one loader at once when the client selected `path`
/// below the current field, so that each row's own lookup hits the
/// request's cache. A connection calls this for its page: the relation then
/// costs exactly one statement, however many rows the page holds and
/// however the runtime interleaves their resolvers.
pub async fn prefetch<T, K>(
    ctx: &async_graphql::Context<'_>,
    path: &[&str],
    keys: impl IntoIterator<Item = K>,
) -> async_graphql::Result<()>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    T: Loader<K>,
    T::Error: std::fmt::Display + Send + Sync,
{
    let mut selection = ctx.look_ahead();
    for name in path {
        selection = selection.field(name);
    }
    if selection.exists() {
        ctx.data::<DataLoader<T, HashMapCache>>()?
            .load_many(keys)
            .await?;
    }
    Ok(())
}

/// The row `id` names, through the request's loader `T`: a row this
/// request already found (a member's user, a listed team), so its absence
/// is an internal error that says `what` is missing.
pub async fn load_existing<T>(
    ctx: &async_graphql::Context<'_>,
    id: Uuid,
    what: &str,
) -> async_graphql::Result<T::Value>
where
    T: Loader<Uuid>,
    T::Error: std::fmt::Display + Send + Sync,
{
    ctx.data::<DataLoader<T, HashMapCache>>()?
        .load_one(id)
        .await?
        .ok_or_else(|| AppError::internal(format!("{what} is missing")).into())
}

/// The columns a read needs to answer `selections` (one field reached by
/// several paths, `nodes` and `edges.node` say): the brief, unless one of
/// them selects a field in `beyond_brief`. A wrong guess is never wrong
/// data: a resolver loads what a brief lacks by id.
pub fn columns_for(selections: &[Lookahead<'_>], beyond_brief: &[&str]) -> Columns {
    let needs_more = selections
        .iter()
        .flat_map(Lookahead::selection_fields)
        .flat_map(|field| field.selection_set().collect::<Vec<_>>())
        .any(|child| beyond_brief.contains(&child.name()));
    if needs_more {
        Columns::All
    } else {
        Columns::Brief
    }
}
