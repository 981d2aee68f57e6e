//! Multi-factor authentication with TOTP (RFC 6238): a person's
//! authenticator (its secret encrypted at rest, the last time step used so
//! no code works twice), their single-use recovery codes (hashed), the
//! short-lived challenges between a password and a code, how each session
//! authenticated (`amr`), and a flag on the user so that member lists show
//! who has MFA without a statement per member.

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
                    .table("users")
                    .add_column(boolean("mfa_enabled").default(false))
                    .to_owned(),
            )
            .await?;
        // Sessions that exist already were opened with a password alone.
        manager
            .alter_table(
                Table::alter()
                    .table("sessions")
                    .add_column(string_len("amr", 64).default("pwd"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("totp_authenticators")
                    .col(uuid("user_id").primary_key())
                    .col(text("secret_encrypted"))
                    .col(timestamp_with_time_zone_null("confirmed_at"))
                    .col(big_integer_null("last_used_step"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_totp_authenticators_user")
                            .from("totp_authenticators", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("mfa_recovery_codes")
                    .col(uuid("id").primary_key())
                    .col(uuid("user_id"))
                    .col(string_len("code_hash", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_mfa_recovery_codes_user")
                            .from("mfa_recovery_codes", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_mfa_recovery_codes_user")
                    .table("mfa_recovery_codes")
                    .col("user_id")
                    .col("code_hash")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("mfa_challenges")
                    .col(uuid("id").primary_key())
                    .col(uuid("user_id"))
                    .col(string_len("secret_hash", 64))
                    .col(integer("failed_attempts").default(0))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_mfa_challenges_user")
                            .from("mfa_challenges", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_mfa_challenges_secret_hash")
                    .table("mfa_challenges")
                    .col("secret_hash")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "mfa_challenges",
            "mfa_recovery_codes",
            "totp_authenticators",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("sessions")
                    .drop_column("amr")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .drop_column("mfa_enabled")
                    .to_owned(),
            )
            .await
    }
}
