//! An organization's `domain` is a claim, not a verified fact: any number
//! of organizations may state the same one. A unique index made
//! `updateOrganization(domain)` tell anyone that another tenant had claimed
//! a domain, and let the first to type it squat on it. Verified domains
//! (single sign-on) will be unique among verified claims only.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("uq_organizations_domain")
                    .table("organizations")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_organizations_domain")
                    .table("organizations")
                    .col("domain")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_organizations_domain")
                    .table("organizations")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_organizations_domain")
                    .table("organizations")
                    .col("domain")
                    .unique()
                    .to_owned(),
            )
            .await
    }
}
