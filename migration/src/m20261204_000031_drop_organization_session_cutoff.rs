//! `organizations.sessions_revoked_before` goes (issue #28, item 5).
//! Migration 9 moved the cutoff to each membership
//! (`members.sessions_revoked_before`, which stays); since then nothing has
//! written or read the organization's column. It has no index or
//! constraint, so a plain `DROP COLUMN` works on SQLite (3.35 and later)
//! as on PostgreSQL.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("organizations")
                    .drop_column("sessions_revoked_before")
                    .to_owned(),
            )
            .await
    }

    /// The column comes back empty: its values had been copied to the
    /// memberships by migration 9, which is where they are read.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("organizations")
                    .add_column(timestamp_with_time_zone_null("sessions_revoked_before"))
                    .to_owned(),
            )
            .await
    }
}
