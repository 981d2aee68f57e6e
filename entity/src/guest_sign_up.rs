use sea_orm::entity::prelude::*;

/// A guest link's mailed sign-in link for an address with no account yet
/// (security review L2): the guest account is created only when the link
/// is used. Only the SHA-256 of the secret is stored; `used_at` makes it
/// single use.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "guest_sign_ups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The address the link was mailed to, lower-cased.
    pub email: String,
    /// SHA-256 of the token, hex; unique (`uq_guest_sign_ups_hash`).
    pub token_hash: String,
    /// The guest link the person joins through when they use the link.
    pub join_code_id: Uuid,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
