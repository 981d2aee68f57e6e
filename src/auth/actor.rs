//! Who is making a request, and from where.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::permissions::{Permission, Role};

/// Facts about the HTTP request that every audit entry records.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub client_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// What an organization API token may do: its scopes, in its own
/// organization and nowhere else.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub token_id: Uuid,
    pub organization_id: Uuid,
    pub scopes: Vec<Permission>,
}

impl TokenGrant {
    /// The rank a token acts with where rank rules apply: ADMIN when it may
    /// manage members (so it never touches admins or owners, nor makes
    /// one), MEMBER otherwise.
    pub fn acting_role(&self) -> Role {
        if self.scopes.contains(&Permission::MembersManage) {
            Role::Admin
        } else {
            Role::Member
        }
    }
}

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A person's access token, naming a live session.
    Session {
        session_id: Uuid,
        started_at: DateTime<Utc>,
    },
    /// An organization API token.
    ApiToken(TokenGrant),
}

/// An authenticated caller. Resolvers read it from the request's data;
/// domain functions take it as their first argument.
///
/// For an API token, `user_id` is the token's own id, which matches no
/// user and no membership: every lookup keyed by the caller's user finds
/// nothing, and the token's access comes from its grant alone.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Uuid,
    /// The user's email; empty for an API token.
    pub email: String,
    pub credential: Credential,
    pub is_platform_admin: bool,
    /// The `org` claim of the access token.
    pub active_organization_id: Option<Uuid>,
    pub meta: RequestMeta,
}

impl Actor {
    /// The session behind a person's token; none for an API token.
    pub fn session_id(&self) -> Option<Uuid> {
        match &self.credential {
            Credential::Session { session_id, .. } => Some(*session_id),
            Credential::ApiToken(_) => None,
        }
    }

    pub fn api_token(&self) -> Option<&TokenGrant> {
        match &self.credential {
            Credential::ApiToken(grant) => Some(grant),
            Credential::Session { .. } => None,
        }
    }
}
