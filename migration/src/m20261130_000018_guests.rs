//! Guests (issue #13): an identity kind that holds memberships and nothing
//! else, guest invitations and guest links (join codes whose role is fixed
//! to VIEWER), and the join code a mailed sign-in link redeems.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in [
            ("users", "is_guest"),
            ("invitations", "guest"),
            ("join_codes", "guest"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(boolean(column).default(false))
                        .to_owned(),
                )
                .await?;
        }
        // Not a foreign key: a link whose code was deleted simply redeems
        // nothing (the code is looked up, and refused, when it is used).
        manager
            .alter_table(
                Table::alter()
                    .table("account_tokens")
                    .add_column(uuid_null("join_code_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("account_tokens")
                    .drop_column("join_code_id")
                    .to_owned(),
            )
            .await?;
        for (table, column) in [
            ("join_codes", "guest"),
            ("invitations", "guest"),
            ("users", "is_guest"),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
