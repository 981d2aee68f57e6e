//! GraphQL over HTTP, as the spec's draft says it
//! (<https://graphql.github.io/graphql-over-http/draft/>), with the guard
//! rails a public endpoint needs.
//!
//! - Media types: a client that accepts `application/graphql-response+json`
//!   gets it; `application/json`, `*/*` or no `Accept` get
//!   `application/json`. With the former a request error (the document does
//!   not parse or validate, the variables do not fit) answers 400, with the
//!   latter 200, and a request error never has a `data` entry.
//! - Only JSON bodies are accepted: form and multipart posts are refused
//!   (CSRF: a browser sends those cross-site without a preflight).
//! - GET runs queries, never mutations (405 with `Allow: POST`), and can
//!   be turned off (`ORGQL_GET_QUERIES=false`).
//! - JSON-array batching is off unless `ORGQL_MAX_BATCH` allows it.
//! - The bearer credential is checked for each operation, when its turn
//!   comes (a batch's operations run in order): a `logOut` early in a
//!   batch ends the session for the operations after it (issue #22, L9).
//!   Each operation gets its own actor and loaders.
//!
//! (Long because GET and POST share one pipeline: media types, persisted
//! documents, limits, execution, metrics; it reads best in one place.)

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response as GqlResponse, ServerError, Value, Variables};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use super::media::{MediaType, negotiate};
use super::metrics::Outcome;
use super::refusal::refuse;
use super::{AppState, authenticate, playground, request_meta};
use crate::domain::authz::{Actor, RequestMeta};
use crate::domain::staff_reads::{self, StaffReads};
use crate::error::ErrorCode;
use crate::graphql::extensions::{
    self, Limits, ParsedDocuments, Selected, annotate, is_request_error,
};
use crate::graphql::guards::PassedGuards;
use crate::graphql::loaders::Loaders;

/// How the GraphQL endpoint behaves.
pub struct Settings {
    /// Most operations in one JSON-array batch; 0 turns batching off.
    pub max_batch: usize,
    pub limits: Limits,
    /// Whether GET runs queries.
    pub get_queries: bool,
    /// Whether GET serves the playground to a browser.
    pub playground: bool,
    /// Documents parsed before, by their text.
    pub parsed: ParsedDocuments,
}

/// The request parameters (spec §Request Parameters). Each may be absent
/// or null; a value of the wrong JSON type is a 400.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Params {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<Map<String, serde_json::Value>>,
    extensions: Option<Map<String, serde_json::Value>>,
}

/// The parameters of a GET: `variables` and `extensions` are JSON text.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

impl GetParams {
    fn into_params(self) -> Result<Params, String> {
        let object = |text: Option<String>, name: &str| {
            text.filter(|t| !t.is_empty())
                .map(|t| serde_json::from_str::<Map<_, _>>(&t))
                .transpose()
                .map_err(|e| format!("{name} must be a JSON object: {e}"))
        };
        Ok(Params {
            variables: object(self.variables, "variables")?,
            extensions: object(self.extensions, "extensions")?,
            query: self.query,
            operation_name: self.operation_name,
        })
    }
}

/// One operation's answer.
struct Answer {
    response: GqlResponse,
    /// False for a request error: refused before execution began.
    executed: bool,
    /// The operation's name in its document, when it parsed.
    operation: Option<String>,
}

impl Answer {
    fn refused(error: ServerError) -> Self {
        Self {
            response: GqlResponse::from_errors(vec![error]),
            executed: false,
            operation: None,
        }
    }
}

/// The body of one answer. A request error has no `data` entry (spec
/// §Response: "the `data` entry ... MUST NOT be present").
#[derive(Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, Value>,
}

impl<'a> From<&'a Answer> for Body<'a> {
    fn from(answer: &'a Answer) -> Self {
        Body {
            data: answer.executed.then_some(&answer.response.data),
            errors: &answer.response.errors,
            extensions: &answer.response.extensions,
        }
    }
}

fn json_response<T: Serialize>(status: StatusCode, media: MediaType, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(header::CONTENT_TYPE, media.content_type())],
            bytes,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode a GraphQL response");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "internal error",
            )
        }
    }
}

/// The HTTP status of one answer (spec §application/graphql-response+json;
/// with application/json every well-formed request answers 200).
fn status_of(answer: &Answer, media: MediaType) -> StatusCode {
    let carries = |wanted: ErrorCode| {
        answer.response.errors.iter().any(|e| {
            e.extensions
                .as_ref()
                .and_then(|ext| ext.get("code"))
                .is_some_and(|code| *code == Value::from(wanted.as_str()))
        })
    };
    // Nothing ran for want of the database (the caller's credential could
    // not be checked): 503, whatever the media type, so clients and proxies
    // retry (`refusal::json_bodies` adds Retry-After).
    if !answer.executed && carries(ErrorCode::Unavailable) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    if answer.executed || media == MediaType::Json {
        return StatusCode::OK;
    }
    if carries(ErrorCode::Unauthenticated) {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    }
}

