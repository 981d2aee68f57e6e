use sea_orm::entity::prelude::*;

use crate::values::ActorKind;

/// A change a product may hear about (issue #24): an audit entry (same
/// id) in its public shape, numbered in its organization's commit order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// 1, 2, 3, … per organization, in commit order
    /// (`uq_events_organization_sequence`).
    pub sequence: i64,
    /// The dotted type (`member.role_changed`).
    pub event_type: String,
    pub actor_kind: ActorKind,
    pub actor_id: Option<Uuid>,
    pub actor_email: Option<String>,
    /// The account the event is about, if it is about a person (a member
    /// added, changed or removed): for `viewerEvents`.
    pub subject_user_id: Option<Uuid>,
    /// The address the event is about (an invitation's), lower-cased.
    pub subject_email: Option<String>,
    /// The resource as the API shows it; never a secret.
    pub data: Json,
    pub occurred_at: DateTimeUtc,
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
