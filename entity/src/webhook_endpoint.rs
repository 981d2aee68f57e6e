use sea_orm::entity::prelude::*;

/// Where an organization's events are posted (issue #24).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub url: String,
    pub description: String,
    /// The dotted event types it receives (`["member.added"]`); empty:
    /// every type.
    pub event_types: Json,
    /// The signing secret (`whsec_…`), sealed (`auth::Sealer`, the row id
    /// as associated data).
    pub secret_sealed: String,
    pub enabled: bool,
    /// Why it was disabled (`MANUAL`, `FAILING`).
    pub disabled_reason: Option<String>,
    /// When its deliveries began to fail; cleared by a success.
    pub failing_since: Option<DateTimeUtc>,
    pub created_by_user_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
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
