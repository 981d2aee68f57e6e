use sea_orm::entity::prelude::*;

use crate::values::{RequestStatus, Tier};

/// A request for a higher tier, answered by a platform administrator.
/// ACCEPTED means approved, DECLINED rejected.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tier_upgrade_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub requested_tier: Tier,
    pub reason: Option<String>,
    pub status: RequestStatus,
    pub requested_by_user_id: Option<Uuid>,
    pub decided_by_user_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
