//! Directory sync (issue #25): an organization's SCIM 2.0 directories and
//! what each has provisioned.
//!
//! - `scim_directories`: one per connected directory (Okta, Entra ID, …),
//!   with the SHA-256 of its bearer token (NULL once revoked; unique, as
//!   the token is looked up by it), its default role and its group → role
//!   mapping.
//! - `scim_users`: a SCIM User of one directory, linked to the account its
//!   address named at creation. The membership itself is the `members`
//!   row of that account; an inactive user has none. `user_name_key` is
//!   the lower-cased `userName`, unique per directory; an account is one
//!   SCIM User per directory. `attributes` keeps the rest of the resource
//!   as the directory sent it (names, emails, …).
//! - `scim_groups`: a SCIM Group, which is a team of the organization;
//!   `display_name_key`, its lower-cased name, is what `displayName eq`
//!   looks up (Entra finds groups by name).
//! - `scim_group_members`: the directory's word on who is in a group; the
//!   team's roster follows it for the users who are members.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn cascade(
    name: &str,
    from: (&'static str, &'static str),
    to: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(
    name: &str,
    table: &'static str,
    columns: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(*column);
    }
    if unique {
        index.unique();
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("scim_directories")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("name", 200))
                    .col(string_len("default_role", 16))
                    .col(json("group_roles"))
                    .col(string_len_null("token_hash", 64))
                    .col(string_len_null("token_last_four", 4))
                    .col(uuid_null("created_by_user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut cascade(
                        "fk_scim_directories_organization",
                        ("scim_directories", "organization_id"),
                        "organizations",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_scim_directories_token",
                "scim_directories",
                &["token_hash"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_scim_directories_organization",
                "scim_directories",
                &["organization_id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("scim_users")
                    .col(uuid("id").primary_key())
                    .col(uuid("directory_id"))
                    .col(uuid("organization_id"))
                    .col(uuid("user_id"))
                    .col(string_len("user_name", 320))
                    .col(string_len("user_name_key", 320))
                    .col(string_len_null("external_id", 320))
                    .col(boolean("active"))
                    .col(json("attributes"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut cascade(
                        "fk_scim_users_directory",
                        ("scim_users", "directory_id"),
                        "scim_directories",
                    ))
                    .foreign_key(&mut cascade(
                        "fk_scim_users_user",
                        ("scim_users", "user_id"),
                        "users",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_scim_users_directory_user_name",
                "scim_users",
                &["directory_id", "user_name_key"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "uq_scim_users_directory_user",
                "scim_users",
                &["directory_id", "user_id"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_scim_users_directory_external_id",
                "scim_users",
                &["directory_id", "external_id"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_scim_users_organization_user",
                "scim_users",
                &["organization_id", "user_id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("scim_groups")
                    .col(uuid("id").primary_key())
                    .col(uuid("directory_id"))
                    .col(uuid("team_id"))
                    .col(string_len("display_name", 200))
                    .col(string_len("display_name_key", 200))
                    .col(string_len_null("external_id", 320))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut cascade(
                        "fk_scim_groups_directory",
                        ("scim_groups", "directory_id"),
                        "scim_directories",
                    ))
                    .foreign_key(&mut cascade(
                        "fk_scim_groups_team",
                        ("scim_groups", "team_id"),
                        "teams",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_scim_groups_team",
                "scim_groups",
                &["team_id"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_scim_groups_directory_display_name",
                "scim_groups",
                &["directory_id", "display_name_key"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("scim_group_members")
                    .col(uuid("group_id"))
                    .col(uuid("scim_user_id"))
                    .primary_key(Index::create().col("group_id").col("scim_user_id"))
                    .foreign_key(&mut cascade(
                        "fk_scim_group_members_group",
                        ("scim_group_members", "group_id"),
                        "scim_groups",
                    ))
                    .foreign_key(&mut cascade(
                        "fk_scim_group_members_user",
                        ("scim_group_members", "scim_user_id"),
                        "scim_users",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_scim_group_members_user",
                "scim_group_members",
                &["scim_user_id"],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "scim_group_members",
            "scim_groups",
            "scim_users",
            "scim_directories",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
