use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("organizations")
                    .col(uuid("id").primary_key())
                    .col(string_len("name", 200))
                    .col(string_len("slug", 64))
                    .col(string_len_null("domain", 253))
                    .col(string_len_null("website", 2048))
                    .col(string_len_null("industry", 200))
                    .col(string_len_null("description", 2000))
                    .col(string_len_null("avatar_url", 2048))
                    .col(string_len("status", 16))
                    .col(string_len("tier", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("uq_organizations_slug", "slug"),
            ("uq_organizations_domain", "domain"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table("organizations")
                        .col(column)
                        .unique()
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("members")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(uuid("user_id"))
                    .col(string_len("role", 16))
                    .col(timestamp_with_time_zone("joined_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_members_organization")
                            .from("members", "organization_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_members_user")
                            .from("members", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // (organization_id, user_id) serves the membership lookups of every
        // guard; (user_id, organization_id) serves a viewer's list of
        // organizations and its count from the index alone.
        manager
            .create_index(
                Index::create()
                    .name("uq_member_org_user")
                    .table("members")
                    .col("organization_id")
                    .col("user_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_members_user")
                    .table("members")
                    .col("user_id")
                    .col("organization_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["members", "organizations"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
