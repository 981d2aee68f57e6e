//! Batched lookups, one loader per relation. Loaders are created for each
//! request (`Loaders::for_request`), never on the schema, so no cache
//! crosses users or tenants. Each returns only rows its caller already
//! reached through an authorized path (a member of a visible organization),
//! or, for the membership loader, the viewer's own rows.

use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{
    invitation, join_code, member, organization, team, team_member, user,
    values::{InvitationStatus, TeamRole},
};
use sea_orm::sea_query::{Expr, ExprTrait, IntoCondition};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait,
};
use uuid::Uuid;

use crate::domain::authz::access::Gate;
use crate::domain::{join_codes, members};
use crate::error::{AppError, AppResult};
use crate::read::paging::{Page, PageRequest};

/// A loader of rows by primary key, for one entity.
macro_rules! by_id_loader {
    ($(#[$doc:meta])* $name:ident => $entity:ident) => {
        $(#[$doc])*
        pub struct $name {
            db: DatabaseConnection,
        }

        impl Loader<Uuid> for $name {
            type Value = $entity::Model;
            type Error = Arc<DbErr>;

            async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                let rows = $entity::Entity::find()
                    .filter($entity::Column::Id.is_in(keys.iter().copied()))
                    .all(&self.db)
                    .await?;
                Ok(rows.into_iter().map(|row| (row.id, row)).collect())
            }
        }
    };
}

by_id_loader!(/// Users by id.
    UserLoader => user);
by_id_loader!(/// Organizations by id.
    OrganizationLoader => organization);
by_id_loader!(/// Organization members by id.
    MemberLoader => member);
by_id_loader!(/// Teams by id (a team's parent).
    TeamLoader => team);

/// What the guards need of an organization: the viewer's membership in it
/// (none for a stranger, a platform administrator or an API token) and the
/// moment it last revoked sessions.
#[derive(Debug, Clone)]
pub struct ViewerAccess {
    pub membership: Option<member::Model>,
    /// None when the organization's stored policy cannot be read.
    gate: Option<Gate>,
}

impl ViewerAccess {
    pub fn new(organization: &organization::Model, membership: Option<member::Model>) -> Self {
        Self {
            membership,
            gate: Gate::of(organization).ok(),
        }
    }

    /// The organization's gate; an error (fail closed) when its policy
    /// cannot be read.
    pub fn gate(&self) -> Result<&Gate, AppError> {
        self.gate
            .as_ref()
            .ok_or_else(|| AppError::internal("an organization's policy cannot be read"))
    }
}

/// The viewer's access to each organization, by organization id: what
/// every guard asks. One statement (organizations left-joined with the
/// viewer's memberships) for any number of organizations.
pub struct ViewerMembershipLoader {
    db: DatabaseConnection,
    user_id: Option<Uuid>,
}

impl Loader<Uuid> for ViewerMembershipLoader {
    type Value = ViewerAccess;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let user_id = self.user_id.unwrap_or_else(Uuid::nil);
        let rows = organization::Entity::find()
            .filter(organization::Column::Id.is_in(keys.iter().copied()))
            .join(
                JoinType::LeftJoin,
                organization::Relation::Member
                    .def()
                    .on_condition(move |_, member_table| {
                        Expr::col((member_table, member::Column::UserId))
                            .eq(user_id)
                            .into_condition()
                    }),
            )
            .select_also(member::Entity)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(organization, membership)| {
                (
                    organization.id,
                    ViewerAccess::new(&organization, membership),
                )
            })
            .collect())
    }
}

/// Sub-teams by parent team id, oldest first.
pub struct ChildTeamsLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for ChildTeamsLoader {
    type Value = Vec<team::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = team::Entity::find()
            .filter(team::Column::ParentTeamId.is_in(keys.iter().copied()))
            .order_by_asc(team::Column::Id)
            .all(&self.db)
            .await?;
        let mut children: HashMap<Uuid, Vec<team::Model>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            if let Some(parent) = row.parent_team_id {
                children.entry(parent).or_default().push(row);
            }
        }
        Ok(children)
    }
}

