//! SAML single sign-on: a connection's IdP settings (entity id, SSO URL,
//! signing certificate), the AuthnRequest id a sign-in in flight expects
//! back (`InResponseTo`), and the replay cache of assertion ids, in the
//! database so it holds across instances and restarts.
//!
//! The OIDC columns of `sso_connections` stay NOT NULL (SQLite cannot relax
//! a column without rebuilding a table that others reference): a SAML
//! connection keeps them empty, and the SAML columns are NULL on an OIDC
//! one. `domain::sso::connections::Idp` reads a row as one or the other.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            string_len_null("idp_entity_id", 1024),
            string_len_null("idp_sso_url", 2048),
            text_null("idp_certificate"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("sso_connections")
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("sso_login_states")
                    .add_column(string_len_null("saml_request_id", 128))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("sso_saml_assertions")
                    .col(uuid("id").primary_key())
                    .col(uuid("connection_id"))
                    .col(string_len("assertion_id", 256))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sso_saml_assertions_connection")
                            .from("sso_saml_assertions", "connection_id")
                            .to("sso_connections", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // An assertion is accepted once per connection: a second insert of
        // the same id is a replay.
        manager
            .create_index(
                Index::create()
                    .name("uq_sso_saml_assertions_connection_assertion")
                    .table("sso_saml_assertions")
                    .col("connection_id")
                    .col("assertion_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sso_saml_assertions_expires_at")
                    .table("sso_saml_assertions")
                    .col("expires_at")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("sso_saml_assertions").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("sso_login_states")
                    .drop_column("saml_request_id")
                    .to_owned(),
            )
            .await?;
        for column in ["idp_entity_id", "idp_sso_url", "idp_certificate"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("sso_connections")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
