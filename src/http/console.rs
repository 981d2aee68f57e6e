//! The reference web console (issue #27), served by the binary itself at
//! `/console`: a React app built from `console/` (see its README) and
//! embedded at compile time, as the playground is. It speaks only the
//! public API, from the same origin.
//!
//! The links orgql mails (`/verify-email`, `/reset-password`,
//! `/invitations/accept`, each `?token=…`) point at `ORGQL_PUBLIC_URL`; when
//! that is this server and the console is on, those paths lead to the
//! console's pages for them.

use axum::extract::{OriginalUri, Path};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};

use super::refusal::refuse;
use crate::error::ErrorCode;

static DIST: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/console/dist");

/// The console loads only its own files and talks only to this server
/// (HTTP and the subscriptions' WebSocket). React sets styles through the
/// DOM, which a style-src without `'unsafe-inline'` allows.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The mailed links' paths that have a page in the console.
pub const MAILED_LINK_PATHS: [&str; 3] =
    ["/verify-email", "/reset-password", "/invitations/accept"];

/// The console's page a connection's test sign-in returns to
/// (`testSsoConnection`'s `redirectUri`): on the allowlist whenever the
/// console is served.
pub fn sso_test_return_url(public_url: &str) -> String {
    format!("{}/console/sso-test", public_url.trim_end_matches('/'))
}

/// `GET /console` and `GET /console/{*path}`: a built file when the path
/// names one, else the app's page (its router shows the path's page, or
/// "not found").
pub async fn serve(path: Option<Path<String>>) -> Response {
    let path = path.map(|Path(path)| path).unwrap_or_default();
    if let Some(file) = DIST.get_file(&path).filter(|_| path != "index.html") {
        return asset(&path, file.contents());
    }
    if path.starts_with("assets/") {
        return missing();
    }
    page()
}

fn page() -> Response {
    let Some(index) = DIST.get_file("index.html") else {
        return missing();
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            // The mailed links' tokens are in the URL: never send it on.
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        index.contents(),
    )
        .into_response()
}

/// A built file: scripts and styles under `assets/` carry a content hash
/// in their names, so they are cached for good.
fn asset(path: &str, contents: &'static [u8]) -> Response {
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, content_type(path)),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        contents,
    )
        .into_response()
}

/// `GET` of a mailed link's path: its page in the console, the query (the
/// token) kept.
pub async fn mailed_link(OriginalUri(uri): OriginalUri) -> Response {
    let target = match uri.query() {
        Some(query) => format!("/console{}?{query}", uri.path()),
        None => format!("/console{}", uri.path()),
    };
    let Ok(location) = HeaderValue::from_str(&target) else {
        return missing();
    };
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}

fn missing() -> Response {
    refuse(StatusCode::NOT_FOUND, ErrorCode::NotFound, "not found")
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}
