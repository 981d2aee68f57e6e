//! Directory sync's HTTP edge: a SCIM 2.0 service (RFC 7643/7644) per
//! directory at `/scim/v2/{dir_…}` (issue #25).
//!
//! Every request carries the directory's bearer token: unknown or revoked
//! is 401, another directory's is 404 (nothing tells whether that
//! directory exists). Each directory has its own rate limit (429 with
//! `Retry-After`). Answers are `application/scim+json`; every refusal is a
//! SCIM error (`status`, `scimType`, `detail`), never a 500 for what the
//! directory sent. The protocol is here ([`schema`], [`filter`], [`patch`]);
//! what a User or a Group changes in the organization is
//! `domain::directories`' to say.

pub mod filter;
pub mod patch;
pub mod schema;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::SecondsFormat;
use entity::{scim_directory, scim_group, scim_user};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::AppState;
use crate::domain::authz::Actor;
use crate::domain::directories;
use crate::domain::directories::groups::GroupRecord;
use crate::domain::directories::users::{EmailRecord, UserRecord};
use crate::domain::ids::{self, IdKind, ScimDirectoryId};
use crate::error::AppError;
use crate::graphql::rate_limits::{Budgets, Limited, RateLimits};
use crate::read::directories::{GroupLookup, UserLookup};

/// The most resources one list answers with (`count` above it is cut).
pub const MAX_RESULTS: usize = 1000;

/// A list's page when `count` is not given.
const DEFAULT_COUNT: usize = 100;

const CONTENT_TYPE: &str = "application/scim+json";
const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// Directory sync's settings: each directory's request budget.
pub struct Settings {
    rate_limits: RateLimits,
}

impl Settings {
    pub fn new(requests_per_minute: u32) -> Self {
        Self {
            rate_limits: RateLimits::new(
                requests_per_minute,
                requests_per_minute,
                Duration::from_secs(60),
            ),
        }
    }
}

/// A SCIM error response (RFC 7644 §3.12).
#[derive(Debug)]
pub struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
    retry_after: Option<u64>,
}

impl ScimError {
    fn new(status: StatusCode, scim_type: Option<&'static str>, detail: String) -> Self {
        Self {
            status,
            scim_type,
            detail,
            retry_after: None,
        }
    }

    pub fn bad_request(scim_type: &'static str, detail: String) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, None, "not found".into())
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_URN],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type);
        }
        let mut response = scim_json(self.status, &body);
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        response
    }
}

impl From<AppError> for ScimError {
    fn from(error: AppError) -> Self {
        let status = |s: u16| StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match error {
            AppError::Unauthenticated => {
                Self::new(status(401), None, "a valid directory token is required".into())
            }
            AppError::NotFound => Self::not_found(),
            AppError::Forbidden(message) => Self::new(status(403), None, message.into()),
            AppError::IpNotAllowed => Self::new(
                status(403),
                None,
                "this organization's IP allowlist does not include the directory's address".into(),
            ),
            AppError::BadUserInput { message, .. } => {
                Self::new(status(400), Some("invalidValue"), message)
            }
            AppError::Conflict { message, .. } => {
                Self::new(status(409), Some("uniqueness"), message)
            }
            AppError::AlreadyMember => Self::new(
                status(409),
                Some("uniqueness"),
                "already a member of this organization".into(),
            ),
            AppError::LastOwner => Self::new(
                status(409),
                Some("mutability"),
                "this is the organization's last owner: a directory can never remove them; transfer the ownership in orgql first".into(),
            ),
            AppError::TierLimitExceeded {
                resource,
                limit,
                used,
            } => Self::new(
                status(409),
                Some("tooMany"),
                format!(
                    "the organization's tier allows {limit} {resource} and {used} are used: nothing was changed; upgrade the tier or remove some first"
                ),
            ),
            AppError::RateLimited { retry_after_secs } => Self {
                retry_after: Some(retry_after_secs),
                ..Self::new(
                    status(429),
                    None,
                    format!("too many requests from this directory; try again in {retry_after_secs} s"),
                )
            },
            AppError::Unavailable(_) => Self {
                retry_after: Some(crate::error::UNAVAILABLE_RETRY_AFTER_SECS),
                ..Self::new(status(503), None, "the database is unavailable for now".into())
            },
            other => {
                tracing::error!(error = ?other, "SCIM request failed");
                Self::new(status(500), None, "internal error".into())
            }
        }
    }
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        body.to_string(),
    )
        .into_response()
}

