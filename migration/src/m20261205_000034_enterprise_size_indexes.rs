//! Indexes that keep a page's cost, and its count's, flat at enterprise
//! size (issue #26: 100,000 members, 1,000,000 audit entries):
//!
//! - members by (organization, role, id): a role-filtered page is one range
//!   in page order, and its `totalCount` an index-only scan;
//! - members by (user, id), in place of (user): a person's memberships are
//!   paged like any list, oldest first;
//! - audit entries by (organization, id, created_at), in place of
//!   (organization, id), and by (organization, action, …) and
//!   (organization, actor, …): a page, filtered by action or actor or not,
//!   is one range newest first, and the count within the tier's retention
//!   reads the index alone (the retention bound is on `created_at`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (index, table, columns)
const CREATED: &[(&str, &str, &[&str])] = &[
    (
        "ix_members_organization_role_page",
        "members",
        &["organization_id", "role", "id"],
    ),
    ("ix_members_user_page", "members", &["user_id", "id"]),
    (
        "ix_audit_entries_organization_page",
        "audit_entries",
        &["organization_id", "id", "created_at"],
    ),
    (
        "ix_audit_entries_organization_action",
        "audit_entries",
        &["organization_id", "action", "id", "created_at"],
    ),
    (
        "ix_audit_entries_organization_actor",
        "audit_entries",
        &["organization_id", "actor_id", "id", "created_at"],
    ),
];

/// (index, table, columns) that the ones above replace.
const REPLACED: &[(&str, &str, &[&str])] = &[
    ("ix_members_user", "members", &["user_id"]),
    (
        "ix_audit_entries_org_id",
        "audit_entries",
        &["organization_id", "id"],
    ),
];

fn create(name: &str, table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(*column);
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, columns) in CREATED {
            manager.create_index(create(name, table, columns)).await?;
        }
        for (name, table, _) in REPLACED {
            manager
                .drop_index(Index::drop().name(*name).table(*table).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, columns) in REPLACED {
            manager.create_index(create(name, table, columns)).await?;
        }
        for (name, table, _) in CREATED {
            manager
                .drop_index(Index::drop().name(*name).table(*table).to_owned())
                .await?;
        }
        Ok(())
    }
}
