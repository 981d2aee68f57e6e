//! The HTTP edge: GraphQL over HTTP ([`graphql`]), the playground,
//! persisted queries, `/metrics`, the health probes, and what every route
//! shares: the client's address, the bearer credential, and JSON bodies on
//! every refusal ([`refusal`]).

pub mod graphql;
pub mod media;
pub mod metrics;
pub mod persisted;
pub mod playground;
pub mod refusal;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::auth::{Actor, AuthConfig, RequestMeta};
use crate::domain::{accounts, api_tokens};
use crate::error::AppError;
use crate::graphql::AppSchema;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub db: DatabaseConnection,
    pub auth: AuthConfig,
    pub graphql: Arc<graphql::Settings>,
    pub persisted: Arc<persisted::PersistedQueries>,
    pub metrics: Arc<metrics::Metrics>,
    pub trusted_proxies: Arc<Vec<IpNet>>,
}

/// The client's address: the socket peer, or, when the peer is a trusted
/// proxy, the nearest address in X-Forwarded-For that is not itself a
/// trusted proxy (RFC 7239 §5.2: the rightmost untrusted hop).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

pub(crate) fn request_meta(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> RequestMeta {
    RequestMeta {
        client_ip: Some(client_ip(peer.ip(), headers, &state.trusted_proxies)),
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
/// does not hold a valid, live credential: UNAUTHENTICATED.
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    meta: &RequestMeta,
) -> Result<Option<Actor>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(AppError::Unauthenticated)?;
    let token = token.trim();
    if api_tokens::looks_like_token(token) {
        return api_tokens::authenticate(&state.db, token, meta.clone())
            .await
            .map(Some);
    }
    let claims = state.auth.tokens.verify(token)?;
    accounts::authenticate(&state.db, &claims, meta.clone())
        .await
        .map(Some)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", xff.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_ip(peer, &headers("198.51.100.1"), &[]), peer);
    }

    #[test]
    fn a_trusted_proxy_passes_on_the_rightmost_untrusted_hop() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let ip = client_ip(peer, &headers("1.1.1.1, 198.51.100.7, 10.0.0.3"), &proxies);
        assert_eq!(ip, "198.51.100.7".parse::<IpAddr>().unwrap());
    }
}
