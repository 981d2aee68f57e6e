use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("audit_entries")
                    .col(uuid("id").primary_key())
                    .col(uuid_null("organization_id"))
                    .col(string_len("actor_kind", 16))
                    .col(uuid_null("actor_id"))
                    .col(string_len_null("actor_email", 254))
                    .col(string_len("action", 64))
                    .col(string_len("resource_type", 64))
                    .col(uuid_null("resource_id"))
                    .col(json("metadata"))
                    .col(string_len_null("ip_address", 64))
                    .col(string_len_null("user_agent", 512))
                    .col(string_len_null("request_id", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        // Newest first within one organization: the audit log's keyset order
        // (ids are UUIDv7, so id order is time order).
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_entries_org_id")
                    .table("audit_entries")
                    .col("organization_id")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("audit_entries").to_owned())
            .await
    }
}
