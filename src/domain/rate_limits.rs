//! Rate-limit budgets kept in PostgreSQL, so that every instance on one
//! database spends from the same budget (issue #22, L5): two instances
//! give an attacker one budget, not two.
//!
//! Each limited key (an operation with a client network, or with an
//! account) has one row holding `refilled_at`, the moment its budget is
//! whole again: GCRA (the generic cell rate algorithm, as the `governor`
//! crate runs it in memory). A budget of `n` per window refills one unit
//! every `window / n` and may be spent at once; an operation is allowed
//! when spending one more unit keeps `refilled_at` within one window from
//! now. Deciding and spending is one statement, atomic under concurrency
//! (the row is locked by the upsert), for every key of a check at once.
//! A refused operation spends nothing, so a flood does not push the
//! budget further away.
//!
//! Keys arrive hashed (see `graphql::rate_limits`): the table holds no
//! address or email.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

/// One unit to spend from a key's budget.
#[derive(Debug, Clone)]
pub struct Spend {
    /// The budget's key (a hash, as text).
    pub key: String,
    /// How long one unit takes to refill: the window divided by the
    /// budget.
    pub refill: Duration,
}

/// Spends one unit from each key's budget that has one left within
/// `window`, in one statement; each key is decided and spent on its own,
/// as the in-memory limiter does. The keys must differ. Returns `None`
/// when every key had a unit, or else an upper bound on the wait until
/// the refused ones have one again: one refill, since `refilled_at` never
/// runs more than a window ahead (a refusal spends nothing).
#[tracing::instrument(skip_all, fields(keys = spends.len()))]
pub async fn spend(
    db: &impl ConnectionTrait,
    spends: &[Spend],
    window: Duration,
) -> Result<Option<Duration>, DbErr> {
    if spends.is_empty() {
        return Ok(None);
    }
    let mut values: Vec<Value> = Vec::with_capacity(spends.len() * 2 + 1);
    values.push(micros(window).into());
    let mut rows = Vec::with_capacity(spends.len());
    for spend in spends {
        let n = values.len();
        rows.push(format!("(${}, ${}::bigint)", n + 1, n + 2));
        values.push(spend.key.clone().into());
        values.push(micros(spend.refill).into());
    }
    // `EXCLUDED.refilled_at - now()` is the key's refill time: the row
    // proposed for a new key is one unit spent from now. The rows are
    // taken in key order, so two checks never lock each other's keys in
    // opposite orders.
    let sql = format!(
        "INSERT INTO rate_limit_buckets AS bucket (key, refilled_at) \
         SELECT spend.key, now() + spend.refill * interval '1 microsecond' \
         FROM (VALUES {}) AS spend(key, refill) ORDER BY spend.key \
         ON CONFLICT (key) DO UPDATE \
         SET refilled_at = GREATEST(bucket.refilled_at, now()) + (EXCLUDED.refilled_at - now()) \
         WHERE GREATEST(bucket.refilled_at, now()) + (EXCLUDED.refilled_at - now()) \
               <= now() + $1::bigint * interval '1 microsecond' \
         RETURNING key",
        rows.join(", ")
    );
    let spent = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    let spent: Vec<String> = spent
        .iter()
        .map(|row| row.try_get::<String>("", "key"))
        .collect::<Result<_, _>>()?;
    Ok(spends
        .iter()
        .filter(|s| !spent.contains(&s.key))
        .map(|s| s.refill)
        .max())
}

/// Deletes the budgets that are whole again: a missing row is a full
/// budget, so nothing changes but the table's size.
pub async fn purge_refilled(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(0);
    }
    let purged = db
        .execute_unprepared("DELETE FROM rate_limit_buckets WHERE refilled_at < now()")
        .await?;
    Ok(purged.rows_affected())
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}
