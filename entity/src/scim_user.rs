use sea_orm::entity::prelude::*;

/// A SCIM User of one directory: the account its address named when it
/// was created. Its membership is the account's `members` row in the
/// organization; an inactive user has none.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scim_users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub directory_id: Uuid,
    pub organization_id: Uuid,
    pub user_id: Uuid,
    /// `userName` as the directory sent it.
    pub user_name: String,
    /// `userName` lower-cased: unique per directory.
    pub user_name_key: String,
    pub external_id: Option<String>,
    pub active: bool,
    /// The rest of the resource (name, displayName, emails, …) as sent.
    pub attributes: Json,
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