type Answer = Result<Response, ScimError>;

/// `/scim/v2/{directory}` itself: nothing is there.
pub async fn serve_root(
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    Path(directory): Path<String>,
    method: Method,
    headers: HeaderMap,
    query: RawQuery,
    body: Bytes,
) -> Response {
    serve(
        state,
        peer,
        Path((directory, String::new())),
        method,
        headers,
        query,
        body,
    )
    .await
}

/// Every SCIM request of a directory.
pub async fn serve(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((directory, path)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let request = Request {
        state: &state,
        method,
        path: &path,
        query: Query::parse(query.as_deref()),
        body,
    };
    match handle(&request, &directory, peer, &headers).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

struct Request<'a> {
    state: &'a AppState,
    method: Method,
    path: &'a str,
    query: Query,
    body: Bytes,
}

/// The directory a request acts for, and where its resources live.
struct Caller {
    actor: Actor,
    directory: scim_directory::Model,
    /// `{public URL}/scim/v2/{dir_…}`.
    base: String,
}

async fn handle(
    request: &Request<'_>,
    directory: &str,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Answer {
    let state = request.state;
    let directory_id = ids::parse::<ScimDirectoryId>(directory, "directory")
        .map_err(|_| ScimError::not_found())?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or(AppError::Unauthenticated)?;
    let meta = super::request_meta(state, peer, headers);
    let (actor, directory) =
        directories::authenticate(&state.db, directory_id, token, meta).await?;
    state
        .scim
        .rate_limits
        .check(
            Budgets::of(&state.db),
            Limited::ScimRequest,
            None,
            Some(&directory.id.to_string()),
        )
        .await?;
    let caller = Caller {
        base: format!(
            "{}/scim/v2/{}",
            state.sso.public_url,
            ids::encode(IdKind::ScimDirectory, directory.id)
        ),
        actor,
        directory,
    };
    let segments: Vec<&str> = request
        .path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let method = &request.method;
    match segments.as_slice() {
        ["ServiceProviderConfig"] => only_get(method, || {
            scim_json(StatusCode::OK, &schema::service_provider_config(MAX_RESULTS))
        }),
        ["ResourceTypes"] => only_get(method, || list_of(schema::resource_types())),
        ["ResourceTypes", id] => only_get(method, || one_of(schema::resource_types(), id))?,
        ["Schemas"] => only_get(method, || list_of(schema::schemas())),
        ["Schemas", id] => only_get(method, || one_of(schema::schemas(), id))?,
        [".search"] | ["Users", ".search"] | ["Groups", ".search"] | ["Bulk"] => Err(
            ScimError::new(
                StatusCode::NOT_IMPLEMENTED,
                None,
                "not supported here: search with GET and ?filter=; Bulk is not supported (ServiceProviderConfig)".into(),
            ),
        ),
        ["Users"] => match *method {
            Method::GET => list_users(request, &caller).await,
            Method::POST => create_user(request, &caller).await,
            _ => Err(not_allowed()),
        },
        ["Users", id] => {
            let id = resource_id(id)?;
            match *method {
                Method::GET => get_user(request, &caller, id).await,
                Method::PUT => replace_user(request, &caller, id).await,
                Method::PATCH => patch_user(request, &caller, id).await,
                Method::DELETE => {
                    directories::users::delete(&state.db, &caller.actor, id).await?;
                    Ok(StatusCode::NO_CONTENT.into_response())
                }
                _ => Err(not_allowed()),
            }
        }
        ["Groups"] => match *method {
            Method::GET => list_groups(request, &caller).await,
            Method::POST => create_group(request, &caller).await,
            _ => Err(not_allowed()),
        },
        ["Groups", id] => {
            let id = resource_id(id)?;
            match *method {
                Method::GET => get_group(request, &caller, id).await,
                Method::PUT => replace_group(request, &caller, id).await,
                Method::PATCH => patch_group(request, &caller, id).await,
                Method::DELETE => {
                    directories::groups::delete(&state.db, &caller.actor, id).await?;
                    Ok(StatusCode::NO_CONTENT.into_response())
                }
                _ => Err(not_allowed()),
            }
        }
        _ => Err(ScimError::not_found()),
    }
}

fn not_allowed() -> ScimError {
    ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "this method is not allowed here".into(),
    )
}

fn only_get<T>(method: &Method, answer: impl FnOnce() -> T) -> Result<T, ScimError> {
    if *method == Method::GET {
        Ok(answer())
    } else {
        Err(not_allowed())
    }
}

/// A resource's id in a path: orgql's are UUIDs; anything else names
/// nothing.
fn resource_id(text: &str) -> Result<Uuid, ScimError> {
    Uuid::parse_str(text).map_err(|_| ScimError::not_found())
}

fn list_of(resources: Vec<Value>) -> Response {
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_URN],
            "totalResults": resources.len(),
            "startIndex": 1,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}

