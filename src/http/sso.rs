//! Single sign-on's browser endpoints, outside GraphQL (DESIGN §3): the
//! start that sends the browser to the organization's IdP, the OIDC
//! callback and the SAML ACS that check the IdP's answer and send the
//! browser back to the app with a one-time code (never a token), and the
//! SAML SP metadata. Refusals the app can act on
//! travel back on its `redirect_uri` as `?error=…`; what cannot be sent
//! back safely (no sign-in in flight, a `redirect_uri` off the allowlist)
//! answers here in GraphQL's error shape.
//!
//! Enforces that a sign-in counts only in the browser that started it
//! (review L6, login CSRF): the start (or a test sign-in's link) sets
//! [`BINDING_COOKIE`], and the callback and the ACS refuse an answer
//! brought without it.
//!
//! On a server built without SAML (the `saml` cargo feature), the ACS and
//! the SP metadata answer 404 with [`SAML_NOT_BUILT`], which says how to
//! get it.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::input_guard::{has_nul, uri_has_unusable_text};
use super::refusal::refuse;
use crate::domain::sso::sign_in::{self, Outcome};
use crate::domain::sso::{SAML_BUILT, SAML_NOT_BUILT, STATE_TTL_MINUTES};
use crate::error::{AppError, ErrorCode};

/// The cookie that binds a sign-in in flight to the browser that started
/// it. `__Host-`: Secure, Path=/, no Domain, so no sibling host can set
/// or read it. SameSite=None, because the SAML ACS is reached by a
/// cross-site POST from the IdP, which carries no Lax cookie; it is
/// HttpOnly and means nothing without the `state` it was issued with.
pub const BINDING_COOKIE: &str = "__Host-orgql_sso";

/// `Set-Cookie` for a new binding, living as long as the sign-in in flight.
fn binding_cookie(value: &str) -> String {
    format!(
        "{BINDING_COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=None; Max-Age={}",
        STATE_TTL_MINUTES * 60
    )
}

/// `Set-Cookie` that removes the binding once its sign-in is over.
fn cleared_binding_cookie() -> String {
    format!("{BINDING_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=None; Max-Age=0")
}

/// The binding cookie's value in the request, if it carries one.
fn binding_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == BINDING_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// `GET /sso/{slug}/start?redirect_uri=…`.
#[derive(Deserialize)]
pub struct StartQuery {
    redirect_uri: Option<String>,
}

/// `GET /sso/test?ticket=…`.
#[derive(Deserialize)]
pub struct TestLinkQuery {
    ticket: Option<String>,
}

/// `GET /sso/oidc/callback?code=…&state=…` (or `error=…&state=…`).
#[derive(Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

/// The largest form the ACS takes: IdPs that send group memberships as
/// attributes post responses well past the GraphQL body limit.
pub const SAML_RESPONSE_MAX_BYTES: usize = 512 * 1024;

/// `POST /sso/saml/acs` (HTTP-POST binding, form-encoded).
#[derive(Deserialize)]
pub struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// A 303 to `location`, uncached.
fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location.to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::REFERRER_POLICY, "no-referrer".to_owned()),
        ],
    )
        .into_response()
}

