use async_graphql::SimpleObject;

use crate::graphql::types::enums::Role;

/// What one role may do.
#[derive(SimpleObject)]
pub struct RolePermissions {
    /// The role.
    pub role: Role,
    /// Its permissions, written `area:verb` (`members:manage`).
    pub permissions: Vec<&'static str>,
}
