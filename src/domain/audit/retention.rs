//! Retention: entries are immutable, nothing updates one, and only this
//! deletes them, once past their organization's tier's retention. An
//! organization's events (and their webhook deliveries) go with them: the
//! events API reaches back as far as the audit log. The daily counts of
//! days wholly past retention go too, and those of the day retention ends
//! in are counted again from the entries left: a log counts that day entry
//! by entry, but after an upgrade to a longer retention it is a whole day.

use chrono::{Duration, Utc};
use entity::{audit_entry, event, organization, values::Tier};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

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
        counts::purged_before(db, cutoff, on_tier).await?;
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
