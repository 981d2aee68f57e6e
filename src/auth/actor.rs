//! Who is making a request, and from where.

use std::net::IpAddr;

use uuid::Uuid;

/// Facts about the HTTP request that every audit entry records.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub client_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// An authenticated user, as established by the bearer access token and its
/// live session. Resolvers read it from the request's data; domain functions
/// take it as their first argument.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Uuid,
    pub email: String,
    pub session_id: Uuid,
    pub is_platform_admin: bool,
    /// The `org` claim of the access token.
    pub active_organization_id: Option<Uuid>,
    pub meta: RequestMeta,
}
