//! The GraphiQL playground, served by the binary itself: GraphiQL 5.4.0
//! with React 19 and its Monaco editor workers, built from
//! `assets/graphiql` (see its README) and embedded at compile time, so the
//! page loads nothing from another host and works offline.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};

use super::refusal::refuse;
use crate::error::ErrorCode;

static DIST: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/assets/graphiql/dist");

/// The page may load only its own assets and talk only to this server.
/// Monaco and React set inline styles, hence `'unsafe-inline'` for styles
/// (never for scripts).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
    worker-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The page, for `GET /graphql` from a browser.
pub fn page() -> Response {
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
        ],
        index.contents(),
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
        Some("ttf") => "font/ttf",
        Some("md") => "text/markdown; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `GET /graphql/playground/{*path}` (routed only when the playground is
/// on): the page's scripts, styles and fonts
/// (their names carry a content hash, so they are cached for good), and
/// `LICENSES.md`, the licences of everything bundled.
pub async fn asset(Path(path): Path<String>) -> Response {
    let Some(file) = DIST.get_file(&path) else {
        return missing();
    };
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, content_type(&path)),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        file.contents(),
    )
        .into_response()
}
