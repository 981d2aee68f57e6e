use sea_orm::entity::prelude::*;

use crate::values::RequestStatus;

/// An OWNER's offer to hand ownership to another member.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ownership_transfers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub from_member_id: Uuid,
    pub to_member_id: Uuid,
    /// PENDING until answered; a PENDING one past `expires_at` is over.
    pub status: RequestStatus,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
