//! The webhook outbox's state: which deliveries are due, who holds one,
//! and what each attempt came to. These writes are the sender's own
//! bookkeeping (`domain::bookkeeping`); disabling a failing endpoint is a
//! change, made through the write path ([`super::sender`]).

use chrono::{DateTime, Duration, Utc};
use entity::{webhook_delivery, webhook_endpoint};
use rand::Rng;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::error::AppResult;

/// Waiting for its next attempt (or in flight).
pub const PENDING: &str = "PENDING";
/// A 2xx answered.
pub const DELIVERED: &str = "DELIVERED";
/// Every attempt failed; `redeliverWebhook` starts it over.
pub const FAILED: &str = "FAILED";

/// The wait after each failed attempt, before jitter: about three days in
/// all, so a receiver down over a weekend still gets everything.
pub const RETRY_DELAYS: [i64; 14] = [
    5,
    30,
    2 * 60,
    10 * 60,
    30 * 60,
    3600,
    2 * 3600,
    4 * 3600,
    8 * 3600,
    12 * 3600,
    12 * 3600,
    12 * 3600,
    12 * 3600,
    12 * 3600,
];

/// Attempts in all: the first and one after each delay.
pub const MAX_ATTEMPTS: i32 = RETRY_DELAYS.len() as i32 + 1;

/// How long a sender holds an attempt before another may make it (longer
/// than any attempt may take, so only a crashed sender's is retaken).
const CLAIM: Duration = Duration::minutes(5);

/// How long an endpoint may fail before it is disabled.
pub const FAILING_LIMIT: Duration = Duration::days(1);

/// When attempt `attempts + 1` is due after attempt `attempts` failed at
/// `now`: the delay, give or take a fifth, so that many deliveries that
/// failed together do not come back together. `None`: no attempts left.
pub fn next_attempt(attempts: i32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let index = usize::try_from(attempts.checked_sub(1)?).ok()?;
    let base_ms = RETRY_DELAYS.get(index)? * 1000;
    let jitter = rand::rng().random_range(-(base_ms / 5)..=(base_ms / 5));
    Some(now + Duration::milliseconds(base_ms + jitter))
}

/// Up to `limit` deliveries due at `now` to enabled endpoints, soonest
/// first: candidates, each still to be [`claim`]ed.
pub async fn due<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> AppResult<Vec<webhook_delivery::Model>> {
    let enabled = Query::select()
        .column(webhook_endpoint::Column::Id)
        .from(webhook_endpoint::Entity)
        .and_where(webhook_endpoint::Column::Enabled.eq(true))
        .to_owned();
    Ok(webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.eq(PENDING))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
        .filter(webhook_delivery::Column::EndpointId.in_subquery(enabled))
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// Takes one due delivery for an attempt: a conditional update moves it
/// [`CLAIM`] into the future and counts the attempt, so of two senders
/// (here or on another instance) only one gets it. Returns it as claimed.
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    delivery: webhook_delivery::Model,
    now: DateTime<Utc>,
) -> AppResult<Option<webhook_delivery::Model>> {
    let held_until = now + CLAIM;
    let taken = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(held_until),
        )
        .col_expr(
            webhook_delivery::Column::ClaimedUntil,
            Expr::value(held_until),
        )
        .col_expr(
            webhook_delivery::Column::Attempts,
            Expr::col(webhook_delivery::Column::Attempts).add(1),
        )
        .filter(webhook_delivery::Column::Id.eq(delivery.id))
        .filter(webhook_delivery::Column::Status.eq(PENDING))
        .filter(webhook_delivery::Column::NextAttemptAt.eq(delivery.next_attempt_at))
        .exec(db)
        .await?
        .rows_affected;
    Ok((taken == 1).then(|| webhook_delivery::Model {
        attempts: delivery.attempts + 1,
        next_attempt_at: held_until,
        claimed_until: Some(held_until),
        ..delivery
    }))
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// The response's status, if one came.
    pub status: Option<u16>,
    /// The first 1 KiB of its body.
    pub body: Option<String>,
    pub duration_ms: i32,
    /// Why no response came (timeout, refused address, …).
    pub error: Option<String>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status
            .is_some_and(|status| (200..300).contains(&status))
    }
}

