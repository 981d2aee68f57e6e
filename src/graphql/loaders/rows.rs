//! Loaders of rows: by id, and the one-to-many relations that are not paged.
use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::{member, organization, team, team_member, user, values::TeamRole};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::domain::authz::access::Gate;
use crate::error::AppError;

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
    pub(super) db: DatabaseConnection,
    pub(super) user_id: Option<Uuid>,
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

/// The teams each organization member belongs to, by member id.
pub struct TeamsByMemberLoader {
    pub(super) db: DatabaseConnection,
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
    pub(super) db: DatabaseConnection,
    pub(super) user_id: Option<Uuid>,
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
