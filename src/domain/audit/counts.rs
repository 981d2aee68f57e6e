//! The trail's daily counts: how many entries each organization's trail
//! got on each UTC day with each action (`audit_entry_counts`). Every
//! entry adds itself in its own transaction, so the counts are exactly the
//! entries kept; retention and an organization's deletion remove them with
//! the entries. `read::audit` adds whole days from here for an audit log's
//! `totalCount`.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::audit_entry_count::{self, Column};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::error::AppResult;

/// The day an entry recorded at `at` is counted in: its UTC date.
pub fn day_of(at: DateTime<Utc>) -> NaiveDate {
    at.date_naive()
}

/// The moment `day` begins, UTC.
pub fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// Adds entries, each (organization, recorded at, action), to their
/// organizations' daily counts inside the write's transaction. The rows
/// are taken in one order (organization, day, action), so two writes that
/// count in several cannot deadlock on them; `domain::write` counts before
/// it takes the organizations' event numbers, in every write.
pub(crate) async fn add<'a, C: ConnectionTrait>(
    txn: &C,
    entries: impl IntoIterator<Item = (Uuid, DateTime<Utc>, &'a str)>,
) -> AppResult<()> {
    let mut tally = BTreeMap::<(Uuid, NaiveDate, &str), i64>::new();
    for (organization_id, at, action) in entries {
        *tally
            .entry((organization_id, day_of(at), action))
            .or_default() += 1;
    }
    let rows = tally
        .into_iter()
        .map(
            |((organization_id, day, action), entries)| audit_entry_count::ActiveModel {
                organization_id: Set(organization_id),
                day: Set(day),
                action: Set(action.to_owned()),
                entries: Set(entries),
            },
        );
    audit_entry_count::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([Column::OrganizationId, Column::Day, Column::Action])
                .value(
                    Column::Entries,
                    Expr::col((audit_entry_count::Entity, Column::Entries))
                        .add(Expr::col((Alias::new("excluded"), Column::Entries))),
                )
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_the_utc_date_and_begins_at_utc_midnight() {
        let at = "2026-12-05T23:59:59.999+00:00"
            .parse::<DateTime<Utc>>()
            .unwrap();
        let day = day_of(at);
        assert_eq!(day, NaiveDate::from_ymd_opt(2026, 12, 5).unwrap());
        assert_eq!(start_of(day).to_rfc3339(), "2026-12-05T00:00:00+00:00");
        let later = at + chrono::Duration::milliseconds(1);
        assert_eq!(day_of(later), day.succ_opt().unwrap());
    }
}
