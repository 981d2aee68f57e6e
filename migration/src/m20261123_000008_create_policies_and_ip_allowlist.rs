use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The policy travels with the organization row that every access
        // check already reads, so enforcing it costs no extra statement.
        manager
            .alter_table(
                Table::alter()
                    .table("organizations")
                    .add_column(json_null("policy"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("ip_allowlist_entries")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("cidr", 64))
                    .col(string_len_null("description", 200))
                    .col(uuid_null("created_by_user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ip_allowlist_entries_organization")
                            .from("ip_allowlist_entries", "organization_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_ip_allowlist_entries_org_cidr")
                    .table("ip_allowlist_entries")
                    .col("organization_id")
                    .col("cidr")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("ip_allowlist_entries").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("organizations")
                    .drop_column("policy")
                    .to_owned(),
            )
            .await
    }
}