fn one_of(resources: Vec<Value>, id: &str) -> Answer {
    resources
        .into_iter()
        .find(|r| r["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id)))
        .map(|r| scim_json(StatusCode::OK, &r))
        .ok_or_else(ScimError::not_found)
}

/// The query parameters SCIM reads (RFC 7644 §3.4.2, §3.9).
#[derive(Default)]
struct Query {
    filter: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
    attributes: Vec<String>,
    excluded_attributes: Vec<String>,
}

impl Query {
    fn parse(raw: Option<&str>) -> Self {
        let mut query = Query::default();
        let list = |v: &str| {
            v.split(',')
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty())
                .collect::<Vec<_>>()
        };
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                k if k.eq_ignore_ascii_case("filter") => query.filter = Some(value.into_owned()),
                k if k.eq_ignore_ascii_case("startIndex") => {
                    query.start_index = Some(value.into_owned())
                }
                k if k.eq_ignore_ascii_case("count") => query.count = Some(value.into_owned()),
                k if k.eq_ignore_ascii_case("attributes") => query.attributes = list(&value),
                k if k.eq_ignore_ascii_case("excludedAttributes") => {
                    query.excluded_attributes = list(&value)
                }
                _ => {}
            }
        }
        query
    }

    /// `startIndex` (1-based; below 1 counts as 1) and `count` (0 to
    /// [`MAX_RESULTS`]).
    fn page(&self) -> Result<(usize, usize), ScimError> {
        let number = |text: &Option<String>, name: &str, default: i64| match text {
            None => Ok(default),
            Some(text) => text.trim().parse::<i64>().map_err(|_| {
                ScimError::bad_request("invalidValue", format!("{name} must be an integer"))
            }),
        };
        let start = number(&self.start_index, "startIndex", 1)?.max(1) as usize;
        let count = number(&self.count, "count", DEFAULT_COUNT as i64)?.clamp(0, MAX_RESULTS as i64)
            as usize;
        Ok((start, count))
    }

    /// Keeps what `attributes` asks for, or drops what
    /// `excludedAttributes` names; `id` and `schemas` always stay.
    fn project(&self, resource: Value) -> Value {
        let Value::Object(mut object) = resource else {
            return resource;
        };
        if !self.attributes.is_empty() {
            let mut kept = Map::new();
            for key in ["schemas", "id"] {
                if let Some(v) = object.get(key) {
                    kept.insert(key.into(), v.clone());
                }
            }
            for path in &self.attributes {
                copy_path(&object, &mut kept, path);
            }
            return Value::Object(kept);
        }
        for path in &self.excluded_attributes {
            remove_path(&mut object, path);
        }
        Value::Object(object)
    }
}

