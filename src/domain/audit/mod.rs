//! The audit trail: every change writes exactly one entry in its own
//! transaction (through `domain::write`), so there is no change without its
//! entry and no entry without its change.

pub mod action;
pub mod counts;
pub mod retention;

use chrono::{DateTime, Utc};
use entity::{audit_entry, values::ActorKind};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait};
use serde_json::Value;
use uuid::Uuid;

pub use action::AuditAction;
pub use retention::purge;

use crate::domain::authz::{Actor, Principal, RequestMeta};
use crate::domain::ids::{IdKind, new_id};
use crate::error::AppResult;

/// Who an entry names as the actor.
#[derive(Debug, Clone)]
pub struct AuditActor {
    pub kind: ActorKind,
    pub id: Option<Uuid>,
    pub email: Option<String>,
}

impl AuditActor {
    /// The caller: a person (kind USER, their id and email), or an API
    /// token (kind API_TOKEN, the token's id, no email).
    pub fn of(actor: &Actor) -> Self {
        match &actor.principal {
            Principal::ApiToken(grant) => Self {
                kind: ActorKind::ApiToken,
                id: Some(grant.token_id),
                email: None,
            },
            Principal::Directory(grant) => Self {
                kind: ActorKind::Directory,
                id: Some(grant.directory_id),
                email: None,
            },
            Principal::Person(person) => Self {
                kind: ActorKind::User,
                id: Some(person.user_id),
                email: Some(person.email.clone()),
            },
        }
    }

    /// A person acting on their own account before they hold a session
    /// (signing up, logging in).
    pub fn account(user: &entity::user::Model) -> Self {
        Self {
            kind: ActorKind::User,
            id: Some(user.id),
            email: Some(user.email.clone()),
        }
    }

    /// The server itself (reuse detection, the CLI).
    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
            email: None,
        }
    }
}

/// The kind of public id an actor of `kind` has: a token's, a
/// directory's, else a person's.
pub fn actor_id_kind(kind: ActorKind) -> IdKind {
    match kind {
        ActorKind::ApiToken => IdKind::ApiToken,
        ActorKind::Directory => IdKind::ScimDirectory,
        _ => IdKind::User,
    }
}

/// What an audit entry records about a change: the action, the object it
/// touched, and before/after values (never a secret).
#[derive(Debug, Clone)]
pub struct Entry {
    pub action: AuditAction,
    pub resource_id: Option<Uuid>,
    pub metadata: Value,
    trail: Trail,
}

/// Whose trail an entry joins.
#[derive(Debug, Clone, Copy)]
enum Trail {
    /// The write's own: its organization's, or none for a change to an
    /// account.
    OfTheWrite,
    /// A named organization's.
    Organization(Uuid),
    /// No organization's.
    Outside,
}

impl Entry {
    pub fn new(action: AuditAction, resource_id: Uuid, metadata: Value) -> Self {
        Self {
            action,
            resource_id: Some(resource_id),
            metadata,
            trail: Trail::OfTheWrite,
        }
    }

    /// Kept in `organization_id`'s trail: a change to an account that
    /// began or ended something there (a sign-in into it, a guest's
    /// membership that ended).
    pub fn in_organization(self, organization_id: Uuid) -> Self {
        Self {
            trail: Trail::Organization(organization_id),
            ..self
        }
    }

    /// Kept in no organization's trail: the deletion of an organization,
    /// whose own trail goes with it.
    pub fn outside_organizations(self) -> Self {
        Self {
            trail: Trail::Outside,
            ..self
        }
    }

    /// The organization whose trail the entry joins, for a write in
    /// `write_organization` (none for a change to an account).
    pub(crate) fn organization(&self, write_organization: Option<Uuid>) -> Option<Uuid> {
        match self.trail {
            Trail::OfTheWrite => write_organization,
            Trail::Organization(id) => Some(id),
            Trail::Outside => None,
        }
    }
}

/// An entry as written: its id, trail and time, which its event shares.
pub(crate) struct Recorded {
    pub id: Uuid,
    pub organization_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// Writes one entry inside the caller's transaction, in the trail the
/// entry names (`write_organization` is the write's own). Only
/// `domain::write` calls this, right before it commits.
pub(crate) async fn record<C: ConnectionTrait>(
    txn: &C,
    who: &AuditActor,
    meta: &RequestMeta,
    write_organization: Option<Uuid>,
    entry: &Entry,
) -> AppResult<Recorded> {
    let recorded = Recorded {
        id: new_id(),
        organization_id: entry.organization(write_organization),
        at: Utc::now(),
    };
    audit_entry::ActiveModel {
        id: Set(recorded.id),
        organization_id: Set(recorded.organization_id),
        actor_kind: Set(who.kind),
        actor_id: Set(who.id),
        actor_email: Set(who.email.clone()),
        action: Set(entry.action.as_str().to_owned()),
        resource_type: Set(entry.action.resource_type().to_owned()),
        resource_id: Set(entry.resource_id),
        metadata: Set(entry.metadata.clone()),
        ip_address: Set(meta.client_ip.map(|ip| ip.to_string())),
        user_agent: Set(meta.user_agent.clone()),
        request_id: Set(meta.request_id.clone()),
        created_at: Set(recorded.at),
    }
    .insert(txn)
    .await?;
    Ok(recorded)
}
