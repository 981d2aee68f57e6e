use sea_orm::entity::prelude::*;

use crate::values::{OrganizationStatus, Tier};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// Unique (`uq_organizations_slug`).
    pub slug: String,
    /// A claimed, unverified domain; several organizations may claim one.
    pub domain: Option<String>,
    pub website: Option<String>,
    pub industry: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    pub status: OrganizationStatus,
    pub tier: Tier,
    /// Lifetime of access tokens issued with this organization active.
    pub jwt_expiry_secs: i32,
    /// The governance policy (`domain::authz::Policy` as JSON); null until
    /// first changed, meaning the defaults.
    pub policy: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::member::Entity")]
    Member,
}

impl Related<super::member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Member.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
