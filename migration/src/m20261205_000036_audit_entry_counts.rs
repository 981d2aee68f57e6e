//! The audit trail's daily counts (issue #26): how many entries each
//! organization's trail got on each UTC day with each action, kept in the
//! transaction of every entry (`domain::audit::counts`). An audit log's
//! `totalCount` then adds the whole days of its range from here and counts
//! entry by entry only the parts of days at its ends, through a new index
//! by (organization, created_at, action), so a million entries count as a
//! few hundred rows and a day's worth of index.
//!
//! Entries by (organization, resource, id, created_at) too: a page about
//! one resource is one range, and its count reads the index alone.
//!
//! The counts of the entries already kept are filled in here, in the same
//! transaction as the table.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "audit_entry_counts";
/// (index, columns) on `audit_entries`.
const INDEXES: &[(&str, &[&str])] = &[
    (
        "ix_audit_entries_organization_time",
        &["organization_id", "created_at", "action"],
    ),
    (
        "ix_audit_entries_organization_resource",
        &["organization_id", "resource_id", "id", "created_at"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TABLE)
                    .col(uuid("organization_id"))
                    .col(date("day"))
                    .col(string_len("action", 64))
                    .col(big_integer("entries"))
                    .primary_key(
                        Index::create()
                            .col("organization_id")
                            .col("day")
                            .col("action"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_entry_counts_organization")
                            .from(TABLE, "organization_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in INDEXES {
            let mut index = Index::create();
            index.name(*name).table("audit_entries");
            for column in *columns {
                index.col(*column);
            }
            manager.create_index(index).await?;
        }
        // The day of an entry is the UTC date of its `created_at`, as
        // `domain::audit::counts::day_of` computes it.
        let day = match manager.get_database_backend() {
            DbBackend::Postgres => "(created_at AT TIME ZONE 'UTC')::date",
            _ => "date(created_at)",
        };
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "INSERT INTO {TABLE} (organization_id, day, action, entries) \
                 SELECT organization_id, {day}, action, COUNT(*) FROM audit_entries \
                 WHERE organization_id IN (SELECT id FROM organizations) \
                 GROUP BY organization_id, {day}, action"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            manager
                .drop_index(Index::drop().name(*name).table("audit_entries").to_owned())
                .await?;
        }
        manager
            .drop_table(Table::drop().table(TABLE).to_owned())
            .await?;
        Ok(())
    }
}
