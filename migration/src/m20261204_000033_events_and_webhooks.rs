//! Events and webhooks (issue #24).
//!
//! - `events`: the audit entries a product may hear about, in the public
//!   shape (`event_type`, `data`), kept beside the audit trail (same id)
//!   so that each has its own retention. `sequence` numbers an
//!   organization's events in commit order: it is the cursor a consumer
//!   catches up from.
//!   `subject_user_id` and `subject_email` name the person an event is
//!   about (a member's account, an invitation's address), for
//!   `viewerEvents`.
//! - On PostgreSQL, a trigger notifies the channel `orgql_events` with the
//!   organization's id for every event, at its commit, so every instance's
//!   subscriptions hear of it (SQLite's are told in-process).
//! - `event_sequences`: the last sequence number given per organization.
//!   Taking the next one updates this row, which holds its lock until the
//!   commit, so an organization's events commit in sequence order and a
//!   reader that saw number n never misses an event below it.
//! - `webhook_endpoints`: where an organization's events are posted, with
//!   the signing secret sealed at rest.
//! - `webhook_deliveries`: the outbox, one row per (endpoint, event),
//!   written in the event's transaction; `claimed_until` keeps an attempt
//!   to one sender at a time across instances.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

/// Every event tells the instances' listeners which organization has news;
/// a notice is delivered at the commit, and not at all on a rollback.
const NOTIFY_EVENTS: &str = r#"
CREATE FUNCTION orgql_notify_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('orgql_events', NEW.organization_id::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER events_committed AFTER INSERT ON events FOR EACH ROW
  EXECUTE FUNCTION orgql_notify_event();
"#;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn cascade(
    name: &str,
    from: (&'static str, &'static str),
    to: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(
    name: &str,
    table: &'static str,
    columns: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(*column);
    }
    if unique {
        index.unique();
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("event_sequences")
                    .col(uuid("organization_id").primary_key())
                    .col(big_integer("last_sequence"))
                    .foreign_key(&mut cascade(
                        "fk_event_sequences_organization",
                        ("event_sequences", "organization_id"),
                        "organizations",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("events")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(big_integer("sequence"))
                    .col(string_len("event_type", 64))
                    .col(string_len("actor_kind", 16))
                    .col(uuid_null("actor_id"))
                    .col(string_len_null("actor_email", 320))
                    .col(uuid_null("subject_user_id"))
                    .col(string_len_null("subject_email", 320))
                    .col(json("data"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .foreign_key(&mut cascade(
                        "fk_events_organization",
                        ("events", "organization_id"),
                        "organizations",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_events_organization_sequence",
                "events",
                &["organization_id", "sequence"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_events_organization_type_sequence",
                "events",
                &["organization_id", "event_type", "sequence"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_events_subject_user",
                "events",
                &["subject_user_id"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_events_subject_email",
                "events",
                &["subject_email"],
                false,
            ))
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(NOTIFY_EVENTS)
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("webhook_endpoints")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("url", 2048))
                    .col(string_len("description", 500))
                    .col(json("event_types"))
                    .col(text("secret_sealed"))
                    .col(boolean("enabled"))
                    .col(string_len_null("disabled_reason", 200))
                    .col(timestamp_with_time_zone_null("failing_since"))
                    .col(uuid_null("created_by_user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut cascade(
                        "fk_webhook_endpoints_organization",
                        ("webhook_endpoints", "organization_id"),
                        "organizations",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_webhook_endpoints_organization",
                "webhook_endpoints",
                &["organization_id"],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_deliveries")
                    .col(uuid("id").primary_key())
                    .col(uuid("endpoint_id"))
                    .col(uuid("event_id"))
                    .col(uuid("organization_id"))
                    .col(string_len("status", 16))
                    .col(integer("attempts"))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(timestamp_with_time_zone_null("claimed_until"))
                    .col(timestamp_with_time_zone_null("last_attempt_at"))
                    .col(integer_null("last_response_status"))
                    .col(text_null("last_response_body"))
                    .col(integer_null("last_duration_ms"))
                    .col(string_len_null("last_error", 500))
                    .col(timestamp_with_time_zone_null("delivered_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut cascade(
                        "fk_webhook_deliveries_endpoint",
                        ("webhook_deliveries", "endpoint_id"),
                        "webhook_endpoints",
                    ))
                    .foreign_key(&mut cascade(
                        "fk_webhook_deliveries_event",
                        ("webhook_deliveries", "event_id"),
                        "events",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_webhook_deliveries_endpoint_event",
                "webhook_deliveries",
                &["endpoint_id", "event_id"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_webhook_deliveries_due",
                "webhook_deliveries",
                &["status", "next_attempt_at"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_webhook_deliveries_event",
                "webhook_deliveries",
                &["event_id"],
                false,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "DROP TRIGGER IF EXISTS events_committed ON events; \
                     DROP FUNCTION IF EXISTS orgql_notify_event();",
                )
                .await?;
        }
        for table in [
            "webhook_deliveries",
            "webhook_endpoints",
            "events",
            "event_sequences",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
