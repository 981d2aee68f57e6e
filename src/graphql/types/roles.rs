use async_graphql::SimpleObject;

use crate::graphql::types::enums::{Permission, Role};

/// What one role may do.
#[derive(SimpleObject)]
pub struct RolePermissions {
    /// The role.
    pub role: Role,
    /// Its permissions.
    pub permissions: Vec<Permission>,
}
