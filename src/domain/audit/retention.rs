//! Retention: entries are immutable, nothing updates one, and only this
//! deletes them, once past their organization's tier's retention.

use chrono::{Duration, Utc};
use entity::{audit_entry, organization, values::Tier};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Query};

use crate::domain::tiers;
use crate::error::AppResult;

/// Deletes entries past their organization's retention (DESIGN §6), and
/// account-level entries past the longest retention. Returns how many.
pub async fn purge<C: ConnectionTrait>(db: &C) -> AppResult<u64> {
    let now = Utc::now();
    let mut purged = 0;
    for tier in [Tier::Free, Tier::Starter, Tier::Team, Tier::Enterprise] {
        let cutoff = now - Duration::days(i64::from(tiers::audit_retention_days(tier)));
        purged += audit_entry::Entity::delete_many()
            .filter(audit_entry::Column::CreatedAt.lt(cutoff))
            .filter(
                audit_entry::Column::OrganizationId.in_subquery(
                    Query::select()
                        .column(organization::Column::Id)
                        .from(organization::Entity)
                        .and_where(organization::Column::Tier.eq(tier))
                        .to_owned(),
                ),
            )
            .exec(db)
            .await?
            .rows_affected;
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
