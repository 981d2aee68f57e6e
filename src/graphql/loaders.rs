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
use entity::{member, organization, team, team_member, user, values::TeamRole};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::domain::authz::access::Gate;
use crate::error::AppError;
use crate::read::paging::{self, Page, PageRequest, PerParent};

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
        let rows = crate::read::organizations::with_membership_of(self.user_id)
            .filter(organization::Column::Id.is_in(keys.iter().copied()))
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

pub use crate::read::invitations::InvitationsOfOrganization;
pub use crate::read::join_codes::JoinCodesOfOrganization;
pub use crate::read::members::MembersOfOrganization;
pub use crate::read::teams::{MembersOfTeam, TeamsOfOrganization};

/// Pages of a relation for many parents at once: keys asking for the same
/// page size, cursor and filter share one statement.
pub struct PageLoader<R> {
    db: DatabaseConnection,
    relation: PhantomData<fn() -> R>,
}

impl<R: PerParent> Loader<PageKey<R::Filter>> for PageLoader<R> {
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
            let mut pages = paging::pages::<R, _>(&self.db, &parents, &filter, page)
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

impl<R: PerParent> Loader<CountKey<R::Filter>> for CountLoader<R> {
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
            let counts = paging::counts::<R, _>(&self.db, &parents, &filter)
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

/// Each organization's API tokens, newest first, by organization id.
pub struct ApiTokensLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for ApiTokensLoader {
    type Value = Vec<entity::api_token::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        crate::read::api_tokens::of_organizations(&self.db, keys)
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