/// Splits `urn:…:name.sub` or `name.sub` into (scope, name, sub).
fn split_path(path: &str) -> (Option<&str>, &str, Option<&str>) {
    let (scope, rest) = match path.rfind(':') {
        Some(i) if path[..i].eq_ignore_ascii_case(schema::ENTERPRISE_USER) => {
            (Some(schema::ENTERPRISE_USER), &path[i + 1..])
        }
        Some(i) => (None, &path[i + 1..]),
        None => (None, path),
    };
    match rest.split_once('.') {
        Some((name, sub)) => (scope, name, Some(sub)),
        None => (scope, rest, None),
    }
}

fn key_in<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a String> {
    object.keys().find(|k| k.eq_ignore_ascii_case(name))
}

fn copy_path(from: &Map<String, Value>, to: &mut Map<String, Value>, path: &str) {
    if path.eq_ignore_ascii_case(schema::ENTERPRISE_USER) {
        if let Some(v) = from.get(schema::ENTERPRISE_USER) {
            to.insert(schema::ENTERPRISE_USER.into(), v.clone());
        }
        return;
    }
    let (scope, name, sub) = split_path(path);
    let (source, target) = match scope {
        Some(urn) => {
            let Some(Value::Object(source)) = from.get(urn) else {
                return;
            };
            let target = to
                .entry(urn.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(target) = target else {
                return;
            };
            (source, target)
        }
        None => (from, to),
    };
    let Some(key) = key_in(source, name) else {
        return;
    };
    match (sub, &source[key]) {
        (None, value) => {
            target.insert(key.clone(), value.clone());
        }
        (Some(sub), Value::Object(inner)) => {
            if let Some(sub_key) = key_in(inner, sub) {
                let entry = target
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(entry) = entry {
                    entry.insert(sub_key.clone(), inner[sub_key].clone());
                }
            }
        }
        (Some(sub), Value::Array(items)) => {
            let picked: Vec<Value> = items
                .iter()
                .filter_map(|item| {
                    let item = item.as_object()?;
                    let sub_key = key_in(item, sub)?;
                    Some(json!({ sub_key.clone(): item[sub_key].clone() }))
                })
                .collect();
            target.insert(key.clone(), Value::Array(picked));
        }
        _ => {}
    }
}

fn remove_path(object: &mut Map<String, Value>, path: &str) {
    if path.eq_ignore_ascii_case(schema::ENTERPRISE_USER) {
        object.remove(schema::ENTERPRISE_USER);
        return;
    }
    let (scope, name, sub) = split_path(path);
    if ["id", "schemas"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name))
        && scope.is_none()
    {
        return;
    }
    let target = match scope {
        Some(urn) => match object.get_mut(urn) {
            Some(Value::Object(inner)) => inner,
            _ => return,
        },
        None => object,
    };
    let Some(key) = key_in(target, name).cloned() else {
        return;
    };
    match sub {
        None => {
            target.remove(&key);
        }
        Some(sub) => match target.get_mut(&key) {
            Some(Value::Object(inner)) => inner.retain(|k, _| !k.eq_ignore_ascii_case(sub)),
            Some(Value::Array(items)) => {
                for item in items {
                    if let Value::Object(inner) = item {
                        inner.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                    }
                }
            }
            _ => {}
        },
    }
}

fn body_json(request: &Request<'_>) -> Result<Value, ScimError> {
    serde_json::from_slice(&request.body)
        .map_err(|e| ScimError::bad_request("invalidSyntax", format!("the body is not JSON: {e}")))
}

fn meta(
    resource_type: &str,
    location: String,
    created: &chrono::DateTime<chrono::Utc>,
    modified: &chrono::DateTime<chrono::Utc>,
) -> Value {
    json!({
        "resourceType": resource_type,
        "created": created.to_rfc3339_opts(SecondsFormat::Millis, true),
        "lastModified": modified.to_rfc3339_opts(SecondsFormat::Millis, true),
        "location": location,
    })
}

