//! The trail's daily counts: how many entries each organization's trail
//! got on each UTC day with each action (`audit_entry_counts`), and each
//! actor's share of them (`audit_actor_counts`). Every entry adds itself
//! in its own transaction, so the counts are exactly the entries kept;
//! retention and an organization's deletion remove them with the entries.
//! `read::audit` adds whole days from here for an audit log's
//! `totalCount`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::audit_entry_count::{self, Column};
use entity::{audit_actor_count, audit_entry};
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, IntoIden, OnConflict, Query, QueryStatementBuilder, SelectStatement,
};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait};
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

/// One entry to count: its trail, its actor if any, when and what.
pub(crate) struct Counted<'a> {
    pub organization_id: Uuid,
    pub actor_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub action: &'a str,
}

/// Adds entries to their organizations' daily counts, and to their
/// actors' there, inside the write's transaction. The rows are taken in
/// one order (the organizations' by (organization, day, action), then the
/// actors' by (organization, actor, day, action)), so two writes that
/// count in several cannot deadlock on them; `domain::write` counts before
/// it takes the organizations' event numbers, in every write.
pub(crate) async fn add<'a, C: ConnectionTrait>(
    txn: &C,
    entries: impl IntoIterator<Item = Counted<'a>>,
) -> AppResult<()> {
    let mut by_organization = BTreeMap::<(Uuid, NaiveDate, &str), i64>::new();
    let mut by_actor = BTreeMap::<(Uuid, Uuid, NaiveDate, &str), i64>::new();
    for entry in entries {
        let day = day_of(entry.at);
        *by_organization
            .entry((entry.organization_id, day, entry.action))
            .or_default() += 1;
        if let Some(actor) = entry.actor_id {
            *by_actor
                .entry((entry.organization_id, actor, day, entry.action))
                .or_default() += 1;
        }
    }
    let organizations =
        by_organization
            .into_iter()
            .map(
                |((organization_id, day, action), entries)| audit_entry_count::ActiveModel {
                    organization_id: Set(organization_id),
                    day: Set(day),
                    action: Set(action.to_owned()),
                    entries: Set(entries),
                },
            );
    audit_entry_count::Entity::insert_many(organizations)
        .on_conflict(added_to(
            [Column::OrganizationId, Column::Day, Column::Action],
            audit_entry_count::Entity,
            Column::Entries,
        ))
        .exec_without_returning(txn)
        .await?;
    let actors = by_actor
        .into_iter()
        .map(|((organization_id, actor_id, day, action), entries)| {
            audit_actor_count::ActiveModel {
                organization_id: Set(organization_id),
                actor_id: Set(actor_id),
                day: Set(day),
                action: Set(action.to_owned()),
                entries: Set(entries),
            }
        });
    use audit_actor_count::Column as ActorColumn;
    audit_actor_count::Entity::insert_many(actors)
        .on_conflict(added_to(
            [
                ActorColumn::OrganizationId,
                ActorColumn::ActorId,
                ActorColumn::Day,
                ActorColumn::Action,
            ],
            audit_actor_count::Entity,
            ActorColumn::Entries,
        ))
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// On a count row that exists: add the new entries to it.
fn added_to<K: IntoIden + Copy>(
    key: impl IntoIterator<Item = K>,
    table: impl IntoIden + Copy,
    entries: K,
) -> OnConflict {
    OnConflict::columns(key)
        .value(
            entries,
            Expr::col((table, entries)).add(Expr::col((Alias::new("excluded"), entries))),
        )
        .to_owned()
}

/// Brings the daily counts of the organizations `organizations` selects
/// in line once their entries before `cutoff` are deleted: the counts of
/// earlier days go, and those of `cutoff`'s day are counted again from the
/// entries left (a log reads that day entry by entry, but after an upgrade
/// to a longer retention it is a whole day). Only retention calls this.
pub(crate) async fn purged_before<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
    organizations: SelectStatement,
) -> AppResult<()> {
    let day = day_of(cutoff);
    let (start, end) = (start_of(day), start_of(day) + Duration::days(1));
    let tables = [
        (
            audit_entry_count::Entity.into_iden(),
            &["organization_id", "action"][..],
        ),
        (
            audit_actor_count::Entity.into_iden(),
            &["organization_id", "actor_id", "action"][..],
        ),
    ];
    for (table, key) in tables {
        let of_organizations =
            || Expr::col(Alias::new("organization_id")).in_subquery(organizations.clone());
        let earlier = Query::delete()
            .from_table(table.clone())
            .and_where(Expr::col(Alias::new("day")).lt(day))
            .and_where(of_organizations())
            .to_owned();
        db.execute(&earlier).await?;
        let mut left = Query::select();
        left.expr(Expr::cust("COUNT(*)"))
            .from(audit_entry::Entity)
            .and_where(audit_entry::Column::CreatedAt.gte(start))
            .and_where(audit_entry::Column::CreatedAt.lt(end));
        for column in key {
            left.and_where(
                Expr::col((audit_entry::Entity, Alias::new(*column)))
                    .equals((table.clone(), Alias::new(*column))),
            );
        }
        let recounted = Query::update()
            .table(table.clone())
            .value(
                Alias::new("entries"),
                Expr::SubQuery(None, Box::new(left.into_sub_query_statement())),
            )
            .and_where(Expr::col(Alias::new("day")).eq(day))
            .and_where(of_organizations())
            .to_owned();
        db.execute(&recounted).await?;
    }
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
