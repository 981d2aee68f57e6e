use sea_orm::entity::prelude::*;

use crate::values::Role;

/// A shareable code that lets people join an organization.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "join_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// SHA-256 of the code; the code itself is never stored.
    pub code_hash: String,
    /// The code's last four characters, for lists.
    pub last_four: String,
    pub role: Role,
    /// None: unlimited.
    pub max_uses: Option<i32>,
    pub uses: i32,
    pub expires_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    /// A guest link: VIEWER, usable with only a proven email address.
    pub guest: bool,
    pub created_by_user_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
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
