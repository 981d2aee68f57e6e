use sea_orm::entity::prelude::*;

/// One account seen from one client address (an IPv4 address, an IPv6
/// /64, or `unknown`): the wrong passwords sent from there, the lock they
/// led to, and whether the account has signed in from there.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sign_in_addresses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// The client address as the lock-out keys it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub address: String,
    /// Wrong passwords from this address since the last right one (or the
    /// last lock).
    pub failed_attempts: i32,
    /// Log-in from this address is refused until then.
    pub locked_until: Option<DateTimeUtc>,
    /// The last successful sign-in from this address, if any.
    pub signed_in_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
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