/// The teams each organization member belongs to, by member id.
pub struct TeamsByMemberLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for TeamsByMemberLoader {
    type Value = Vec<team::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = team_member::Entity::find()
            .filter(team_member::Column::MemberId.is_in(keys.iter().copied()))
            .order_by_asc(team_member::Column::TeamId)
            .find_also_related(team::Entity)
            .all(&self.db)
            .await?;
        let mut teams: HashMap<Uuid, Vec<team::Model>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for (membership, team) in rows {
            if let Some(team) = team {
                teams.entry(membership.member_id).or_default().push(team);
            }
        }
        Ok(teams)
    }
}

/// The viewer's own role in each team, by team id.
pub struct ViewerTeamRoleLoader {
    db: DatabaseConnection,
    user_id: Option<Uuid>,
}

impl Loader<Uuid> for ViewerTeamRoleLoader {
    type Value = Option<TeamRole>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut found: HashMap<Uuid, Self::Value> = keys.iter().map(|k| (*k, None)).collect();
        let Some(user_id) = self.user_id else {
            return Ok(found);
        };
        let rows = team_member::Entity::find()
            .inner_join(member::Entity)
            .filter(member::Column::UserId.eq(user_id))
            .filter(team_member::Column::TeamId.is_in(keys.iter().copied()))
            .all(&self.db)
            .await?;
        found.extend(rows.into_iter().map(|row| (row.team_id, Some(row.role))));
        Ok(found)
    }
}

/// The loaders of one request.
pub struct Loaders {
    pub users: DataLoader<UserLoader, HashMapCache>,
    pub organizations: DataLoader<OrganizationLoader, HashMapCache>,
    pub viewer_memberships: DataLoader<ViewerMembershipLoader, HashMapCache>,
    pub members: DataLoader<MemberLoader, HashMapCache>,
    pub teams: DataLoader<TeamLoader, HashMapCache>,
    pub child_teams: DataLoader<ChildTeamsLoader, HashMapCache>,
    pub teams_by_member: DataLoader<TeamsByMemberLoader, HashMapCache>,
    pub viewer_team_roles: DataLoader<ViewerTeamRoleLoader, HashMapCache>,
    pub organization_member_pages: DataLoader<PageLoader<MembersOfOrganization>, HashMapCache>,
    pub organization_member_totals: DataLoader<CountLoader<MembersOfOrganization>, HashMapCache>,
    pub organization_team_pages: DataLoader<PageLoader<TeamsOfOrganization>, HashMapCache>,
    pub organization_team_totals: DataLoader<CountLoader<TeamsOfOrganization>, HashMapCache>,
    pub team_member_pages: DataLoader<PageLoader<MembersOfTeam>, HashMapCache>,
    pub team_member_totals: DataLoader<CountLoader<MembersOfTeam>, HashMapCache>,
    pub invitation_pages: DataLoader<PageLoader<InvitationsOfOrganization>, HashMapCache>,
    pub invitation_totals: DataLoader<CountLoader<InvitationsOfOrganization>, HashMapCache>,
    pub join_code_pages: DataLoader<PageLoader<JoinCodesOfOrganization>, HashMapCache>,
    pub join_code_totals: DataLoader<CountLoader<JoinCodesOfOrganization>, HashMapCache>,
    pub api_tokens: DataLoader<ApiTokensLoader, HashMapCache>,
    pub ip_allowlists: DataLoader<IpAllowlistLoader, HashMapCache>,
}

