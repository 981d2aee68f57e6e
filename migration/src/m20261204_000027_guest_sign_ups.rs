//! Security review L2 (issue #22): a guest link's sign-in request creates
//! no account. `guest_sign_ups` holds the mailed link of someone joining
//! through a guest link with an address that has no account yet; the guest
//! account is created only when the link is used, which proves the
//! mailbox. Only the link's SHA-256 is stored; it expires and `used_at`
//! makes it single use. No foreign key to the join code: a link whose code
//! is gone is refused when it is used.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("guest_sign_ups")
                    .col(uuid("id").primary_key())
                    .col(string_len("email", 320))
                    .col(string_len("token_hash", 64))
                    .col(uuid("join_code_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_guest_sign_ups_hash")
                    .table("guest_sign_ups")
                    .col("token_hash")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_guest_sign_ups_email")
                    .table("guest_sign_ups")
                    .col("email")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("guest_sign_ups").to_owned())
            .await
    }
}
