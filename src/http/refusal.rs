//! Refusals the GraphQL executor never sees (a body too large, a wrong
//! media type, a timeout, an unknown route) still answer in GraphQL's error
//! shape, `{"errors": [{"message", "extensions": {"code"}}]}`, so a client
//! has one format to read whatever refused it. A 503 always says when to
//! come back (`Retry-After`).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{ErrorCode, UNAVAILABLE_RETRY_AFTER_SECS};

/// A refusal with its status, code and message.
pub fn refuse(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    (
        status,
        axum::Json(
            json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] }),
        ),
    )
        .into_response()
}

/// The code a bare HTTP refusal stands for.
fn code_for(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::QueryTooComplex,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::REQUEST_TIMEOUT => ErrorCode::Internal,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
        s if s.is_server_error() => ErrorCode::Internal,
        _ => ErrorCode::BadUserInput,
    }
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with("application/json")
                || v.starts_with("application/graphql-response+json")
                || v.starts_with("application/scim+json")
        })
}

/// Middleware (`axum::middleware::map_response`): gives a JSON body to any
/// 4xx or 5xx answer that lacks one, such as axum's 413 for a body past
/// the limit, the timeout's 408 or the router's 404 and 405. Headers (the
/// 405's `Allow` among them) are kept. A 503 (the database is unreachable)
/// gets `Retry-After` (RFC 9110 §10.2.3) if it lacks one, the seconds that
/// UNAVAILABLE's `retryAfter` says.
pub async fn json_bodies(mut response: Response) -> Response {
    let status = response.status();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .entry(header::RETRY_AFTER)
            .or_insert_with(|| HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS));
    }
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let message = status.canonical_reason().unwrap_or("refused");
    let refusal = refuse(status, code_for(status), &message.to_ascii_lowercase());
    let (mut parts, _) = response.into_parts();
    let (refusal_parts, body) = refusal.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        refusal_parts
            .headers
            .get(header::CONTENT_TYPE)
            .cloned()
            .unwrap_or(HeaderValue::from_static("application/json")),
    );
    Response::from_parts(parts, Body::new(body))
}
