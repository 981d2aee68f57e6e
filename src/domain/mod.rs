//! Business rules, one module per aggregate. Functions here take the actor
//! and a database connection, know nothing of GraphQL, and run each change
//! in one transaction together with its audit entry.

pub mod access;
pub mod accounts;
pub mod api_tokens;
pub mod audit;
pub mod billing;
pub mod ids;
pub mod invitations;
pub mod join_codes;
pub mod members;
pub mod organizations;
pub mod outbox;
pub mod ownership;
pub mod pagination;
pub mod permissions;
pub mod policy;
pub mod seed;
pub mod sessions;
pub mod teams;
pub mod tiers;
pub mod users;
pub mod values;

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

/// Starts a transaction that will write. On SQLite it begins IMMEDIATE, so
/// writers queue on the database lock (busy timeout) instead of failing
/// when a read snapshot cannot be upgraded; on PostgreSQL rows are locked
/// where a rule needs it (`access::authorize_write`).
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}
