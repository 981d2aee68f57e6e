//! Rate-limit budgets shared by every instance on one PostgreSQL database
//! (issue #22, L5): one row per limited key, holding when its budget is
//! whole again (GCRA's theoretical arrival time). SQLite keeps its limits
//! in the process and leaves the table empty.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("rate_limit_buckets")
                    .col(string("key").primary_key())
                    .col(timestamp_with_time_zone("refilled_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("rate_limit_buckets").to_owned())
            .await
    }
}
