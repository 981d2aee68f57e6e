//! The read side of webhooks and events (issue #24): an organization's
//! endpoints, each endpoint's deliveries, and the events API's pages.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use entity::{event, organization, webhook_delivery, webhook_endpoint};
use sea_orm::sea_query::SelectStatement;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QueryResult, QuerySelect, QueryTrait,
};
use uuid::Uuid;

use crate::domain::authz::{Actor, Permission, access};
use crate::domain::events::EventType;
use crate::domain::tiers;
use crate::error::{AppError, AppResult};
use crate::read::paging::{self, PerParent};

/// An endpoint by id, for those who may manage it (webhooks:manage);
/// otherwise absent.
pub async fn visible_by_id<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    endpoint_id: Uuid,
) -> AppResult<Option<webhook_endpoint::Model>> {
    let Some(found) = webhook_endpoint::Entity::find_by_id(endpoint_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(
        access::may_read(db, actor, found.organization_id, Permission::WebhooksManage)
            .await?
            .then_some(found),
    )
}

/// Each organization's endpoints, oldest first.
pub async fn endpoints_of_organizations<C: ConnectionTrait>(
    db: &C,
    organization_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<webhook_endpoint::Model>>> {
    let rows = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(db)
        .await?;
    let mut endpoints: HashMap<Uuid, Vec<webhook_endpoint::Model>> = organization_ids
        .iter()
        .map(|id| (*id, Vec::new()))
        .collect();
    for row in rows {
        endpoints.entry(row.organization_id).or_default().push(row);
    }
    Ok(endpoints)
}

/// Events by id (the events of a page of deliveries).
pub async fn events_by_id<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, event::Model>> {
    Ok(event::Entity::find()
        .filter(event::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|event| (event.id, event))
        .collect())
}

/// An endpoint's deliveries, oldest first; the filter is a status
/// (`PENDING`, `DELIVERED`, `FAILED`) or none.
pub struct DeliveriesOfEndpoint;

impl PerParent for DeliveriesOfEndpoint {
    type Filter = Option<&'static str>;
    type Item = webhook_delivery::Model;
    const PARENT: (&'static str, &'static str) = ("webhook_deliveries", "endpoint_id");
    const ID: (&'static str, &'static str) = ("webhook_deliveries", "id");

    fn select(parents: &[Uuid], status: &Self::Filter) -> AppResult<SelectStatement> {
        let mut select = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::EndpointId.is_in(parents.iter().copied()));
        if let Some(status) = status {
            select = select.filter(webhook_delivery::Column::Status.eq(*status));
        }
        Ok(select.into_query())
    }

    fn parse(
        row: &QueryResult,
        _filter: &Self::Filter,
        _at: &mut paging::Positions,
    ) -> Result<(Uuid, Self::Item), DbErr> {
        let delivery = webhook_delivery::Model::from_query_result(row, "")?;
        Ok((delivery.endpoint_id, delivery))
    }
}

/// The most events one page holds.
const MAX_EVENTS_PAGE: u64 = 100;

/// One page of an organization's events in commit order, after the event
/// numbered `after` (the cursor), of `types` if any are given, within its
/// tier's audit retention; and whether more follow. Served by
/// `uq_events_organization_sequence`, or
/// `ix_events_organization_type_sequence` with types.
pub async fn events_page<C: ConnectionTrait>(
    db: &C,
    organization: &organization::Model,
    types: &[EventType],
    after: Option<i64>,
    first: Option<i32>,
) -> AppResult<(Vec<event::Model>, bool)> {
    let first = u64::try_from(first.unwrap_or(20))
        .ok()
        .filter(|first| *first <= MAX_EVENTS_PAGE)
        .ok_or_else(|| {
            AppError::bad_input(
                "first",
                format!("first must be between 0 and {MAX_EVENTS_PAGE}"),
            )
        })?;
    let retention = Duration::days(i64::from(tiers::audit_retention_days(organization.tier)));
    let mut select = event::Entity::find()
        .filter(event::Column::OrganizationId.eq(organization.id))
        .filter(event::Column::OccurredAt.gte(Utc::now() - retention));
    if !types.is_empty() {
        select = select.filter(event::Column::EventType.is_in(types.iter().map(|t| t.as_str())));
    }
    if let Some(after) = after {
        select = select.filter(event::Column::Sequence.gt(after));
    }
    let mut rows = select
        .order_by_asc(event::Column::Sequence)
        .limit(first + 1)
        .all(db)
        .await?;
    let has_next_page = rows.len() as u64 > first;
    rows.truncate(first as usize);
    Ok((rows, has_next_page))
}
