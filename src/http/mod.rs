//! The HTTP edge: GraphQL over HTTP ([`graphql`]), the playground,
//! persisted queries, `/metrics`, the health probes, graceful shutdown
//! ([`drain`]), and what every route
//! shares: the client's address, the bearer credential, and JSON bodies on
//! every refusal ([`refusal`]).

pub mod console;
pub mod drain;
pub mod forwarded;
pub mod graphql;
pub mod input_guard;
pub mod media;
pub mod metrics;
pub mod persisted;
pub mod playground;
pub mod refusal;
pub mod scim;
pub mod sso;
pub mod subscriptions;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::auth::AuthConfig;
use crate::domain::authz::{Actor, RequestMeta};
use crate::domain::{api_tokens, sessions};
use crate::error::AppError;
use crate::graphql::AppSchema;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub db: DatabaseConnection,
    /// Shared, not copied: axum clones the state for every request, about
    /// ten times, and the token issuer's validation holds sets of strings.
    pub auth: Arc<AuthConfig>,
    pub graphql: Arc<graphql::Settings>,
    pub persisted: Arc<persisted::PersistedQueries>,
    pub metrics: Arc<metrics::Metrics>,
    pub trusted_proxies: Arc<Vec<IpNet>>,
    /// Sessions kept between requests (PostgreSQL with
    /// `ORGQL_SESSION_CACHE`).
    pub sessions: Option<Arc<sessions::SessionCache>>,
    /// Single sign-on's settings and its shared IdP client and cache.
    pub sso: Arc<crate::domain::sso::SsoSettings>,
    /// Directory sync's settings and per-directory rate limit.
    pub scim: Arc<scim::Settings>,
    /// Subscriptions' event bus and socket limits.
    pub subscriptions: Arc<subscriptions::Subscriptions>,
    /// Cancelled when shutdown begins: open WebSockets close (1001).
    pub closing: tokio_util::sync::CancellationToken,
}

pub(crate) fn request_meta(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> RequestMeta {
    RequestMeta {
        client_ip: forwarded::client_ip(peer.ip(), headers, &state.trusted_proxies),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(512).collect()),
        request_id: headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(64).collect()),
    }
}

/// Resolves the `Authorization: Bearer` header: an access JWT or an
/// organization API token (`orgql_…`). No header: anonymous. A header that
/// does not hold a valid, live credential: UNAUTHENTICATED. A request that
/// only reads may be authenticated from the session cache; one that writes
/// always reads its session from the database.
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    meta: &RequestMeta,
    reads_only: bool,
) -> Result<Option<Actor>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(AppError::Unauthenticated)?;
    authenticate_token(state, token.trim(), meta, reads_only)
        .await
        .map(Some)
}

/// Resolves a bearer credential (an access JWT or an API token), from a
/// header or a WebSocket's `connection_init`.
pub(crate) async fn authenticate_token(
    state: &AppState,
    token: &str,
    meta: &RequestMeta,
    reads_only: bool,
) -> Result<Actor, AppError> {
    if api_tokens::looks_like_token(token) {
        return api_tokens::authenticate(
            &state.db,
            &state.auth.token_environment,
            token,
            meta.clone(),
        )
        .await;
    }
    let claims = state.auth.tokens.verify(token)?;
    sessions::authenticate(
        &state.db,
        &state.auth,
        &claims,
        meta.clone(),
        state.sessions.as_deref().filter(|_| reads_only),
    )
    .await
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.execute_unprepared("SELECT 1").await {
        Ok(_) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}
