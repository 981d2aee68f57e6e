//! The read side of the audit trail: an organization's entries, newest
//! first, within its tier's retention, and how many there are.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{audit_actor_count, audit_entry, audit_entry_count, organization};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Select,
};
use uuid::Uuid;

use crate::domain::audit::AuditAction;
use crate::domain::audit::counts::{day_of, start_of};
use crate::domain::tiers;
use crate::error::{AppError, AppResult};
use crate::read::paging::{self, Page, PageRequest};

/// Narrows an organization's audit log.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Any of these actions.
    pub actions: Vec<AuditAction>,
    pub actor_id: Option<Uuid>,
    pub resource_type: Option<String>,
    pub resource_id: Option<Uuid>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl AuditFilter {
    /// The actions an entry must have: `actions` (any when empty) narrowed
    /// to those about `resource_type` when it names one, since an entry's
    /// type follows from its action; `None` when any will do. A filter by
    /// type is then read like one by actions (their index, their daily
    /// counts); a type no action is about matches nothing.
    fn actions(&self) -> Option<Vec<&'static str>> {
        let listed =
            |action: &AuditAction| self.actions.is_empty() || self.actions.contains(action);
        match &self.resource_type {
            Some(kind) => Some(
                AuditAction::about(kind)
                    .filter(listed)
                    .map(AuditAction::as_str)
                    .collect(),
            ),
            None if self.actions.is_empty() => None,
            None => Some(self.actions.iter().map(|a| a.as_str()).collect()),
        }
    }
}

/// An organization's entries, newest first, within its tier's retention:
/// `ix_audit_entries_organization_page (organization_id, id, created_at)`
/// serves the order (UUIDv7 ids grow with time); with actions (or a
/// resource type), an actor or a resource, the index of that column in
/// front of the same three.
fn listable(
    organization: &organization::Model,
    filter: &AuditFilter,
) -> AppResult<Select<audit_entry::Entity>> {
    if filter.actions.len() > 50 {
        return Err(AppError::bad_input("filter.actions", "at most 50 actions"));
    }
    let mut select = audit_entry::Entity::find()
        .filter(audit_entry::Column::OrganizationId.eq(organization.id))
        .filter(audit_entry::Column::CreatedAt.gte(retained_since(organization)));
    if let Some(actions) = filter.actions() {
        select = select.filter(audit_entry::Column::Action.is_in(actions));
    }
    if let Some(actor) = filter.actor_id {
        select = select.filter(audit_entry::Column::ActorId.eq(actor));
    }
    if let Some(resource) = filter.resource_id {
        select = select.filter(audit_entry::Column::ResourceId.eq(resource));
    }
    if let Some(since) = filter.since {
        select = select.filter(audit_entry::Column::CreatedAt.gte(since));
    }
    if let Some(until) = filter.until {
        select = select.filter(audit_entry::Column::CreatedAt.lt(until));
    }
    Ok(select)
}

/// The oldest moment whose entries the organization's tier still keeps.
fn retained_since(organization: &organization::Model) -> DateTime<Utc> {
    Utc::now() - Duration::days(i64::from(tiers::audit_retention_days(organization.tier)))
}

/// One page of the log, newest first; `page.after` is the last id seen.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    organization: &organization::Model,
    filter: &AuditFilter,
    page: PageRequest,
) -> AppResult<Page<audit_entry::Model>> {
    let mut query = listable(organization, filter)?;
    if let Some(after) = page.after {
        query = query.filter(audit_entry::Column::Id.lt(after));
    }
    let rows = query
        .order_by_desc(audit_entry::Column::Id)
        .limit(page.first + 1)
        .all(db)
        .await?;
    Ok(paging::into_page(rows, page))
}

/// How many entries the log lists for `filter` (its `totalCount`), in one
/// statement. Narrowed by time, actions, resource type or actor, whole UTC
/// days are added from the daily counts (`domain::audit::counts`: the
/// organization's, or the actor's) and the parts of days at the range's
/// ends are counted from the index by (organization, created_at, action,
/// actor): the cost grows with the days kept, not with the entries.
/// Narrowed by resource, the entries about it are counted from the index
/// by resource.
pub async fn count<C: ConnectionTrait>(
    db: &C,
    organization: &organization::Model,
    filter: &AuditFilter,
) -> AppResult<u64> {
    if filter.resource_id.is_some() {
        return paging::count(db, listable(organization, filter)?).await;
    }
    let retained = retained_since(organization);
    let from = filter
        .since
        .map_or(retained, |since| Ord::max(since, retained));
    let span = CountedSpan::of(from, filter.until);
    let actions = filter.actions();
    let mut parts: Vec<Expr> = Vec::new();
    if let Some((first, end)) = span.whole_days {
        // Both tables of daily counts have these columns.
        use audit_entry_count::Column::{Action, Day, Entries, OrganizationId};
        let mut days = Query::select();
        days.expr(Func::coalesce([Expr::col(Entries).sum(), Expr::cust("0")]))
            .and_where(Expr::col(OrganizationId).eq(organization.id))
            .and_where(Expr::col(Day).gte(first));
        match filter.actor_id {
            None => days.from(audit_entry_count::Entity),
            Some(actor) => days
                .from(audit_actor_count::Entity)
                .and_where(Expr::col(audit_actor_count::Column::ActorId).eq(actor)),
        };
        if let Some(end) = end {
            days.and_where(Expr::col(Day).lt(end));
        }
        if let Some(actions) = &actions {
            days.and_where(Expr::col(Action).is_in(actions.clone()));
        }
        parts.push(paging::subquery(days));
    }
    for (start, end) in span.by_entry {
        let mut entries = audit_entry::Entity::find()
            .select_only()
            .expr(Expr::cust("COUNT(*)"))
            .filter(audit_entry::Column::OrganizationId.eq(organization.id))
            .filter(audit_entry::Column::CreatedAt.gte(start))
            .filter(audit_entry::Column::CreatedAt.lt(end));
        if let Some(actions) = &actions {
            entries = entries.filter(audit_entry::Column::Action.is_in(actions.clone()));
        }
        if let Some(actor) = filter.actor_id {
            entries = entries.filter(audit_entry::Column::ActorId.eq(actor));
        }
        parts.push(paging::subquery(entries.into_query()));
    }
    let Some(total) = parts.into_iter().reduce(|sum, part| sum.add(part)) else {
        return Ok(0);
    };
    let statement = Query::select()
        .expr_as(
            Func::cast_as(total, Alias::new("BIGINT")),
            Alias::new("total"),
        )
        .to_owned();
    let total: i64 = match db.query_one(&statement).await? {
        Some(row) => row.try_get("", "total")?,
        None => 0,
    };
    Ok(u64::try_from(total).unwrap_or(0))
}

