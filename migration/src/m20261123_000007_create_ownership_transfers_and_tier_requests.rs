use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("ownership_transfers")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(uuid("from_member_id"))
                    .col(uuid("to_member_id"))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ownership_transfers_organization")
                            .from("ownership_transfers", "organization_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ownership_transfers_from")
                            .from("ownership_transfers", "from_member_id")
                            .to("members", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ownership_transfers_to")
                            .from("ownership_transfers", "to_member_id")
                            .to("members", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One pending transfer per organization, at the database too.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_ownership_transfers_pending ON ownership_transfers (organization_id) WHERE status = 'PENDING'",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("tier_upgrade_requests")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("requested_tier", 16))
                    .col(string_len_null("reason", 1000))
                    .col(string_len("status", 16))
                    .col(uuid_null("requested_by_user_id"))
                    .col(uuid_null("decided_by_user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tier_upgrade_requests_organization")
                            .from("tier_upgrade_requests", "organization_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_tier_upgrade_requests_pending ON tier_upgrade_requests (organization_id) WHERE status = 'PENDING'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["tier_upgrade_requests", "ownership_transfers"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
