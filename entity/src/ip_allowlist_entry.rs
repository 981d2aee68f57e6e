use sea_orm::entity::prelude::*;

/// A network an organization accepts requests from, when its policy turns
/// the allowlist on.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ip_allowlist_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// Canonical CIDR (`203.0.113.0/24`, `2001:db8::/32`).
    pub cidr: String,
    pub description: Option<String>,
    pub created_by_user_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