fn created(location: &str, body: &Value) -> Response {
    let mut response = scim_json(StatusCode::CREATED, body);
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// A list answer from every matching resource, paged.
fn paged(query: &Query, matching: Vec<Value>) -> Answer {
    let (start, count) = query.page()?;
    let total = matching.len();
    let page: Vec<Value> = matching
        .into_iter()
        .skip(start - 1)
        .take(count)
        .map(|r| query.project(r))
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_URN],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": page.len(),
            "Resources": page,
        }),
    ))
}

// ---- Users -------------------------------------------------------------

const USER_EXTENSIONS: &[(&str, &[schema::Attribute])] =
    &[(schema::ENTERPRISE_USER, schema::ENTERPRISE_ATTRIBUTES)];

/// A SCIM user as served.
fn user_resource(caller: &Caller, user: &scim_user::Model) -> Value {
    let mut resource = user.attributes.as_object().cloned().unwrap_or_default();
    let mut schemas = vec![json!(schema::USER)];
    if resource.contains_key(schema::ENTERPRISE_USER) {
        schemas.push(json!(schema::ENTERPRISE_USER));
    }
    resource.insert("schemas".into(), Value::Array(schemas));
    resource.insert("id".into(), json!(user.id));
    resource.insert("userName".into(), json!(user.user_name));
    if let Some(external_id) = &user.external_id {
        resource.insert("externalId".into(), json!(external_id));
    }
    resource.insert(
        "meta".into(),
        meta(
            "User",
            format!("{}/Users/{}", caller.base, user.id),
            &user.created_at,
            &user.updated_at,
        ),
    );
    Value::Object(resource)
}

/// A checked User body as the domain's record.
fn user_record(body: Value) -> Result<UserRecord, ScimError> {
    let mut attributes = schema::normalize(schema::USER_ATTRIBUTES, USER_EXTENSIONS, body)?;
    let Some(Value::String(user_name)) = attributes.remove("userName") else {
        return Err(ScimError::bad_request(
            "invalidValue",
            "userName is required".into(),
        ));
    };
    let external_id = match attributes.remove("externalId") {
        Some(Value::String(id)) => Some(id),
        _ => None,
    };
    let active = attributes
        .get("active")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let emails = attributes
        .get("emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|email| {
            Some(EmailRecord {
                value: email.get("value")?.as_str()?.to_owned(),
                work: email.get("type").and_then(Value::as_str) == Some("work"),
                primary: email.get("primary") == Some(&Value::Bool(true)),
            })
        })
        .collect();
    let name = attributes.get("name");
    let display_name = attributes
        .get("displayName")
        .and_then(Value::as_str)
        .or_else(|| {
            name.and_then(|n| n.get("formatted"))
                .and_then(Value::as_str)
        })
        .map(str::to_owned)
        .or_else(|| {
            let part = |key| name.and_then(|n| n.get(key)).and_then(Value::as_str);
            match (part("givenName"), part("familyName")) {
                (Some(given), Some(family)) => Some(format!("{given} {family}")),
                (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
                (None, None) => None,
            }
        });
    Ok(UserRecord {
        user_name,
        external_id,
        active,
        emails,
        display_name,
        attributes: Value::Object(attributes),
    })
}

async fn list_users(request: &Request<'_>, caller: &Caller) -> Answer {
    let filter = request
        .query
        .filter
        .as_deref()
        .map(filter::parse)
        .transpose()?;
    let lookup = match filter
        .as_ref()
        .and_then(|f| filter::indexed(f, &["userName", "externalId", "id"]))
    {
        Some(("userName", value)) => UserLookup::UserName(value.to_owned()),
        Some(("externalId", value)) => UserLookup::ExternalId(value.to_owned()),
        Some((_, value)) => match Uuid::parse_str(value) {
            Ok(id) => UserLookup::Id(id),
            Err(_) => return paged(&request.query, Vec::new()),
        },
        None => UserLookup::All,
    };
    let users =
        crate::read::directories::users(&request.state.db, caller.directory.id, lookup).await?;
    let matching = users
        .iter()
        .map(|u| user_resource(caller, u))
        .filter(|r| filter.as_ref().is_none_or(|f| filter::matches(f, r)))
        .collect();
    paged(&request.query, matching)
}

