use sea_orm::entity::prelude::*;

/// A SCIM Group of one directory: a team of the organization.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scim_groups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub directory_id: Uuid,
    /// The team; unique (`uq_scim_groups_team`).
    pub team_id: Uuid,
    pub display_name: String,
    /// `display_name` lower-cased, for `displayName eq` lookups.
    pub display_name_key: String,
    pub external_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::scim_directory::Entity",
        from = "Column::DirectoryId",
        to = "super::scim_directory::Column::Id",
        on_delete = "Cascade"
    )]
    Directory,
}

impl ActiveModelBehavior for ActiveModel {}
