use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// The organization named in the `org` claim of this session's tokens.
    pub active_organization_id: Option<Uuid>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTimeUtc,
    pub last_used_at: DateTimeUtc,
    /// Set once; an access token naming a revoked session is refused.
    pub revoked_at: Option<DateTimeUtc>,
    /// How the person authenticated (RFC 8176 `amr` values, space
    /// separated): `pwd`, or `pwd otp` after a TOTP or recovery code.
    pub amr: String,
    /// The SSO connection a `sso` session came through.
    pub sso_connection_id: Option<Uuid>,
    /// That connection's organization: where `ssoRequired` admits it.
    pub sso_organization_id: Option<Uuid>,
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

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
