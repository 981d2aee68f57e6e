//! A trigram index on users' names and addresses, on PostgreSQL where the
//! `pg_trgm` extension can be created (issue #26): a members search then
//! reads the people whose name or address contains the text, not every
//! member of the organization. Searches are planned for their values
//! (`read::paging`), since a generic plan would assume an average-sized
//! organization and scan its members. Without the extension (SQLite, or a
//! server where it may not be created) search works as before, by scan.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "ix_users_search";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        let available = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'",
            ))
            .await?
            .is_some();
        if !available {
            return Ok(());
        }
        // Creating an extension needs a privilege a managed database may
        // withhold: then search stays as it was, and the upgrade goes on.
        db.execute_unprepared("SAVEPOINT trigram").await?;
        if db
            .execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            .await
            .is_err()
        {
            db.execute_unprepared("ROLLBACK TO SAVEPOINT trigram")
                .await?;
            return Ok(());
        }
        db.execute_unprepared(&format!(
            "CREATE INDEX {INDEX} ON users USING gin (lower(name) gin_trgm_ops, email gin_trgm_ops)"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(&format!("DROP INDEX IF EXISTS {INDEX}"))
                .await?;
        }
        Ok(())
    }
}
