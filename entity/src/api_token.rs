use sea_orm::entity::prelude::*;

/// An organization-owned credential for machines. Presented as
/// `orgql_<env>_<key>_<secret>`; only the secret's SHA-256 is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    /// Public lookup key; unique (`uq_api_tokens_key`).
    pub key: String,
    pub secret_hash: String,
    /// The secret's last four characters, for lists.
    pub last_four: String,
    /// Permission names (`members:view`, …).
    pub scopes: Json,
    pub created_by_user_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub expires_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
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
