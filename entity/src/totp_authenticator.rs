use sea_orm::entity::prelude::*;

/// A person's TOTP authenticator (RFC 6238). Pending until confirmed with a
/// first code; only confirmed ones are asked for at sign-in.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "totp_authenticators")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// The shared secret, encrypted (XChaCha20-Poly1305, see
    /// `orgql::auth::sealing`); never leaves the server after enrollment.
    pub secret_encrypted: String,
    pub confirmed_at: Option<DateTimeUtc>,
    /// The last time step whose code was accepted: a code works once.
    pub last_used_step: Option<i64>,
    pub created_at: DateTimeUtc,
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
