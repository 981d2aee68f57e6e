//! The audit trail's daily counts (issue #26): how many entries each
//! organization's trail got on each UTC day with each action
//! (`audit_entry_counts`), and each actor's share of them
//! (`audit_actor_counts`), kept in the transaction of every entry
//! (`domain::audit::counts`). An audit log's `totalCount` then adds the
//! whole days of its range from here and counts entry by entry only the
//! parts of days at its ends, through a new index by (organization,
//! created_at, action, actor), so a million entries count as a few hundred
//! rows and a day's worth of index.
//!
//! Entries by (organization, resource, id, created_at) too: a page about
//! one resource is one range, and its count reads the index alone.
//!
//! The counts of the entries already kept are filled in here, in the same
//! transaction as the tables.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, the key's columns before `day` and `action`, the entries it
/// counts).
const TABLES: &[(&str, &[&str], &str)] = &[
    (
        "audit_entry_counts",
        &["organization_id"],
        "organization_id IN (SELECT id FROM organizations)",
    ),
    (
        "audit_actor_counts",
        &["organization_id", "actor_id"],
        "organization_id IN (SELECT id FROM organizations) AND actor_id IS NOT NULL",
    ),
];

/// (index, columns) on `audit_entries`.
const INDEXES: &[(&str, &[&str])] = &[
    (
        "ix_audit_entries_organization_time",
        &["organization_id", "created_at", "action", "actor_id"],
    ),
    (
        "ix_audit_entries_organization_resource",
        &["organization_id", "resource_id", "id", "created_at"],
    ),
];

fn counts_table(table: &'static str, key: &[&'static str]) -> TableCreateStatement {
    let mut create = Table::create();
    create.table(table);
    let mut primary_key = Index::create();
    for column in key {
        create.col(uuid(*column));
        primary_key.col(*column);
    }
    create
        .col(date("day"))
        .col(string_len("action", 64))
        .col(big_integer("entries"))
        .primary_key(primary_key.col("day").col("action"))
        .foreign_key(
            ForeignKey::create()
                .name(format!("fk_{table}_organization"))
                .from(table, "organization_id")
                .to("organizations", "id")
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, key, _) in TABLES {
            manager.create_table(counts_table(table, key)).await?;
        }
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
        for (table, key, counted) in TABLES {
            let key = key.join(", ");
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "INSERT INTO {table} ({key}, day, action, entries) \
                     SELECT {key}, {day}, action, COUNT(*) FROM audit_entries \
                     WHERE {counted} GROUP BY {key}, {day}, action"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            manager
                .drop_index(Index::drop().name(*name).table("audit_entries").to_owned())
                .await?;
        }
        for (table, _, _) in TABLES {
            manager
                .drop_table(Table::drop().table(*table).to_owned())
                .await?;
        }
        Ok(())
    }
}
