use sea_orm::entity::prelude::*;

/// One event on its way to one endpoint: the webhook outbox (issue #24).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub organization_id: Uuid,
    /// `PENDING`, `DELIVERED` or `FAILED` (retries exhausted).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// While set and in the future, one sender holds the attempt.
    pub claimed_until: Option<DateTimeUtc>,
    pub last_attempt_at: Option<DateTimeUtc>,
    pub last_response_status: Option<i32>,
    /// The first 1 KiB of the last response's body.
    pub last_response_body: Option<String>,
    pub last_duration_ms: Option<i32>,
    /// Why the last attempt got no response (timeout, refused address).
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::webhook_endpoint::Entity",
        from = "Column::EndpointId",
        to = "super::webhook_endpoint::Column::Id",
        on_delete = "Cascade"
    )]
    Endpoint,
}

impl ActiveModelBehavior for ActiveModel {}
