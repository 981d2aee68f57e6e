//! The HTTP edge: GraphQL over HTTP with the guard rails async-graphql's
//! stock handler lacks. It refuses form and multipart posts (CSRF: a
//! browser sends those cross-site without a preflight), refuses mutations
//! over GET, turns JSON-array batching off unless `ORGQL_MAX_BATCH` allows
//! it, reads the bearer token once, and gives each request its own actor
//! and loaders.

use std::net::SocketAddr;
use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse, Response as GqlResponse, ServerError};
use async_graphql_axum::GraphQLResponse;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use ipnet::IpNet;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::json;

use crate::auth::AuthConfig;
use crate::domain::authz::{Actor, RequestMeta};
use crate::domain::{accounts, api_tokens};
use crate::error::AppError;
use crate::graphql::extensions::{aliases_in, annotate};
use crate::graphql::{AppSchema, loaders::Loaders};
use crate::{forwarded, input_guard};

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub db: DatabaseConnection,
    pub auth: AuthConfig,
    pub max_batch: usize,
    pub max_aliases: usize,
    pub trusted_proxies: Arc<Vec<IpNet>>,
}

/// A plain-JSON refusal for requests that never reach GraphQL.
fn refuse(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT" } }] })),
    )
        .into_response()
}

fn request_meta(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> RequestMeta {
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
/// does not hold a valid, live credential: UNAUTHENTICATED.
async fn authenticate(
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
        return api_tokens::authenticate(
            &state.db,
            &state.auth.token_environment,
            token,
            meta.clone(),
        )
        .await
        .map(Some);
    }
    let claims = state.auth.tokens.verify(token)?;
    accounts::authenticate(&state.db, &state.auth, &claims, meta.clone())
        .await
        .map(Some)
}

fn error_response(err: AppError) -> Response {
    let mut error = ServerError::new(err.to_string(), None);
    err.annotate(&mut error);
    GraphQLResponse::from(GqlResponse::from_errors(vec![error])).into_response()
}

async fn execute(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    batch: BatchRequest,
) -> Response {
    let meta = request_meta(state, peer, headers);
    let actor = match authenticate(state, headers, &meta).await {
        Ok(actor) => actor,
        Err(err) => return error_response(err),
    };
    let viewer = actor.as_ref().and_then(|a| a.user_id());
    let run = |mut request: async_graphql::Request| {
        let refused = input_guard::refuse_nul(&mut request)
            .or_else(|| check_document(&mut request, state.max_aliases));
        let request = Loaders::for_request(&state.db, viewer)
            .attach(request)
            .data(meta.clone());
        let request = match &actor {
            Some(actor) => request.data(actor.clone()),
            None => request,
        };
        async move {
            let mut response = match refused {
                Some(error) => GqlResponse::from_errors(vec![error]),
                None => state.schema.execute(request).await,
            };
            response.errors.iter_mut().for_each(annotate);
            response
        }
    };
    let response = match batch {
        BatchRequest::Single(request) => BatchResponse::Single(run(request).await),
        BatchRequest::Batch(requests) => {
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(run(request).await);
            }
            BatchResponse::Batch(responses)
        }
    };
    GraphQLResponse::from(response).into_response()
}

/// Parses the document once (execution reuses it) and applies the alias
/// limit. A document that does not parse is left to the executor, which
/// reports it.
fn check_document(request: &mut async_graphql::Request, max_aliases: usize) -> Option<ServerError> {
    let document = request.parsed_query().ok()?;
    let aliases = aliases_in(document);
    (aliases > max_aliases).then(|| {
        ServerError::new(
            format!("Too many aliases: {aliases}, at most {max_aliases}"),
            None,
        )
    })
}

/// `POST /graphql`: a JSON body with one operation (or a batch, when
/// enabled).
pub async fn graphql_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" && essence != "application/graphql-response+json" {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send GraphQL requests as Content-Type: application/json",
        );
    }
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("the body is not a GraphQL request: {e}"),
            );
        }
    };
    if let BatchRequest::Batch(requests) = &batch {
        if state.max_batch == 0 {
            return refuse(
                StatusCode::BAD_REQUEST,
                "batched requests are disabled on this server; send one operation per request",
            );
        }
        if requests.len() > state.max_batch || requests.is_empty() {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("a batch holds 1 to {} operations", state.max_batch),
            );
        }
    }
    execute(&state, peer, &headers, batch).await
}

/// `GET /graphql`: the GraphiQL playground for a browser, or a query
/// (never a mutation) in the URL.
pub async fn graphql_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let Some(query) = uri.query().filter(|q| !q.is_empty()) else {
        return Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .title("orgql")
                .finish(),
        )
        .into_response();
    };
    let mut request = match async_graphql::http::parse_query_string(query) {
        Ok(request) => request,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("malformed query string: {e}"),
            );
        }
    };
    if is_mutation(&mut request) {
        return refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "mutations must be sent with POST",
        );
    }
    execute(&state, peer, &headers, BatchRequest::Single(request)).await
}

/// Whether the operation the request would run is a mutation. The parsed
/// document stays on the request for execution. A document that does not
/// parse is left to the executor, which reports it.
fn is_mutation(request: &mut async_graphql::Request) -> bool {
    let wanted = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return false;
    };
    document.operations.iter().any(|(name, op)| {
        let selected = match (&wanted, name) {
            (Some(wanted), Some(name)) => wanted == name.as_str(),
            _ => true,
        };
        selected && op.node.ty == OperationType::Mutation
    })
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
