//! PostgreSQL tells every server instance when a session stops being what
//! it was: triggers notify the channel `orgql_session_changes` with the
//! user's id when a session is revoked, deleted, or changes how it was
//! authenticated, and when a user row changes or is deleted. Instances keep
//! sessions in memory and drop a user's on notice, whichever instance (or
//! script) made the change. A session's last use (`last_used_at`,
//! `ip_address`, `user_agent`) is bookkeeping and notifies nobody.
//!
//! SQLite has no notifications and no cache: nothing to create.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE FUNCTION orgql_notify_session_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'users' THEN
    PERFORM pg_notify('orgql_session_changes', OLD.id::text);
  ELSE
    PERFORM pg_notify('orgql_session_changes', OLD.user_id::text);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER sessions_changed AFTER UPDATE ON sessions FOR EACH ROW
  WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
        OR OLD.amr IS DISTINCT FROM NEW.amr
        OR OLD.sso_connection_id IS DISTINCT FROM NEW.sso_connection_id
        OR OLD.sso_organization_id IS DISTINCT FROM NEW.sso_organization_id
        OR OLD.user_id IS DISTINCT FROM NEW.user_id
        OR OLD.created_at IS DISTINCT FROM NEW.created_at
        OR OLD.id IS DISTINCT FROM NEW.id)
  EXECUTE FUNCTION orgql_notify_session_change();
CREATE TRIGGER sessions_deleted AFTER DELETE ON sessions FOR EACH ROW
  EXECUTE FUNCTION orgql_notify_session_change();
CREATE TRIGGER users_changed AFTER UPDATE OR DELETE ON users FOR EACH ROW
  EXECUTE FUNCTION orgql_notify_session_change();
"#;

const DOWN: &str = r#"
DROP TRIGGER IF EXISTS users_changed ON users;
DROP TRIGGER IF EXISTS sessions_deleted ON sessions;
DROP TRIGGER IF EXISTS sessions_changed ON sessions;
DROP FUNCTION IF EXISTS orgql_notify_session_change();
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager.get_connection().execute_unprepared(UP).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager.get_connection().execute_unprepared(DOWN).await?;
        Ok(())
    }
}