/// A loader with a cache that lives as long as the request: each key is
/// read at most once per request, and values read by another query (such
/// as the viewer's membership, read together with an organization) can be
/// fed in.
fn cached<T: Send + Sync + 'static>(loader: T) -> DataLoader<T, HashMapCache> {
    DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
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
            viewer_team_roles: cached(ViewerTeamRoleLoader {
                db: db(),
                user_id: viewer,
            }),
            organization_member_pages: cached(PageLoader {
                db: db(),
                relation: PhantomData,
            }),
            organization_member_totals: cached(CountLoader {
                db: db(),
                relation: PhantomData,
            }),
            organization_team_pages: cached(PageLoader {
                db: db(),
                relation: PhantomData,
            }),
            organization_team_totals: cached(CountLoader {
                db: db(),
                relation: PhantomData,
            }),
            team_member_pages: cached(PageLoader {
                db: db(),
                relation: PhantomData,
            }),
            team_member_totals: cached(CountLoader {
                db: db(),
                relation: PhantomData,
            }),
            invitation_pages: cached(PageLoader {
                db: db(),
                relation: PhantomData,
            }),
            invitation_totals: cached(CountLoader {
                db: db(),
                relation: PhantomData,
            }),
            join_code_pages: cached(PageLoader {
                db: db(),
                relation: PhantomData,
            }),
            join_code_totals: cached(CountLoader {
                db: db(),
                relation: PhantomData,
            }),
            api_tokens: cached(ApiTokensLoader { db: db() }),
            ip_allowlists: cached(IpAllowlistLoader { db: db() }),
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
            .data(self.viewer_team_roles)
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

/// Which page of which parent's children: the key of a [`PageLoader`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey<F> {
    pub parent: Uuid,
    pub page: PageRequest,
    pub filter: F,
}

/// Which parent's children to count: the key of a [`CountLoader`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CountKey<F> {
    pub parent: Uuid,
    pub filter: F,
}

impl<F: Default> CountKey<F> {
    /// All of a parent's children: what `membersCount` fields count.
    pub fn unfiltered(parent: Uuid) -> Self {
        Self {
            parent,
            filter: F::default(),
        }
    }
}

/// A one-to-many relation that nested connections page through: the domain
/// reads the pages (and counts) of many parents in one statement.
pub trait PagedRelation: Send + Sync + 'static {
    type Filter: Clone + Eq + Hash + Send + Sync + 'static;
    type Item: Clone + Send + Sync + 'static;

    fn pages(
        db: &DatabaseConnection,
        parents: &[Uuid],
        filter: &Self::Filter,
        page: PageRequest,
    ) -> impl Future<Output = AppResult<HashMap<Uuid, Page<Self::Item>>>> + Send;

    fn counts(
        db: &DatabaseConnection,
        parents: &[Uuid],
        filter: &Self::Filter,
    ) -> impl Future<Output = AppResult<HashMap<Uuid, u64>>> + Send;
}