fn single_response(answer: Answer, media: MediaType) -> Response {
    let mut response = json_response(status_of(&answer, media), media, &Body::from(&answer));
    if answer.executed {
        response.headers_mut().extend(answer.response.http_headers);
    }
    response
}

/// Who runs one operation: the request's metadata and the actor its
/// credential resolved to when the operation's turn came.
struct Caller {
    meta: RequestMeta,
    actor: Option<Actor>,
}

/// Whether every operation of a request only reads: such a request may be
/// authenticated from the session cache, a write never is.
fn reads_only<'a>(mut operations: impl Iterator<Item = &'a Result<Prepared, ServerError>>) -> bool {
    operations.all(|op| matches!(op, Ok((_, selected)) if selected.ty == OperationType::Query))
}

type Prepared = (Request, Selected);

impl AppState {
    async fn caller(
        &self,
        peer: SocketAddr,
        headers: &HeaderMap,
        reads_only: bool,
    ) -> Result<Caller, ServerError> {
        let meta = request_meta(self, peer, headers);
        let actor = authenticate(self, headers, &meta, reads_only)
            .await
            .map_err(|err| {
                let mut error = ServerError::new(err.to_string(), None);
                err.annotate(&mut error);
                error
            })?;
        Ok(Caller { meta, actor })
    }

    /// Resolves the document (persisted queries), parses it and applies
    /// the limits.
    fn prepare(&self, params: Params) -> Result<Prepared, ServerError> {
        let document = self
            .persisted
            .document(params.query, params.extensions.as_ref())?;
        let mut request = Request::new(document);
        request.operation_name = params.operation_name;
        if let Some(variables) = params.variables {
            request.variables = Variables::from_json(serde_json::Value::Object(variables));
        }
        let selected =
            extensions::prepare(&mut request, self.graphql.limits, &self.graphql.parsed)?;
        // After `prepare`, which leaves the document on the request (from
        // the cache of parsed documents when it is there): checked before,
        // every request was parsed once more, uncached, for this alone.
        if let Some(refused) = super::input_guard::refuse_nul(&mut request) {
            return Err(refused);
        }
        Ok((request, selected))
    }

    /// Executes a prepared operation as the caller.
    async fn execute(
        &self,
        caller: &Caller,
        request: Request,
        operation: Option<String>,
    ) -> Answer {
        let viewer = caller.actor.as_ref().and_then(|a| a.user_id());
        let mut request = Loaders::for_request(&self.db, viewer)
            .attach(request)
            .data(PassedGuards::default())
            .data(caller.meta.clone());
        // Only a platform administrator's request collects reads to audit.
        let staff = caller
            .actor
            .as_ref()
            .filter(|a| a.is_platform_admin())
            .map(|actor| (actor, Arc::new(StaffReads::default())));
        if let Some(actor) = &caller.actor {
            request = request.data(actor.clone());
        }
        if let Some((_, reads)) = &staff {
            request = request.data(reads.clone());
        }
        let mut response = self.schema.execute(request).await;
        // A platform administrator's reads inside organizations they do not
        // belong to are audited; an answer whose reads could not be is not
        // given (fail closed).
        if let Some((actor, reads)) = staff
            && let Err(error) =
                staff_reads::record(&self.db, actor, operation.as_deref(), &reads).await
        {
            let mut refused =
                async_graphql::Error::from(error).into_server_error(Default::default());
            refused.locations.clear();
            response = GqlResponse::from_errors(vec![refused]);
        }
        // A response with errors and no data, all raised before execution,
        // is async-graphql's request error (validation, variables).
        let executed = !(response.data == Value::Null
            && !response.errors.is_empty()
            && response.errors.iter().all(is_request_error));
        response.errors.iter_mut().for_each(annotate);
        Answer {
            response,
            executed,
            operation,
        }
    }

    /// Runs one prepared operation of a POST.
    async fn answer(
        &self,
        caller: &Result<Caller, ServerError>,
        prepared: Result<Prepared, ServerError>,
        started: Instant,
    ) -> Answer {
        let answer = match (caller, prepared) {
            (Err(error), _) => Answer::refused(error.clone()),
            (_, Err(error)) => Answer::refused(error),
            (Ok(caller), Ok((request, selected))) => {
                let wrote = selected.ty == OperationType::Mutation;
                let label = self.metrics.label(&selected);
                let answer = self.execute(caller, request, Some(label)).await;
                if wrote && let Some(sessions) = &self.sessions {
                    // Whatever the write revoked, this instance's next
                    // request reads afresh: exact here at once, elsewhere
                    // once PostgreSQL's notice arrives.
                    sessions.forget_everything();
                }
                answer
            }
        };
        self.record(&answer, started);
        answer
    }

