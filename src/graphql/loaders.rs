//! Batched lookups, one loader per relation. Loaders are created for each
//! request (`Loaders::for_request`), never on the schema, so no cache
//! crosses users or tenants. Each returns only rows its caller already
//! reached through an authorized path (a member of a visible organization),
//! or, for the membership loader, the viewer's own rows.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{member, organization, user};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

/// Users by id.
pub struct UserLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for UserLoader {
    type Value = user::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = user::Entity::find()
            .filter(user::Column::Id.is_in(keys.iter().copied()))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

/// Organizations by id.
pub struct OrganizationLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for OrganizationLoader {
    type Value = organization::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = organization::Entity::find()
            .filter(organization::Column::Id.is_in(keys.iter().copied()))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

/// The viewer's own membership, by organization id: what every guard asks.
pub struct ViewerMembershipLoader {
    db: DatabaseConnection,
    user_id: Option<Uuid>,
}

impl Loader<Uuid> for ViewerMembershipLoader {
    type Value = member::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let Some(user_id) = self.user_id else {
            return Ok(HashMap::new());
        };
        let rows = member::Entity::find()
            .filter(member::Column::UserId.eq(user_id))
            .filter(member::Column::OrganizationId.is_in(keys.iter().copied()))
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.organization_id, row))
            .collect())
    }
}

/// The loaders of one request.
pub struct Loaders {
    pub users: DataLoader<UserLoader>,
    pub organizations: DataLoader<OrganizationLoader>,
    pub viewer_memberships: DataLoader<ViewerMembershipLoader>,
}

impl Loaders {
    pub fn for_request(db: &DatabaseConnection, viewer: Option<Uuid>) -> Self {
        Self {
            users: DataLoader::new(UserLoader { db: db.clone() }, tokio::spawn),
            organizations: DataLoader::new(OrganizationLoader { db: db.clone() }, tokio::spawn),
            viewer_memberships: DataLoader::new(
                ViewerMembershipLoader {
                    db: db.clone(),
                    user_id: viewer,
                },
                tokio::spawn,
            ),
        }
    }

    /// Adds each loader to a request's data.
    pub fn attach(self, request: async_graphql::Request) -> async_graphql::Request {
        request
            .data(self.users)
            .data(self.organizations)
            .data(self.viewer_memberships)
    }
}