async fn find_user(
    request: &Request<'_>,
    caller: &Caller,
    id: Uuid,
) -> Result<scim_user::Model, ScimError> {
    crate::read::directories::users(&request.state.db, caller.directory.id, UserLookup::Id(id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(ScimError::not_found)
}

async fn get_user(request: &Request<'_>, caller: &Caller, id: Uuid) -> Answer {
    let user = find_user(request, caller, id).await?;
    Ok(scim_json(
        StatusCode::OK,
        &request.query.project(user_resource(caller, &user)),
    ))
}

async fn create_user(request: &Request<'_>, caller: &Caller) -> Answer {
    let record = user_record(body_json(request)?)?;
    let user = directories::users::create(&request.state.db, &caller.actor, record).await?;
    let resource = user_resource(caller, &user);
    Ok(created(
        &format!("{}/Users/{}", caller.base, user.id),
        &resource,
    ))
}

async fn replace_user(request: &Request<'_>, caller: &Caller, id: Uuid) -> Answer {
    let record = user_record(body_json(request)?)?;
    let user = directories::users::replace(&request.state.db, &caller.actor, id, record).await?;
    Ok(scim_json(StatusCode::OK, &user_resource(caller, &user)))
}

async fn patch_user(request: &Request<'_>, caller: &Caller, id: Uuid) -> Answer {
    let operations = patch::operations(body_json(request)?)?;
    let current = find_user(request, caller, id).await?;
    let schemas = patch::Schemas {
        core_urn: schema::USER,
        core: schema::USER_ATTRIBUTES,
        extensions: USER_EXTENSIONS,
    };
    let patched = patch::apply_all(&schemas, user_resource(caller, &current), operations)?;
    let record = user_record(patched)?;
    let user = directories::users::replace(&request.state.db, &caller.actor, id, record).await?;
    Ok(scim_json(StatusCode::OK, &user_resource(caller, &user)))
}

// ---- Groups ------------------------------------------------------------

/// A SCIM group as served, with its users.
fn group_resource(caller: &Caller, group: &scim_group::Model, members: &[Uuid]) -> Value {
    let mut resource = json!({
        "schemas": [schema::GROUP],
        "id": group.id,
        "displayName": group.display_name,
        "meta": meta(
            "Group",
            format!("{}/Groups/{}", caller.base, group.id),
            &group.created_at,
            &group.updated_at,
        ),
    });
    if let Some(external_id) = &group.external_id {
        resource["externalId"] = json!(external_id);
    }
    if !members.is_empty() {
        resource["members"] = members
            .iter()
            .map(|id| {
                json!({
                    "value": id,
                    "$ref": format!("{}/Users/{id}", caller.base),
                    "type": "User",
                })
            })
            .collect();
    }
    resource
}

async fn group_resources(
    request: &Request<'_>,
    caller: &Caller,
    groups: &[scim_group::Model],
) -> Result<Vec<Value>, ScimError> {
    let wants_members = !request
        .query
        .excluded_attributes
        .iter()
        .any(|a| a.eq_ignore_ascii_case("members"));
    let ids: Vec<Uuid> = groups.iter().map(|g| g.id).collect();
    let members = if wants_members && !ids.is_empty() {
        crate::read::directories::group_members(&request.state.db, &ids).await?
    } else {
        Default::default()
    };
    Ok(groups
        .iter()
        .map(|g| group_resource(caller, g, members.get(&g.id).map_or(&[][..], |m| m)))
        .collect())
}

fn group_record(body: Value) -> Result<GroupRecord, ScimError> {
    let mut attributes = schema::normalize(schema::GROUP_ATTRIBUTES, &[], body)?;
    let Some(Value::String(display_name)) = attributes.remove("displayName") else {
        return Err(ScimError::bad_request(
            "invalidValue",
            "displayName is required".into(),
        ));
    };
    let external_id = match attributes.remove("externalId") {
        Some(Value::String(id)) => Some(id),
        _ => None,
    };
    let mut members = Vec::new();
    for member in attributes
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let value = member.get("value").and_then(Value::as_str).unwrap_or("");
        if member
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("Group"))
        {
            return Err(ScimError::bad_request(
                "invalidValue",
                "groups hold users only: nested groups are not supported".into(),
            ));
        }
        let id = Uuid::parse_str(value).map_err(|_| {
            ScimError::bad_request(
                "invalidValue",
                format!("members: {value:?} is not a user of this directory"),
            )
        })?;
        members.push(id);
    }
    Ok(GroupRecord {
        display_name,
        external_id,
        members,
    })
}