/// How a log's range of time, from `from` up to `until` (or now), is
/// counted: the whole UTC days in it from the daily counts, and the parts
/// of days at its ends entry by entry.
#[derive(Debug, PartialEq, Eq)]
struct CountedSpan {
    /// The first whole day and the day the whole days end before (none:
    /// every day on, up to today).
    whole_days: Option<(NaiveDate, Option<NaiveDate>)>,
    /// Ranges of `created_at`, each `[start, end)`, counted entry by entry.
    by_entry: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl CountedSpan {
    fn of(from: DateTime<Utc>, until: Option<DateTime<Utc>>) -> Self {
        let first_whole = if start_of(day_of(from)) == from {
            day_of(from)
        } else {
            day_of(from).succ_opt().unwrap_or(NaiveDate::MAX)
        };
        let head = (from, start_of(first_whole));
        let non_empty = |(start, end): (DateTime<Utc>, DateTime<Utc>)| start < end;
        match until {
            None => Self {
                whole_days: Some((first_whole, None)),
                by_entry: [head].into_iter().filter(|r| non_empty(*r)).collect(),
            },
            Some(until) if first_whole < day_of(until) => Self {
                whole_days: Some((first_whole, Some(day_of(until)))),
                by_entry: [head, (start_of(day_of(until)), until)]
                    .into_iter()
                    .filter(|r| non_empty(*r))
                    .collect(),
            },
            Some(until) => Self {
                whole_days: None,
                by_entry: [(from, until)]
                    .into_iter()
                    .filter(|r| non_empty(*r))
                    .collect(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn an_open_range_counts_the_rest_of_its_first_day_by_entry_and_whole_days_after() {
        assert_eq!(
            CountedSpan::of(at("2026-11-05T13:30:00Z"), None),
            CountedSpan {
                whole_days: Some((day("2026-11-06"), None)),
                by_entry: vec![(at("2026-11-05T13:30:00Z"), at("2026-11-06T00:00:00Z"))],
            }
        );
        assert_eq!(
            CountedSpan::of(at("2026-11-05T00:00:00Z"), None),
            CountedSpan {
                whole_days: Some((day("2026-11-05"), None)),
                by_entry: vec![],
            }
        );
    }

    #[test]
    fn a_closed_range_counts_both_ends_by_entry() {
        assert_eq!(
            CountedSpan::of(at("2026-11-05T13:30:00Z"), Some(at("2026-11-09T08:00:00Z"))),
            CountedSpan {
                whole_days: Some((day("2026-11-06"), Some(day("2026-11-09")))),
                by_entry: vec![
                    (at("2026-11-05T13:30:00Z"), at("2026-11-06T00:00:00Z")),
                    (at("2026-11-09T00:00:00Z"), at("2026-11-09T08:00:00Z")),
                ],
            }
        );
        assert_eq!(
            CountedSpan::of(at("2026-11-05T00:00:00Z"), Some(at("2026-11-07T00:00:00Z"))),
            CountedSpan {
                whole_days: Some((day("2026-11-05"), Some(day("2026-11-07")))),
                by_entry: vec![],
            }
        );
    }

    #[test]
    fn a_range_within_one_day_or_spanning_no_whole_day_is_counted_by_entry() {
        assert_eq!(
            CountedSpan::of(at("2026-11-05T13:30:00Z"), Some(at("2026-11-06T08:00:00Z"))),
            CountedSpan {
                whole_days: None,
                by_entry: vec![(at("2026-11-05T13:30:00Z"), at("2026-11-06T08:00:00Z"))],
            }
        );
        assert_eq!(
            CountedSpan::of(at("2026-11-05T13:30:00Z"), Some(at("2026-11-05T13:00:00Z"))),
            CountedSpan {
                whole_days: None,
                by_entry: vec![],
            }
        );
    }
}
