//! A test sign-in is bound to a browser too (review L6): `testSsoConnection`
//! answers a one-time link to orgql, not the IdP URL. The first browser to
//! open it is bound to the sign-in and sent on to the IdP.
//! `sso_login_states.test_ticket_hash` keeps the SHA-256 of that link's
//! ticket (NULL once used, and for every other sign-in), `idp_url` where
//! the link sends the browser.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sso_login_states")
                    .add_column(string_len_null("test_ticket_hash", 64))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("sso_login_states")
                    .add_column(text_null("idp_url"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["idp_url", "test_ticket_hash"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("sso_login_states")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
