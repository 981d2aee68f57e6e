use sea_orm::entity::prelude::*;

/// A one-time link mailed to a person: proving an address or resetting a
/// password. Only the SHA-256 of the secret is stored; `used_at` makes it
/// single use.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// `verify_email` or `reset_password`.
    pub purpose: String,
    /// SHA-256 of the token, hex; unique (`uq_account_tokens_hash`).
    pub token_hash: String,
    /// The address a verification link proves (null for a reset).
    pub email: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
    /// For a guest sign-in link asked for with a guest link: the join code
    /// it redeems when used.
    pub join_code_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl ActiveModelBehavior for ActiveModel {}
