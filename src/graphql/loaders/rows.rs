//! Loaders of rows: by id, and the one-to-many relations that are not paged.
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::{member, organization, team, team_member, user, values::TeamRole};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::domain::authz::access::Gate;
use crate::error::AppError;
use crate::read::users::Profile;

/// A loader of rows by primary key, for one entity.
macro_rules! by_id_loader {
    ($(#[$doc:meta])* $name:ident => $entity:ident) => {
        $(#[$doc])*
        pub struct $name {
            pub(super) db: DatabaseConnection,
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

by_id_loader!(/// Organizations by id.
    OrganizationLoader => organization);
by_id_loader!(/// Organization members by id.
    MemberLoader => member);
by_id_loader!(/// Teams by id (a team's parent).
    TeamLoader => team);

/// Users by id, as the API shows them (no password hash).
pub struct UserLoader {
    pub(super) db: DatabaseConnection,
}

impl Loader<Uuid> for UserLoader {
    type Value = Profile;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = user::Entity::find()
            .filter(user::Column::Id.is_in(keys.iter().copied()))
            .into_partial_model::<Profile>()
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

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
    pub(super) db: DatabaseConnection,
    pub(super) user_id: Option<Uuid>,
}

impl Loader<Uuid> for ViewerMembershipLoader {
    /// Shared: every guarded field of a page reads it.
    type Value = Arc<ViewerAccess>;
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
                    Arc::new(ViewerAccess::new(&organization, membership)),
                )
            })
            .collect())
    }
}

/// Sub-teams by parent team id, oldest first.
pub struct ChildTeamsLoader {
    pub(super) db: DatabaseConnection,
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

/// A member of an organization: the key of [`TeamsByMemberLoader`]. The
/// organization narrows the teams read to its own, so the statement reads a
/// handful of teams by index rather than hashing every team there is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberKey {
    pub organization_id: Uuid,
    pub member_id: Uuid,
}

impl MemberKey {
    pub fn of(member: &member::Model) -> Self {
        Self {
            organization_id: member.organization_id,
            member_id: member.id,
        }
    }
}

/// The teams each organization member belongs to.
pub struct TeamsByMemberLoader {
    pub(super) db: DatabaseConnection,
}

impl Loader<MemberKey> for TeamsByMemberLoader {
    type Value = Vec<team::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[MemberKey],
    ) -> Result<HashMap<MemberKey, Self::Value>, Self::Error> {
        let mut organizations: Vec<Uuid> = keys.iter().map(|k| k.organization_id).collect();
        organizations.sort_unstable();
        organizations.dedup();
        let rows = team_member::Entity::find()
            .filter(team_member::Column::MemberId.is_in(keys.iter().map(|k| k.member_id)))
            .inner_join(team::Entity)
            .filter(team::Column::OrganizationId.is_in(organizations))
            .order_by_asc(team_member::Column::TeamId)
            .select_also(team::Entity)
            .all(&self.db)
            .await?;
        let mut teams: HashMap<MemberKey, Self::Value> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for (membership, team) in rows {
            if let Some(team) = team {
                let key = MemberKey {
                    organization_id: team.organization_id,
                    member_id: membership.member_id,
                };
                teams.entry(key).or_default().push(team);
            }
        }
        Ok(teams)
    }
}

/// A member's role in a team, by (team id, member id): what the viewer is
/// to the teams a query shows, once the viewer's membership in each team's
/// organization is known ([`ViewerMembershipLoader`]). Keyed by the member
/// rather than the user, so the statement probes (team, member) pairs: a
/// statement joined on the user's id settles, as a prepared statement's
/// generic plan, on reading every membership of the user first (5 ms for a
/// person in 1,000 organizations).
pub struct TeamRoleLoader {
    pub(super) db: DatabaseConnection,
}

impl Loader<(Uuid, Uuid)> for TeamRoleLoader {
    type Value = TeamRole;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[(Uuid, Uuid)],
    ) -> Result<HashMap<(Uuid, Uuid), Self::Value>, Self::Error> {
        let teams: HashSet<Uuid> = keys.iter().map(|(team, _)| *team).collect();
        let members: HashSet<Uuid> = keys.iter().map(|(_, member)| *member).collect();
        let rows = team_member::Entity::find()
            .filter(team_member::Column::TeamId.is_in(teams))
            .filter(team_member::Column::MemberId.is_in(members))
            .all(&self.db)
            .await?;
        // Both lists together may pair a team with a member of another of
        // the keys: only the pairs asked for are kept.
        let asked: HashSet<&(Uuid, Uuid)> = keys.iter().collect();
        Ok(rows
            .into_iter()
            .map(|row| ((row.team_id, row.member_id), row.role))
            .filter(|(pair, _)| asked.contains(pair))
            .collect())
    }
}

/// Each organization's API tokens, newest first, by organization id.
pub struct ApiTokensLoader {
    pub(super) db: DatabaseConnection,
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

/// Each organization's SSO connections, by organization id.
pub struct SsoConnectionsLoader {
    pub(super) db: DatabaseConnection,
}

impl Loader<Uuid> for SsoConnectionsLoader {
    type Value = Vec<entity::sso_connection::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        crate::read::sso::of_organizations(&self.db, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Each organization's SCIM directories, by organization id.
pub struct ScimDirectoriesLoader {
    pub(super) db: DatabaseConnection,
}

impl Loader<Uuid> for ScimDirectoriesLoader {
    type Value = Vec<entity::scim_directory::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        crate::read::directories::of_organizations(&self.db, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Each organization's claimed domains, by organization id.
pub struct DomainsLoader {
    pub(super) db: DatabaseConnection,
}

impl Loader<Uuid> for DomainsLoader {
    type Value = Vec<entity::organization_domain::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        crate::read::domains::of_organizations(&self.db, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Each organization's allowlisted networks, by organization id; read only
/// for organizations whose policy turns the allowlist on.
pub struct IpAllowlistLoader {
    pub(super) db: DatabaseConnection,
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

/// Each organization's webhook endpoints, by organization id.
pub struct WebhookEndpointsLoader {
    pub(super) db: DatabaseConnection,
}

impl Loader<Uuid> for WebhookEndpointsLoader {
    type Value = Vec<entity::webhook_endpoint::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        crate::read::webhooks::endpoints_of_organizations(&self.db, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Events by id: the events of the deliveries a request lists.
pub struct EventLoader {
    pub(super) db: DatabaseConnection,
}

impl Loader<Uuid> for EventLoader {
    type Value = entity::event::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        crate::read::webhooks::events_by_id(&self.db, keys)
            .await
            .map_err(Arc::new)
    }
}
