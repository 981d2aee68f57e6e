use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table("organizations")
                    .add_column(integer("jwt_expiry_secs").default(900))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("organizations")
                    .add_column(timestamp_with_time_zone_null("sessions_revoked_before"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("api_tokens")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("name", 200))
                    .col(string_len("key", 32))
                    .col(string_len("secret_hash", 64))
                    .col(string_len("last_four", 4))
                    .col(json("scopes"))
                    .col(uuid_null("created_by_user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_tokens_organization")
                            .from("api_tokens", "organization_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_tokens_creator")
                            .from("api_tokens", "created_by_user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_api_tokens_key")
                    .table("api_tokens")
                    .col("key")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_api_tokens_org")
                    .table("api_tokens")
                    .col("organization_id")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("api_tokens").to_owned())
            .await?;
        for column in ["sessions_revoked_before", "jwt_expiry_secs"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("organizations")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
