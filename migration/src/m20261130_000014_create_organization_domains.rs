//! Verified domains: an organization claims a domain and proves it controls
//! it with a DNS TXT record. Any number of organizations may claim the same
//! domain (an unverified claim neither blocks nor reveals another tenant);
//! at most one may have it verified, which a partial unique index holds on
//! both SQLite and PostgreSQL.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("organization_domains")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("domain", 253))
                    .col(string_len("challenge", 128))
                    .col(timestamp_with_time_zone_null("verified_at"))
                    .col(uuid_null("created_by_user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_domains_organization")
                            .from("organization_domains", "organization_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_organization_domains_org_domain")
                    .table("organization_domains")
                    .col("organization_id")
                    .col("domain")
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Partial: only verified claims compete for a domain. The same
        // statement reads the same on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_organization_domains_verified \
                 ON organization_domains (domain) WHERE verified_at IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("organization_domains").to_owned())
            .await
    }
}