async fn list_groups(request: &Request<'_>, caller: &Caller) -> Answer {
    let filter = request
        .query
        .filter
        .as_deref()
        .map(filter::parse)
        .transpose()?;
    let lookup = match filter
        .as_ref()
        .and_then(|f| filter::indexed(f, &["displayName", "externalId", "id"]))
    {
        Some(("displayName", value)) => GroupLookup::DisplayName(value.to_owned()),
        Some(("externalId", value)) => GroupLookup::ExternalId(value.to_owned()),
        Some((_, value)) => match Uuid::parse_str(value) {
            Ok(id) => GroupLookup::Id(id),
            Err(_) => return paged(&request.query, Vec::new()),
        },
        None => GroupLookup::All,
    };
    let groups =
        crate::read::directories::groups(&request.state.db, caller.directory.id, lookup).await?;
    let matching = group_resources(request, caller, &groups)
        .await?
        .into_iter()
        .filter(|r| filter.as_ref().is_none_or(|f| filter::matches(f, r)))
        .collect();
    paged(&request.query, matching)
}

async fn find_group(
    request: &Request<'_>,
    caller: &Caller,
    id: Uuid,
) -> Result<scim_group::Model, ScimError> {
    crate::read::directories::groups(&request.state.db, caller.directory.id, GroupLookup::Id(id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(ScimError::not_found)
}

async fn get_group(request: &Request<'_>, caller: &Caller, id: Uuid) -> Answer {
    let group = find_group(request, caller, id).await?;
    let resource = group_resources(request, caller, std::slice::from_ref(&group))
        .await?
        .remove(0);
    Ok(scim_json(StatusCode::OK, &request.query.project(resource)))
}

async fn served_group(
    request: &Request<'_>,
    caller: &Caller,
    group: &scim_group::Model,
) -> Result<Value, ScimError> {
    let members = crate::read::directories::group_members(&request.state.db, &[group.id]).await?;
    Ok(group_resource(
        caller,
        group,
        members.get(&group.id).map_or(&[][..], |m| m),
    ))
}

async fn create_group(request: &Request<'_>, caller: &Caller) -> Answer {
    let record = group_record(body_json(request)?)?;
    let group = directories::groups::create(&request.state.db, &caller.actor, record).await?;
    let resource = served_group(request, caller, &group).await?;
    Ok(created(
        &format!("{}/Groups/{}", caller.base, group.id),
        &resource,
    ))
}

async fn replace_group(request: &Request<'_>, caller: &Caller, id: Uuid) -> Answer {
    let record = group_record(body_json(request)?)?;
    let group = directories::groups::replace(&request.state.db, &caller.actor, id, record).await?;
    Ok(scim_json(
        StatusCode::OK,
        &served_group(request, caller, &group).await?,
    ))
}

async fn patch_group(request: &Request<'_>, caller: &Caller, id: Uuid) -> Answer {
    let operations = patch::operations(body_json(request)?)?;
    let current = find_group(request, caller, id).await?;
    let schemas = patch::Schemas {
        core_urn: schema::GROUP,
        core: schema::GROUP_ATTRIBUTES,
        extensions: &[],
    };
    let served = served_group(request, caller, &current).await?;
    let record = group_record(patch::apply_all(&schemas, served, operations)?)?;
    let group = directories::groups::replace(&request.state.db, &caller.actor, id, record).await?;
    Ok(scim_json(
        StatusCode::OK,
        &served_group(request, caller, &group).await?,
    ))
}
