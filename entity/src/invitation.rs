use sea_orm::entity::prelude::*;

use crate::values::{InvitationStatus, Role};

/// A personal invitation to an email address.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// Lower-cased.
    pub email: String,
    pub role: Role,
    /// As stored; see `expires_at` for EXPIRED.
    pub status: InvitationStatus,
    /// SHA-256 of the secret token; the token itself is never stored.
    pub token_hash: String,
    pub invited_by_user_id: Option<Uuid>,
    /// Teams (ids) joined on acceptance.
    pub team_ids: Json,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// A guest invitation: VIEWER, accepted without an account.
    pub guest: bool,
    pub accepted_by_user_id: Option<Uuid>,
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

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}
