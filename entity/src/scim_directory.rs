use sea_orm::entity::prelude::*;

use crate::values::Role;

/// A directory (Okta, Entra ID, …) that provisions an organization's
/// members over SCIM 2.0 (issue #25).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scim_directories")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    /// The role of a person the directory adds, unless a group mapping
    /// says otherwise.
    pub default_role: Role,
    /// `{ "<group displayName>": "<ROLE>" }`.
    pub group_roles: Json,
    /// SHA-256 of the bearer token; unique (`uq_scim_directories_token`);
    /// NULL once revoked.
    pub token_hash: Option<String>,
    /// The token's last four characters, for lists.
    pub token_last_four: Option<String>,
    pub created_by_user_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrganizationId",
        to = "super::organization::Column::Id",
        on_delete = "Cascade"
    )]
    Organization,
}

impl ActiveModelBehavior for ActiveModel {}
