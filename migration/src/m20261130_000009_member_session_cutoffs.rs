//! `revokeOrganizationSessions` ends access member by member, not for the
//! whole organization at once: an ADMIN cuts off the members they rank
//! above (and themselves), never an OWNER. The cutoff moves from the
//! organization row to each membership; cutoffs already set are copied to
//! every member so nothing regains access.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("members")
                    .add_column(timestamp_with_time_zone_null("sessions_revoked_before"))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE members SET sessions_revoked_before = (
                     SELECT organizations.sessions_revoked_before FROM organizations
                     WHERE organizations.id = members.organization_id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("members")
                    .drop_column("sessions_revoked_before")
                    .to_owned(),
            )
            .await
    }
}
