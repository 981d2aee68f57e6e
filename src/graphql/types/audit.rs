use async_graphql::{Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::audit_entry;

use crate::domain::audit::AuditAction;
use crate::domain::ids::{self, IdKind};

/// Who performed an audited action.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::values::ActorKind")]
pub enum ActorKind {
    /// A person, acting as a member.
    User,
    /// An organization API token.
    ApiToken,
    /// A platform administrator acting outside their memberships.
    PlatformAdmin,
    /// The server itself (retention, reuse detection, the CLI).
    System,
    /// A SCIM directory provisioning the organization (`dir_` id).
    Directory,
}

/// The actor of an audit entry, as recorded at the time: the email stays
/// after the account is gone.
#[derive(SimpleObject)]
pub struct AuditActor {
    /// `usr_` id for people, `tok_` id for API tokens, `dir_` id for SCIM
    /// directories; null for SYSTEM.
    pub id: Option<ID>,
    /// The person's email then; null for tokens and SYSTEM.
    pub email: Option<String>,
    /// Which kind of actor.
    pub kind: ActorKind,
}

/// Narrows `Organization.auditLog`.
#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Only these actions.
    pub actions: Option<Vec<AuditAction>>,
    /// Only entries by this actor (`usr_` or `tok_` id).
    pub actor_id: Option<ID>,
    /// Only entries about this kind of resource, such as `member`.
    pub resource_type: Option<String>,
    /// Only entries about this resource (its id).
    pub resource_id: Option<ID>,
    /// Only entries at or after this moment.
    pub since: Option<DateTime<Utc>>,
    /// Only entries before this moment.
    pub until: Option<DateTime<Utc>>,
}

/// One recorded change. Entries are immutable.
pub struct AuditEntry(pub audit_entry::Model);

/// One recorded change. Entries are immutable.
#[Object]
impl AuditEntry {
    /// Opaque id, prefixed `aud_`.
    pub async fn id(&self) -> ID {
        ID(ids::encode(IdKind::AuditEntry, self.0.id))
    }

    /// What happened.
    async fn action(&self) -> async_graphql::Result<AuditAction> {
        self.0.action.parse().map_err(|_| {
            crate::error::AppError::internal(format!("unknown audit action {:?}", self.0.action))
                .into()
        })
    }

    /// Who did it.
    async fn actor(&self) -> AuditActor {
        let kind = crate::domain::audit::actor_id_kind(self.0.actor_kind);
        AuditActor {
            id: self.0.actor_id.map(|id| ID(ids::encode(kind, id))),
            email: self.0.actor_email.clone(),
            kind: self.0.actor_kind.into(),
        }
    }

    /// The kind of thing changed: `organization`, `member`, `team`, …
    async fn resource_type(&self) -> &str {
        &self.0.resource_type
    }

    /// The changed thing's id (prefixed like its type's ids).
    async fn resource_id(&self) -> Option<ID> {
        let kind = self
            .0
            .action
            .parse::<crate::domain::audit::AuditAction>()
            .ok()?
            .resource_kind()?;
        self.0.resource_id.map(|id| ID(ids::encode(kind, id)))
    }

    /// Detail: before and after values and the like; never a secret.
    async fn metadata(&self) -> Json<serde_json::Value> {
        Json(self.0.metadata.clone())
    }

    /// The client address of the request.
    async fn ip_address(&self) -> Option<&str> {
        self.0.ip_address.as_deref()
    }

    /// The client's User-Agent.
    async fn user_agent(&self) -> Option<&str> {
        self.0.user_agent.as_deref()
    }

    /// The request's `x-request-id`, to find it in the server's logs.
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }

    /// When it happened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
