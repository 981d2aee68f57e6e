//! A sign-in in flight is bound to the browser that started it (review
//! L6, login CSRF): `sso_login_states.browser_binding_hash` keeps the
//! SHA-256 of the random value the start set in that browser's
//! `__Host-orgql_sso` cookie. NULL for a test sign-in (started over
//! GraphQL by an administrator, it signs nobody in) and for rows written
//! before this migration, which the callback then refuses.

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
                    .add_column(string_len_null("browser_binding_hash", 64))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sso_login_states")
                    .drop_column("browser_binding_hash")
                    .to_owned(),
            )
            .await
    }
}
