//! Lock-outs that a stranger cannot turn against the account's owner
//! (issue #22, M1): wrong passwords are counted per account and client
//! address, and the addresses an account has signed in from are
//! remembered, so that the account-wide lock spares them. Wrong
//! second-factor codes are counted per account, across challenges (M2).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sign_in_addresses")
                    .col(uuid("user_id"))
                    .col(string_len("address", 64))
                    .col(integer("failed_attempts").default(0))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .col(timestamp_with_time_zone_null("signed_in_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("user_id").col("address"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sign_in_addresses_user")
                            .from("sign_in_addresses", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("mfa_lockouts")
                    .col(uuid("user_id").primary_key())
                    .col(integer("failed_attempts").default(0))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_mfa_lockouts_user")
                            .from("mfa_lockouts", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("mfa_lockouts").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("sign_in_addresses").to_owned())
            .await
    }
}
