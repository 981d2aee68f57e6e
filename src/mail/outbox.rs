//! Outgoing email, queued in the database inside the transaction that
//! decided to send it, so a crash can neither lose an invitation's email
//! nor send one for a change that rolled back. `crate::mail::sender` delivers.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use entity::outbox_email;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::error::AppResult;

/// Where new mail is queued, and how the sender learns of it.
#[derive(Clone)]
pub struct Outbox {
    /// Base URL for links in emails (`ORGQL_PUBLIC_URL`).
    pub public_url: String,
    wake: Arc<Notify>,
}

/// One email to queue: through a write's `send` for mail that belongs to a
/// change, so it goes out if and only if the change is kept.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Mail {
    pub fn new(to: &str, subject: &str, body: String) -> Self {
        Self {
            to: to.to_owned(),
            subject: subject.to_owned(),
            body,
        }
    }
}

/// How long a sender holds a claimed email before another may retry it.
const CLAIM: i64 = 60;

impl Outbox {
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Queues an email on `db`: inside a write's transaction (its `send`,
    /// which also wakes the sender after the commit), or on its own for
    /// mail that belongs to no change (`domain::bookkeeping`).
    pub async fn enqueue<C: ConnectionTrait>(&self, db: &C, mail: &Mail) -> AppResult<()> {
        let now = Utc::now();
        outbox_email::ActiveModel {
            id: Set(Uuid::now_v7()),
            recipient: Set(mail.to.clone()),
            subject: Set(mail.subject.clone()),
            body: Set(Some(mail.body.clone())),
            attempts: Set(0),
            next_attempt_at: Set(now),
            sent_at: Set(None),
            last_error: Set(None),
            created_at: Set(now),
        }
        .insert(db)
        .await?;
        Ok(())
    }

    /// Tells the sender that mail is waiting (after the commit: the write
    /// types call it).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves when mail may be waiting.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }
}

/// Claims up to `limit` due emails: each is pushed `CLAIM` seconds into the
/// future with a conditional update, so two instances never send one twice.
pub async fn claim_due<C: ConnectionTrait>(
    db: &C,
    limit: u64,
) -> AppResult<Vec<outbox_email::Model>> {
    let now = Utc::now();
    let due = outbox_email::Entity::find()
        .filter(outbox_email::Column::SentAt.is_null())
        .filter(outbox_email::Column::NextAttemptAt.lte(now))
        .order_by_asc(outbox_email::Column::NextAttemptAt)
        .limit(limit)
        .all(db)
        .await?;
    let mut claimed = Vec::with_capacity(due.len());
    for email in due {
        let taken = outbox_email::Entity::update_many()
            .col_expr(
                outbox_email::Column::NextAttemptAt,
                Expr::value(now + Duration::seconds(CLAIM)),
            )
            .filter(outbox_email::Column::Id.eq(email.id))
            .filter(outbox_email::Column::NextAttemptAt.eq(email.next_attempt_at))
            .filter(outbox_email::Column::SentAt.is_null())
            .exec(db)
            .await?
            .rows_affected;
        if taken == 1 {
            claimed.push(email);
        }
    }
    Ok(claimed)
}

/// How many emails wait to be sent (for `/metrics`).
pub async fn backlog<C: ConnectionTrait>(db: &C) -> AppResult<u64> {
    let waiting = outbox_email::Entity::find().filter(outbox_email::Column::SentAt.is_null());
    Ok(sea_orm::PaginatorTrait::count(waiting, db).await?)
}

/// Records a delivery and drops the body, which may hold a one-time link.
pub async fn mark_sent<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<()> {
    outbox_email::Entity::update_many()
        .col_expr(outbox_email::Column::SentAt, Expr::value(Utc::now()))
        .col_expr(
            outbox_email::Column::Body,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            outbox_email::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .filter(outbox_email::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The wait before retry `attempt` (1-based): 5 s, doubling, at most an hour.
pub fn backoff(attempt: i32) -> Duration {
    let exponent = attempt.clamp(1, 20) as u32 - 1;
    Duration::seconds((5i64 << exponent.min(10)).min(3600))
}

/// Records a failed attempt and schedules the next one.
pub async fn mark_failed<C: ConnectionTrait>(
    db: &C,
    email: &outbox_email::Model,
    error: &str,
) -> AppResult<DateTime<Utc>> {
    let attempts = email.attempts + 1;
    let next = Utc::now() + backoff(attempts);
    outbox_email::Entity::update_many()
        .col_expr(outbox_email::Column::Attempts, Expr::value(attempts))
        .col_expr(outbox_email::Column::NextAttemptAt, Expr::value(next))
        .col_expr(
            outbox_email::Column::LastError,
            Expr::value(error.chars().take(500).collect::<String>()),
        )
        .filter(outbox_email::Column::Id.eq(email.id))
        .exec(db)
        .await?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(backoff(1), Duration::seconds(5));
        assert_eq!(backoff(2), Duration::seconds(10));
        assert_eq!(backoff(30), Duration::seconds(3600));
    }
}
