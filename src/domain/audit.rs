//! The audit trail: every mutation writes one entry in its own transaction,
//! so there is no change without its entry and no entry without its change.

use chrono::Utc;
use entity::{audit_entry, values::ActorKind};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::{Actor, RequestMeta};
use crate::domain::ids::new_id;
use crate::error::AppResult;

/// Who an entry names as the actor.
#[derive(Debug, Clone)]
pub struct AuditActor {
    pub kind: ActorKind,
    pub id: Option<Uuid>,
    pub email: Option<String>,
}

impl AuditActor {
    /// The caller: a person, or an API token (kind API_TOKEN, the token's
    /// id, no email).
    pub fn user(actor: &Actor) -> Self {
        match actor.api_token() {
            Some(grant) => Self {
                kind: ActorKind::ApiToken,
                id: Some(grant.token_id),
                email: None,
            },
            None => Self {
                kind: ActorKind::User,
                id: Some(actor.user_id),
                email: Some(actor.email.clone()),
            },
        }
    }

    /// A platform administrator acting outside their own memberships.
    pub fn platform_admin(actor: &Actor) -> Self {
        Self {
            kind: ActorKind::PlatformAdmin,
            ..Self::user(actor)
        }
    }

    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
            email: None,
        }
    }
}

/// What happened, to what, in which organization.
#[derive(Debug, Clone)]
pub struct Change {
    /// Dotted, past tense: `member.role_updated`.
    pub action: &'static str,
    pub resource_type: &'static str,
    pub resource_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    /// Before/after values and other detail; never a secret.
    pub metadata: Value,
}

/// Writes one entry inside the caller's transaction.
pub async fn record<C: ConnectionTrait>(
    txn: &C,
    who: AuditActor,
    meta: &RequestMeta,
    change: Change,
) -> AppResult<()> {
    audit_entry::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(change.organization_id),
        actor_kind: Set(who.kind),
        actor_id: Set(who.id),
        actor_email: Set(who.email),
        action: Set(change.action.to_owned()),
        resource_type: Set(change.resource_type.to_owned()),
        resource_id: Set(change.resource_id),
        metadata: Set(change.metadata),
        ip_address: Set(meta.client_ip.map(|ip| ip.to_string())),
        user_agent: Set(meta.user_agent.clone()),
        request_id: Set(meta.request_id.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(txn)
    .await?;
    Ok(())
}
