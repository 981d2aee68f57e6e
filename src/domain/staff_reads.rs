//! Platform administrators' reads inside organizations they do not belong
//! to are audited, as their writes are (DESIGN §3, issue #28): who, what,
//! when. The edge notes each organization and what was read there while
//! the request runs ([`StaffReads`]); when it ends, [`record`] writes one
//! entry per organization, in one transaction, whatever the number of
//! fields: never a statement per field.
//!
//! "Inside" means what a permission guards (members, teams, the policy, the
//! audit log, …). The organization's card (name, slug, tier, status), which
//! platform administration lists for every organization, is not a read
//! inside it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use entity::values::ActorKind;
use sea_orm::DatabaseConnection;
use serde_json::json;
use uuid::Uuid;

use crate::domain::audit::{AuditAction, AuditActor, Entry};
use crate::domain::authz::{Actor, Permission};
use crate::domain::write::Write;
use crate::error::AppResult;

/// Whether a read by `actor` in an organization where they hold
/// `membership` is one to audit: a platform administrator's, where they
/// are no member.
pub fn is_audited(actor: &Actor, membership: Option<&entity::member::Model>) -> bool {
    membership.is_none() && actor.is_platform_admin()
}

/// What one request read, per organization, as a platform administrator
/// who is not a member there.
#[derive(Debug, Default)]
pub struct StaffReads(Mutex<BTreeMap<Uuid, BTreeSet<Permission>>>);

impl StaffReads {
    /// Notes that `permission` was exercised in `organization_id`.
    pub fn note(&self, organization_id: Uuid, permission: Permission) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(organization_id)
            .or_default()
            .insert(permission);
    }

    fn take(&self) -> BTreeMap<Uuid, BTreeSet<Permission>> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Writes one `organization.read_by_platform_admin` entry per organization
/// `reads` noted, in that organization's trail, naming the actor as
/// PLATFORM_ADMIN and the operation (`operation`, when it has a name).
/// Nothing is written when nothing was read.
pub async fn record(
    db: &DatabaseConnection,
    actor: &Actor,
    operation: Option<&str>,
    reads: &StaffReads,
) -> AppResult<()> {
    let reads = reads.take();
    if reads.is_empty() {
        return Ok(());
    }
    let entries = reads
        .into_iter()
        .map(|(organization_id, permissions)| {
            let permissions: Vec<&str> = permissions.into_iter().map(Permission::as_str).collect();
            Entry::new(
                AuditAction::OrganizationReadByPlatformAdmin,
                organization_id,
                json!({ "operation": operation, "permissions": permissions }),
            )
            .in_organization(organization_id)
        })
        .collect();
    let who = AuditActor {
        kind: ActorKind::PlatformAdmin,
        ..AuditActor::of(actor)
    };
    Write::begin(db)
        .await?
        .attributed_to(who, &actor.meta)
        .commit_all(entries)
        .await
}