/// Records an attempt on its claimed delivery: delivered, due again at
/// `retry_at`, or failed for good when that is `None`. A success clears
/// the endpoint's failure clock; a failure starts it if it is not running.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    delivery: &webhook_delivery::Model,
    attempt: &Attempt,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    use webhook_delivery::Column as D;
    let (status, next) = match (attempt.succeeded(), retry_at) {
        (true, _) => (DELIVERED, delivery.next_attempt_at),
        (false, Some(at)) => (PENDING, at),
        (false, None) => (FAILED, delivery.next_attempt_at),
    };
    webhook_delivery::Entity::update_many()
        .col_expr(D::Status, Expr::value(status))
        .col_expr(D::NextAttemptAt, Expr::value(next))
        .col_expr(D::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(D::LastAttemptAt, Expr::value(attempt.at))
        .col_expr(
            D::LastResponseStatus,
            Expr::value(attempt.status.map(i32::from)),
        )
        .col_expr(D::LastResponseBody, Expr::value(attempt.body.clone()))
        .col_expr(D::LastDurationMs, Expr::value(attempt.duration_ms))
        .col_expr(D::LastError, Expr::value(attempt.error.clone()))
        .col_expr(
            D::DeliveredAt,
            Expr::value(attempt.succeeded().then_some(attempt.at)),
        )
        .filter(D::Id.eq(delivery.id))
        .filter(D::NextAttemptAt.eq(delivery.next_attempt_at))
        .exec(db)
        .await?;
    let endpoint = webhook_endpoint::Entity::update_many()
        .filter(webhook_endpoint::Column::Id.eq(delivery.endpoint_id));
    if attempt.succeeded() {
        endpoint
            .col_expr(
                webhook_endpoint::Column::FailingSince,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(webhook_endpoint::Column::FailingSince.is_not_null())
            .exec(db)
            .await?;
    } else {
        endpoint
            .col_expr(webhook_endpoint::Column::FailingSince, Expr::value(now))
            .filter(webhook_endpoint::Column::FailingSince.is_null())
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Gives a claimed delivery back untried (its endpoint was disabled
/// meanwhile): due again when the endpoint is enabled.
pub async fn release<C: ConnectionTrait>(
    db: &C,
    delivery: &webhook_delivery::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    use webhook_delivery::Column as D;
    webhook_delivery::Entity::update_many()
        .col_expr(D::NextAttemptAt, Expr::value(now))
        .col_expr(D::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(D::Attempts, Expr::col(D::Attempts).sub(1))
        .filter(D::Id.eq(delivery.id))
        .filter(D::NextAttemptAt.eq(delivery.next_attempt_at))
        .exec(db)
        .await?;
    Ok(())
}

/// Whether the endpoint is still enabled and has been failing since
/// before `cutoff`.
pub async fn failing_since_before<C: ConnectionTrait>(
    db: &C,
    endpoint_id: Uuid,
    cutoff: DateTime<Utc>,
) -> AppResult<bool> {
    Ok(webhook_endpoint::Entity::find_by_id(endpoint_id)
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .filter(webhook_endpoint::Column::FailingSince.lte(cutoff))
        .one(db)
        .await?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_span_about_three_days_and_then_stop() {
        let total: i64 = RETRY_DELAYS.iter().sum();
        assert!((2.5 * 86400.0..3.5 * 86400.0).contains(&(total as f64)));
        let now = Utc::now();
        for attempts in 1..MAX_ATTEMPTS {
            let base = Duration::seconds(RETRY_DELAYS[attempts as usize - 1]);
            let at = next_attempt(attempts, now).unwrap();
            assert!(at - now >= base * 4 / 5 && at - now <= base * 6 / 5);
        }
        assert_eq!(next_attempt(MAX_ATTEMPTS, now), None);
        assert_eq!(next_attempt(0, now), None);
    }
}