    fn record(&self, answer: &Answer, started: Instant) {
        let outcome = match (answer.executed, answer.response.errors.is_empty()) {
            (false, _) => Outcome::rejected,
            (true, true) => Outcome::ok,
            (true, false) => Outcome::error,
        };
        let codes = answer.response.errors.iter().filter_map(|e| {
            match e.extensions.as_ref().and_then(|ext| ext.get("code")) {
                Some(Value::String(code)) => Some(code.as_str()),
                _ => None,
            }
        });
        self.metrics.observe(
            answer.operation.as_deref(),
            outcome,
            started.elapsed(),
            codes,
        );
    }
}

/// `POST /graphql`: a JSON body with one operation (or a batch, when
/// enabled).
pub async fn graphql_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadUserInput,
            "send GraphQL requests as Content-Type: application/json",
        );
    }
    let is_batch = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let bad_body = |e: serde_json::Error| {
        refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            &format!("the body is not a GraphQL request: {e}"),
        )
    };
    if !is_batch {
        let params: Params = match serde_json::from_slice(&body) {
            Ok(params) => params,
            Err(e) => return bad_body(e),
        };
        if params.query.is_none() && params.extensions.is_none() {
            return refuse(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadUserInput,
                "the request has no query: send one as the `query` parameter",
            );
        }
        let started = Instant::now();
        let prepared = state.prepare(params);
        let caller = state
            .caller(peer, &headers, reads_only(std::iter::once(&prepared)))
            .await;
        return single_response(state.answer(&caller, prepared, started).await, media);
    }
    if state.graphql.max_batch == 0 {
        return refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            "batched requests are disabled on this server; send one operation per request",
        );
    }
    let batch: Vec<Params> = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(e) => return bad_body(e),
    };
    if batch.is_empty() || batch.len() > state.graphql.max_batch {
        return refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            &format!("a batch holds 1 to {} operations", state.graphql.max_batch),
        );
    }
    let started = Instant::now();
    let prepared: Vec<_> = batch
        .into_iter()
        .map(|params| state.prepare(params))
        .collect();
    let mut answers = Vec::with_capacity(prepared.len());
    for operation in prepared {
        // Authenticated again for each operation: what an earlier one
        // revoked (`logOut`) holds for the next, as across requests.
        let caller = state
            .caller(peer, &headers, reads_only(std::iter::once(&operation)))
            .await;
        answers.push(state.answer(&caller, operation, started).await);
    }
    let bodies: Vec<Body> = answers.iter().map(Body::from).collect();
    json_response(StatusCode::OK, media, &bodies)
}

fn not_acceptable() -> Response {
    refuse(
        StatusCode::NOT_ACCEPTABLE,
        ErrorCode::BadUserInput,
        "accept application/graphql-response+json or application/json",
    )
}

fn method_not_allowed(message: &str) -> Response {
    let mut response = refuse(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::BadUserInput,
        message,
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

/// Whether a GET comes from a browser navigating to the page rather than
/// from a GraphQL client.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// `GET /graphql`: the playground for a browser, or a query (never a
/// mutation) in the URL.
pub async fn graphql_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let has_params = uri.query().is_some_and(|q| !q.is_empty());
    if !has_params && state.graphql.playground && wants_html(&headers) {
        return playground::page();
    }
    if !state.graphql.get_queries {
        return method_not_allowed("this server runs GraphQL over POST only");
    }
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let params = match Query::<GetParams>::try_from_uri(&uri)
        .map_err(|e| e.body_text())
        .and_then(|Query(params)| params.into_params())
    {
        Ok(params) => params,
        Err(message) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadUserInput,
                &format!("malformed query string: {message}"),
            );
        }
    };
    if params.query.is_none() && params.extensions.is_none() {
        return refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            "the request has no query: send one as the `query` parameter",
        );
    }
    let started = Instant::now();
    let answer = match state.prepare(params) {
        Ok((_, selected)) if selected.ty == OperationType::Mutation => {
            return method_not_allowed("mutations must be sent with POST");
        }
        Ok((request, selected)) => match state.caller(peer, &headers, true).await {
            Ok(caller) => {
                let label = state.metrics.label(&selected);
                state.execute(&caller, request, Some(label)).await
            }
            Err(error) => Answer::refused(error),
        },
        Err(error) => Answer::refused(error),
    };
    state.record(&answer, started);
    single_response(answer, media)
}
