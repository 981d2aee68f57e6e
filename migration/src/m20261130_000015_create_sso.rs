//! Single sign-on: an organization's connections to its identity provider,
//! the short-lived state of a sign-in in flight, the one-time codes the app
//! trades for a session, the IdP identities linked to accounts, and on each
//! session the connection it came through (for `ssoRequired`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sso_connections")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("protocol", 16))
                    .col(string_len("status", 16))
                    .col(string_len("issuer_url", 2048))
                    .col(string_len("client_id", 512))
                    .col(text("client_secret_sealed"))
                    .col(boolean("jit_provisioning"))
                    .col(string_len("default_role", 16))
                    .col(timestamp_with_time_zone_null("tested_at"))
                    .col(uuid_null("created_by_user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sso_connections_organization")
                            .from("sso_connections", "organization_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sso_connections_organization")
                    .table("sso_connections")
                    .col("organization_id")
                    .to_owned(),
            )
            .await?;
        // One ACTIVE connection per organization: the one `/sso/{slug}/start`
        // sends people to. Partial, on both SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_sso_connections_active \
                 ON sso_connections (organization_id) WHERE status = 'ACTIVE'",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("sso_login_states")
                    .col(uuid("id").primary_key())
                    .col(string_len("state_hash", 64).unique_key())
                    .col(uuid("connection_id"))
                    .col(string_len("nonce", 128))
                    .col(string_len("pkce_verifier", 128))
                    .col(string_len("redirect_uri", 2048))
                    .col(boolean("test"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sso_login_states_connection")
                            .from("sso_login_states", "connection_id")
                            .to("sso_connections", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("sso_codes")
                    .col(uuid("id").primary_key())
                    .col(string_len("code_hash", 64).unique_key())
                    .col(uuid("user_id"))
                    .col(uuid("connection_id"))
                    .col(uuid("organization_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sso_codes_user")
                            .from("sso_codes", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sso_codes_connection")
                            .from("sso_codes", "connection_id")
                            .to("sso_connections", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("sso_identities")
                    .col(uuid("id").primary_key())
                    .col(uuid("connection_id"))
                    .col(string_len("subject", 255))
                    .col(uuid("user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sso_identities_connection")
                            .from("sso_identities", "connection_id")
                            .to("sso_connections", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sso_identities_user")
                            .from("sso_identities", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_sso_identities_connection_subject")
                    .table("sso_identities")
                    .col("connection_id")
                    .col("subject")
                    .unique()
                    .to_owned(),
            )
            .await?;

        for column in ["sso_connection_id", "sso_organization_id"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("sessions")
                        .add_column(uuid_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["sso_connection_id", "sso_organization_id"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("sessions")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for table in [
            "sso_identities",
            "sso_codes",
            "sso_login_states",
            "sso_connections",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
