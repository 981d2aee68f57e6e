use sea_orm::entity::prelude::*;

/// How many members an organization has. Kept by triggers on `members`
/// (migration 37), whatever inserts or deletes a membership, so an
/// unfiltered members count reads one row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organization_member_counts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    pub members: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
