//! Retention: entries are immutable, nothing updates one, and only this
//! deletes them, once past their organization's tier's retention. An
//! organization's events (and their webhook deliveries) go with them: the
//! events API reaches back as far as the audit log. The daily counts of
//! days wholly past retention go too, and those of the day retention ends
//! in are counted again from the entries left: a log counts that day entry
//! by entry, but after an upgrade to a longer retention it is a whole day.

use chrono::{Duration, Utc};
use entity::{audit_entry, audit_entry_count, event, organization, values::Tier};
use sea_orm::sea_query::{Expr, ExprTrait, Query, QueryStatementBuilder};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};

use crate::domain::audit::counts;
use crate::domain::tiers;
use crate::error::AppResult;

/// Deletes entries and events past their organization's retention
/// (DESIGN §6), and account-level entries past the longest retention.
/// Returns how many entries.
pub async fn purge<C: ConnectionTrait>(db: &C) -> AppResult<u64> {
    let now = Utc::now();
    let mut purged = 0;
    for tier in [Tier::Free, Tier::Starter, Tier::Team, Tier::Enterprise] {
        let cutoff = now - Duration::days(i64::from(tiers::audit_retention_days(tier)));
        let on_tier = Query::select()
            .column(organization::Column::Id)
            .from(organization::Entity)
            .and_where(organization::Column::Tier.eq(tier))
            .to_owned();
        purged += audit_entry::Entity::delete_many()
            .filter(audit_entry::Column::CreatedAt.lt(cutoff))
            .filter(audit_entry::Column::OrganizationId.in_subquery(on_tier.clone()))
            .exec(db)
            .await?
            .rows_affected;
        event::Entity::delete_many()
            .filter(event::Column::OccurredAt.lt(cutoff))
            .filter(event::Column::OrganizationId.in_subquery(on_tier.clone()))
            .exec(db)
            .await?;
        let cutoff_day = counts::day_of(cutoff);
        audit_entry_count::Entity::delete_many()
            .filter(audit_entry_count::Column::Day.lt(cutoff_day))
            .filter(audit_entry_count::Column::OrganizationId.in_subquery(on_tier.clone()))
            .exec(db)
            .await?;
        let left_that_day = audit_entry::Entity::find()
            .select_only()
            .expr(Expr::cust("COUNT(*)"))
            .filter(
                Expr::col((audit_entry::Entity, audit_entry::Column::OrganizationId)).equals((
                    audit_entry_count::Entity,
                    audit_entry_count::Column::OrganizationId,
                )),
            )
            .filter(
                Expr::col((audit_entry::Entity, audit_entry::Column::Action))
                    .equals((audit_entry_count::Entity, audit_entry_count::Column::Action)),
            )
            .filter(audit_entry::Column::CreatedAt.gte(counts::start_of(cutoff_day)))
            .filter(
                audit_entry::Column::CreatedAt.lt(counts::start_of(cutoff_day) + Duration::days(1)),
            )
            .into_query();
        audit_entry_count::Entity::update_many()
            .col_expr(
                audit_entry_count::Column::Entries,
                Expr::SubQuery(None, Box::new(left_that_day.into_sub_query_statement())),
            )
            .filter(audit_entry_count::Column::Day.eq(cutoff_day))
            .filter(audit_entry_count::Column::OrganizationId.in_subquery(on_tier))
            .exec(db)
            .await?;
    }
    let longest = now - Duration::days(i64::from(tiers::audit_retention_days(Tier::Enterprise)));
    purged += audit_entry::Entity::delete_many()
        .filter(audit_entry::Column::CreatedAt.lt(longest))
        .filter(audit_entry::Column::OrganizationId.is_null())
        .exec(db)
        .await?
        .rows_affected;
    Ok(purged)
}
