//! Each organization's number of members, kept by the database
//! (`organization_member_counts`, issue #26): a members page's `totalCount`
//! and `membersCount` without a filter read one row instead of counting
//! the organization's members (100,000 index entries took 8 to 17 ms).
//!
//! Triggers on `members` keep it, so every way a membership begins or ends
//! counts, whichever code path or script inserts or deletes the row: on
//! PostgreSQL once per statement, from its transition table (a bulk insert
//! of 100,000 members updates the count once); on SQLite, which has no
//! statement triggers, once per row. An insert adds under the count row's
//! lock (`ON CONFLICT … DO UPDATE`), so concurrent joins each add theirs.
//! A write that adds or removes a member in one organization has locked
//! the organization's row before (`domain::authz::access::lock_organization`),
//! so the count's row comes second; the one write that ends memberships in
//! several organizations at once (a guest account becoming a full one)
//! deletes them in organization order. Neither adds a deadlock. A membership never
//! moves between organizations, so updates are not watched. A deleted
//! organization's count goes with it (cascade).
//!
//! The counts of the memberships already there are filled in here.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &str = r#"
CREATE FUNCTION orgql_count_members_in() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO organization_member_counts AS counted (organization_id, members)
    SELECT organization_id, COUNT(*) FROM added GROUP BY organization_id
    ORDER BY organization_id
  ON CONFLICT (organization_id) DO UPDATE SET members = counted.members + EXCLUDED.members;
  RETURN NULL;
END
$$;

CREATE FUNCTION orgql_count_members_out() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE organization_member_counts AS counted SET members = counted.members - gone.members
    FROM (SELECT organization_id, COUNT(*) AS members FROM removed GROUP BY organization_id) AS gone
    WHERE counted.organization_id = gone.organization_id;
  RETURN NULL;
END
$$;

CREATE TRIGGER members_counted_in AFTER INSERT ON members
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT
  EXECUTE FUNCTION orgql_count_members_in();
CREATE TRIGGER members_counted_out AFTER DELETE ON members
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
  EXECUTE FUNCTION orgql_count_members_out();
"#;

const POSTGRES_DOWN: &str = r#"
DROP TRIGGER IF EXISTS members_counted_out ON members;
DROP TRIGGER IF EXISTS members_counted_in ON members;
DROP FUNCTION IF EXISTS orgql_count_members_out();
DROP FUNCTION IF EXISTS orgql_count_members_in();
"#;

const SQLITE_UP: &[&str] = &[
    "CREATE TRIGGER members_counted_in AFTER INSERT ON members BEGIN
       INSERT OR IGNORE INTO organization_member_counts (organization_id, members)
         VALUES (NEW.organization_id, 0);
       UPDATE organization_member_counts SET members = members + 1
         WHERE organization_id = NEW.organization_id;
     END",
    "CREATE TRIGGER members_counted_out AFTER DELETE ON members BEGIN
       UPDATE organization_member_counts SET members = members - 1
         WHERE organization_id = OLD.organization_id;
     END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS members_counted_out",
    "DROP TRIGGER IF EXISTS members_counted_in",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("organization_member_counts")
                    .col(uuid("organization_id").primary_key())
                    .col(big_integer("members"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_member_counts_organization")
                            .from("organization_member_counts", "organization_id")
                            .to("organizations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO organization_member_counts (organization_id, members) \
             SELECT organization_id, COUNT(*) FROM members GROUP BY organization_id",
        )
        .await?;
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(POSTGRES_UP).await?;
            }
            _ => {
                for statement in SQLITE_UP {
                    db.execute_unprepared(statement).await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(POSTGRES_DOWN).await?;
            }
            _ => {
                for statement in SQLITE_DOWN {
                    db.execute_unprepared(statement).await?;
                }
            }
        }
        manager
            .drop_table(Table::drop().table("organization_member_counts").to_owned())
            .await?;
        Ok(())
    }
}
