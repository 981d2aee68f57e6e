use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Lower-cased; unique (`uq_users_email`).
    pub email: String,
    pub name: String,
    /// argon2id PHC string; never leaves the server.
    pub password_hash: String,
    pub is_platform_admin: bool,
    /// The organization the user last switched to, restored at log-in.
    pub last_organization_id: Option<Uuid>,
    /// Whether a confirmed TOTP authenticator guards sign-in; kept on the
    /// user so that member lists, which join users, show it for free.
    pub mfa_enabled: bool,
    /// When the address was proven (a verification link, or an invitation's
    /// own link); null while unverified.
    pub email_verified_at: Option<DateTimeUtc>,
    /// A guest (issue #13): holds memberships only, has no password and
    /// signs in by mailed links, until the person converts the account.
    pub is_guest: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::member::Entity")]
    Member,
    #[sea_orm(has_many = "super::session::Entity")]
    Session,
}

impl Related<super::member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Member.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
