use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("teams")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(uuid_null("parent_team_id"))
                    .col(string_len("name", 200))
                    .col(string_len("slug", 64))
                    .col(string_len_null("description", 2000))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_teams_organization")
                            .from("teams", "organization_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_teams_parent")
                            .from("teams", "parent_team_id")
                            .to("teams", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_teams_org_slug")
                    .table("teams")
                    .col("organization_id")
                    .col("slug")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_teams_parent")
                    .table("teams")
                    .col("parent_team_id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("team_members")
                    .col(uuid("id").primary_key())
                    .col(uuid("team_id"))
                    .col(uuid("member_id"))
                    .col(string_len("role", 16))
                    .col(timestamp_with_time_zone("added_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_team_members_team")
                            .from("team_members", "team_id")
                            .to("teams", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    // Leaving or being removed from the organization removes
                    // a member from all its teams.
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_team_members_member")
                            .from("team_members", "member_id")
                            .to("members", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_team_members_team_member")
                    .table("team_members")
                    .col("team_id")
                    .col("member_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_team_members_member")
                    .table("team_members")
                    .col("member_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["team_members", "teams"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
