use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("invitations")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("email", 254))
                    .col(string_len("role", 16))
                    .col(string_len("status", 16))
                    .col(string_len("token_hash", 64))
                    .col(uuid_null("invited_by_user_id"))
                    .col(json("team_ids"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(uuid_null("accepted_by_user_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitations_organization")
                            .from("invitations", "organization_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitations_inviter")
                            .from("invitations", "invited_by_user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_invitations_token_hash")
                    .table("invitations")
                    .col("token_hash")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_invitations_org")
                    .table("invitations")
                    .col("organization_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_invitations_email")
                    .table("invitations")
                    .col("email")
                    .to_owned(),
            )
            .await?;
        // One pending invitation per address and organization; a partial
        // index (both databases have them) so history can hold many.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_invitations_pending_email ON invitations (organization_id, email) WHERE status = 'PENDING'",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("join_codes")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("code_hash", 64))
                    .col(string_len("last_four", 4))
                    .col(string_len("role", 16))
                    .col(integer_null("max_uses"))
                    .col(integer("uses").default(0))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .col(uuid_null("created_by_user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_join_codes_organization")
                            .from("join_codes", "organization_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_join_codes_creator")
                            .from("join_codes", "created_by_user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_join_codes_code_hash")
                    .table("join_codes")
                    .col("code_hash")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_join_codes_org")
                    .table("join_codes")
                    .col("organization_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("outbox_emails")
                    .col(uuid("id").primary_key())
                    .col(string_len("recipient", 254))
                    .col(string_len("subject", 300))
                    .col(text_null("body"))
                    .col(integer("attempts").default(0))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(timestamp_with_time_zone_null("sent_at"))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_emails_due")
                    .table("outbox_emails")
                    .col("sent_at")
                    .col("next_attempt_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["outbox_emails", "join_codes", "invitations"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