/// Declares a [`PagedRelation`] backed by two domain functions that read
/// the pages and the counts of many parents.
macro_rules! paged_relation {
    ($(#[$doc:meta])* $name:ident: $filter:ty => $item:ty, $pages:path, $counts:path, $pass:ident) => {
        $(#[$doc])*
        pub struct $name;

        impl PagedRelation for $name {
            type Filter = $filter;
            type Item = $item;

            async fn pages(
                db: &DatabaseConnection,
                parents: &[Uuid],
                filter: &Self::Filter,
                page: PageRequest,
            ) -> AppResult<HashMap<Uuid, Page<Self::Item>>> {
                $pages(db, parents, paged_relation!(@filter $pass filter), page).await
            }

            async fn counts(
                db: &DatabaseConnection,
                parents: &[Uuid],
                filter: &Self::Filter,
            ) -> AppResult<HashMap<Uuid, u64>> {
                $counts(db, parents, paged_relation!(@filter $pass filter)).await
            }
        }
    };
    (@filter copy $filter:ident) => { *$filter };
    (@filter ref $filter:ident) => { $filter };
}

paged_relation!(
    /// An organization's members, with their users.
    MembersOfOrganization: members::MemberFilter => members::MemberWithUser, members::pages, members::counts, ref
);

paged_relation!(
    /// An organization's teams.
    TeamsOfOrganization: crate::read::teams::TeamFilter => team::Model, crate::read::teams::pages, crate::read::teams::counts, ref
);

paged_relation!(
    /// A team's members, with their organization memberships.
    MembersOfTeam: crate::read::teams::TeamMemberFilter => crate::read::teams::TeamMemberWithMember, crate::read::teams::member_pages, crate::read::teams::member_counts, ref
);

/// Pages of a relation for many parents at once: keys asking for the same
/// page size, cursor and filter share one statement.
pub struct PageLoader<R> {
    db: DatabaseConnection,
    relation: PhantomData<fn() -> R>,
}

impl<R: PagedRelation> Loader<PageKey<R::Filter>> for PageLoader<R> {
    type Value = Page<R::Item>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[PageKey<R::Filter>],
    ) -> Result<HashMap<PageKey<R::Filter>, Self::Value>, Self::Error> {
        let mut groups: HashMap<(PageRequest, R::Filter), Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups
                .entry((key.page, key.filter.clone()))
                .or_default()
                .push(key.parent);
        }
        let mut out = HashMap::with_capacity(keys.len());
        for ((page, filter), parents) in groups {
            let mut pages = R::pages(&self.db, &parents, &filter, page)
                .await
                .map_err(Arc::new)?;
            for parent in parents {
                let found = pages.remove(&parent).unwrap_or(Page {
                    items: Vec::new(),
                    has_next_page: false,
                });
                out.insert(
                    PageKey {
                        parent,
                        page,
                        filter: filter.clone(),
                    },
                    found,
                );
            }
        }
        Ok(out)
    }
}

/// Counts of a relation for many parents at once.
pub struct CountLoader<R> {
    db: DatabaseConnection,
    relation: PhantomData<fn() -> R>,
}

impl<R: PagedRelation> Loader<CountKey<R::Filter>> for CountLoader<R> {
    type Value = u64;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[CountKey<R::Filter>],
    ) -> Result<HashMap<CountKey<R::Filter>, Self::Value>, Self::Error> {
        let mut groups: HashMap<R::Filter, Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups
                .entry(key.filter.clone())
                .or_default()
                .push(key.parent);
        }
        let mut out = HashMap::with_capacity(keys.len());
        for (filter, parents) in groups {
            let counts = R::counts(&self.db, &parents, &filter)
                .await
                .map_err(Arc::new)?;
            for parent in parents {
                let n = counts.get(&parent).copied().unwrap_or(0);
                out.insert(
                    CountKey {
                        parent,
                        filter: filter.clone(),
                    },
                    n,
                );
            }
        }
        Ok(out)
    }
}

paged_relation!(
    /// An organization's invitations.
    InvitationsOfOrganization: Option<InvitationStatus> => invitation::Model, crate::read::invitations::pages, crate::read::invitations::counts, copy
);

paged_relation!(
    /// An organization's join codes; the filter is "active only".
    JoinCodesOfOrganization: bool => join_code::Model, join_codes::pages, join_codes::counts, copy
);

/// Each organization's API tokens, newest first, by organization id.
pub struct ApiTokensLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for ApiTokensLoader {
    type Value = Vec<entity::api_token::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        crate::domain::api_tokens::of_organizations(&self.db, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Each organization's allowlisted networks, by organization id; read only
/// for organizations whose policy turns the allowlist on.
pub struct IpAllowlistLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for IpAllowlistLoader {
    type Value = Vec<ipnet::IpNet>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut networks: HashMap<Uuid, Vec<ipnet::IpNet>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        let rows = entity::ip_allowlist_entry::Entity::find()
            .filter(entity::ip_allowlist_entry::Column::OrganizationId.is_in(keys.iter().copied()))
            .all(&self.db)
            .await
            .map_err(|e| Arc::new(AppError::from(e)))?;
        for row in rows {
            if let Ok(net) = row.cidr.parse() {
                networks.entry(row.organization_id).or_default().push(net);
            }
        }
        Ok(networks)
    }
}