/// A 303 to `location` that also sets `cookie`.
fn see_other_setting(location: &str, cookie: String) -> Response {
    let mut response = see_other(location);
    if let Ok(cookie) = cookie.parse() {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Where the callback or the ACS sends the browser.
fn answer(outcome: Result<Outcome, AppError>) -> Response {
    match outcome {
        Ok(Outcome::Redirect(location)) => see_other_setting(&location, cleared_binding_cookie()),
        Ok(Outcome::Unbound(location)) => see_other(&location),
        Ok(Outcome::UnknownState) => unknown_flight(),
        Err(error) => refused(error),
    }
}

fn refused(error: AppError) -> Response {
    let status = match error.code() {
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::BadUserInput => StatusCode::BAD_REQUEST,
        ErrorCode::Forbidden | ErrorCode::TierLimitExceeded => StatusCode::FORBIDDEN,
        // The database is out: come back later (`Retry-After` is added by
        // `refusal::json_bodies`), not "your request was wrong".
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => {
            tracing::error!(target: "orgql::sso", error = ?error, "SSO endpoint failed");
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "internal error",
            );
        }
        _ => StatusCode::BAD_REQUEST,
    };
    refuse(status, error.code(), &error.to_string())
}

/// A NUL or bytes that are not UTF-8 anywhere in the path or query: 400
/// before any of it is read (PostgreSQL cannot even compare such text).
fn unusable_text() -> Response {
    refuse(
        StatusCode::BAD_REQUEST,
        ErrorCode::BadUserInput,
        "the URL holds a NUL character or bytes that are not UTF-8",
    )
}

pub async fn start(
    State(state): State<AppState>,
    uri: Uri,
    Path(slug): Path<String>,
    Query(query): Query<StartQuery>,
) -> Response {
    if uri_has_unusable_text(&uri) {
        return unusable_text();
    }
    match sign_in::start(
        &state.db,
        &state.auth.sealer,
        &state.sso,
        &slug,
        query.redirect_uri.as_deref().unwrap_or(""),
    )
    .await
    {
        Ok(departure) => see_other_setting(
            &departure.idp_url,
            binding_cookie(&departure.browser_binding),
        ),
        Err(error) => refused(error),
    }
}

/// The link of a test sign-in (`testSsoConnection`): binds it to this
/// browser and sends it on to the IdP, once.
pub async fn open_test_link(
    State(state): State<AppState>,
    uri: Uri,
    Query(query): Query<TestLinkQuery>,
) -> Response {
    if uri_has_unusable_text(&uri) {
        return unusable_text();
    }
    match sign_in::open_test_link(&state.db, query.ticket.as_deref().unwrap_or("")).await {
        Ok(departure) => see_other_setting(
            &departure.idp_url,
            binding_cookie(&departure.browser_binding),
        ),
        Err(error) => refused(error),
    }
}

/// `GET /sso/saml/start`: the start of the organization whose slug is
/// `saml`, which the route of `/sso/saml/{connection_id}` (a connection's
/// SP metadata) would otherwise take.
pub async fn start_of_saml_slug(
    state: State<AppState>,
    uri: Uri,
    query: Query<StartQuery>,
) -> Response {
    start(state, uri, Path("saml".to_owned()), query).await
}

pub async fn oidc_callback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<CallbackQuery>,
) -> Response {
    if uri_has_unusable_text(&uri) {
        return unusable_text();
    }
    let Some(flight_state) = query.state.as_deref() else {
        return refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            "no sign-in in flight matches this answer (state missing)",
        );
    };
    let meta = super::request_meta(&state, peer, &headers);
    answer(
        sign_in::callback(
            &state.db,
            &state.auth.sealer,
            &state.sso,
            &meta,
            binding_of(&headers).as_deref(),
            sign_in::OidcAnswer {
                state: flight_state,
                code: query.code.as_deref(),
                idp_error: query.error.as_deref(),
            },
        )
        .await,
    )
}

/// The SAML endpoints of a server built without SAML (the `saml` cargo
/// feature): 404, saying how to get it. (Asked after the input checks, so
/// that bad input is a 400 whatever the build.)
fn saml_not_built() -> Response {
    refuse(StatusCode::NOT_FOUND, ErrorCode::NotFound, SAML_NOT_BUILT)
}

fn unknown_flight() -> Response {
    refuse(
        StatusCode::BAD_REQUEST,
        ErrorCode::BadUserInput,
        "no sign-in in flight matches this answer: it was used, expired or never started",
    )
}

pub async fn saml_acs(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    Form(form): Form<AcsForm>,
) -> Response {
    // A form decodes bytes that are not UTF-8 to U+FFFD (harmless text);
    // a NUL it keeps.
    if uri_has_unusable_text(&uri)
        || [&form.relay_state, &form.saml_response]
            .into_iter()
            .flatten()
            .any(|field| has_nul(field))
    {
        return unusable_text();
    }
    if !SAML_BUILT {
        return saml_not_built();
    }
    // orgql sends every AuthnRequest with a RelayState: an answer without
    // one was not asked for (IdP-initiated sign-in is not supported).
    let (Some(relay_state), Some(saml_response)) =
        (form.relay_state.as_deref(), form.saml_response.as_deref())
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            "SAMLResponse and RelayState are required (IdP-initiated sign-in is not supported)",
        );
    };
    let meta = super::request_meta(&state, peer, &headers);
    answer(
        sign_in::acs(
            &state.db,
            &state.sso,
            &meta,
            binding_of(&headers).as_deref(),
            relay_state,
            saml_response,
        )
        .await,
    )
}

/// `GET /sso/saml/{connection_id}`: the SAML SP metadata of one connection;
/// its URL is that connection's SP entity id. NOT_FOUND for anything but a
/// SAML connection's public id.
pub async fn saml_metadata(
    State(state): State<AppState>,
    uri: Uri,
    Path(connection_id): Path<String>,
) -> Response {
    if uri_has_unusable_text(&uri) {
        return unusable_text();
    }
    if !SAML_BUILT {
        return saml_not_built();
    }
    let Ok(connection_id) = crate::domain::ids::parse::<crate::domain::ids::SsoConnectionId>(
        &connection_id,
        "connectionId",
    ) else {
        return refused(AppError::NotFound);
    };
    match crate::domain::sso::connections::sp_metadata(&state.db, &state.sso, connection_id).await {
        Ok(xml) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
            xml,
        )
            .into_response(),
        Err(error) => refused(error),
    }
}
