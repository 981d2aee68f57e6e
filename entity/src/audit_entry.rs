use sea_orm::entity::prelude::*;

use crate::values::ActorKind;

/// An immutable record of one change. No foreign keys: an entry keeps the
/// actor's email after the user is gone.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The organization the change belongs to; none for account events.
    pub organization_id: Option<Uuid>,
    pub actor_kind: ActorKind,
    pub actor_id: Option<Uuid>,
    pub actor_email: Option<String>,
    /// Dotted, past tense: `member.role_updated`.
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<Uuid>,
    pub metadata: Json,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
