//! GraphQL subscriptions over WebSocket on `/graphql`, in the
//! graphql-transport-ws protocol (the `graphql-ws` library's, which Apollo
//! Client, urql, Relay and GraphiQL speak).
//!
//! - The credential (an access token or an API token) comes in
//!   `connection_init`'s payload as `{"Authorization": "Bearer …"}`. Without
//!   a valid one the socket closes with 4403 (Forbidden); with too many
//!   sockets open for the same person or token, 4429. An access token's
//!   expiry closes the socket with 4401 (Unauthorized): reconnect with a
//!   fresh token. No `connection_init` within 10 s: 4408.
//! - Only subscriptions run here; queries and mutations go over HTTP, where
//!   their limits, loaders and rate limits apply. Documents pass the same
//!   depth, alias and directive limits as over HTTP, and every error gets
//!   its `extensions.code` (`graphql::extensions::annotate`).
//! - Bounds: a socket holds at most `ORGQL_SUBSCRIPTIONS_PER_SOCKET`
//!   subscriptions, a person or token `ORGQL_SOCKETS_PER_USER` sockets.
//!   The server pings every 15 s and drops a client silent for 45 s
//!   (3008). Nothing is queued per client: a stream reads its events from
//!   the table when it can send, so a slow client costs no memory; one
//!   that does not read for 30 s is closed (4008).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::http::{WebSocketProtocols, WsMessage};
use async_graphql::{Data, Executor, Request, Response, ServerError};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{SinkExt, StreamExt};
use uuid::Uuid;

use super::AppState;
use super::refusal::refuse;
use crate::domain::authz::{Actor, Principal, RequestMeta};
use crate::domain::events::bus::EventBus;
use crate::error::{AppResult, ErrorCode};
use crate::graphql::extensions::{self, annotate, coded};
use crate::graphql::subscription::{Credentials, Socket};

const PROTOCOL: &str = "graphql-transport-ws";

/// How often the server pings, how long a client may stay silent, how
/// long one message may wait to be taken, and how long `connection_init`
/// may take to come.
const PING_EVERY: Duration = Duration::from_secs(15);
const SILENT_FOR: Duration = Duration::from_secs(45);
const SEND_WITHIN: Duration = Duration::from_secs(30);
const INIT_WITHIN: Duration = Duration::from_secs(10);

/// The largest message a client may send.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// What the sockets of one server share.
pub struct Subscriptions {
    /// The pool streams read through (`ORGQL_SUBSCRIPTION_DB_CONNECTIONS`).
    pub db: sea_orm::DatabaseConnection,
    pub bus: Arc<EventBus>,
    pub sockets_per_user: usize,
    pub subscriptions_per_socket: usize,
    pub recheck: Duration,
    /// Open sockets per person or token.
    open: Mutex<HashMap<Uuid, usize>>,
}

impl Subscriptions {
    pub fn new(
        db: sea_orm::DatabaseConnection,
        bus: Arc<EventBus>,
        sockets_per_user: usize,
        subscriptions_per_socket: usize,
        recheck: Duration,
    ) -> Self {
        Self {
            db,
            bus,
            sockets_per_user,
            subscriptions_per_socket,
            recheck,
            open: Mutex::default(),
        }
    }

    /// A place for one more socket of `holder`, freed when dropped.
    fn hold(self: &Arc<Self>, holder: Uuid) -> Option<SocketHold> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(holder).or_default();
        if *count >= self.sockets_per_user {
            return None;
        }
        *count += 1;
        Some(SocketHold {
            subscriptions: self.clone(),
            holder,
        })
    }
}

struct SocketHold {
    subscriptions: Arc<Subscriptions>,
    holder: Uuid,
}

impl Drop for SocketHold {
    fn drop(&mut self) {
        let mut open = self
            .subscriptions
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.holder) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.holder);
            }
        }
    }
}

/// Whether a GET to `/graphql` asks for a WebSocket.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// `GET /graphql` with `Upgrade: websocket`: only graphql-transport-ws.
pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> HttpResponse {
    let offered = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == PROTOCOL));
    if !offered {
        return refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            "subscriptions speak graphql-transport-ws: offer it in Sec-WebSocket-Protocol",
        );
    }
    let meta = super::request_meta(&state, peer, &headers);
    upgrade
        .protocols([PROTOCOL])
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| serve(state, meta, socket))
        .into_response()
}

/// The credential a socket opened with, checked again on each ask.
struct Bearer {
    state: AppState,
    token: String,
    meta: RequestMeta,
}

impl Credentials for Bearer {
    fn actor(&self) -> BoxFuture<'_, AppResult<Actor>> {
        Box::pin(super::authenticate_token(
            &self.state,
            &self.token,
            &self.meta,
            true,
        ))
    }
}

/// What `connection_init` settled: the socket's place and when its
/// credential expires.
#[derive(Default)]
struct Opened {
    _hold: Option<SocketHold>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Why `connection_init` was refused, as the close frame says it.
const FORBIDDEN: &str = "Forbidden";
const TOO_MANY_SOCKETS: &str = "Too many sockets for this user";

fn bearer_of(payload: &serde_json::Value) -> Option<&str> {
    let value = payload
        .get("Authorization")
        .or_else(|| payload.get("authorization"))?
        .as_str()?;
    value.strip_prefix("Bearer ").map(str::trim)
}

async fn serve(state: AppState, meta: RequestMeta, socket: WebSocket) {
    let (mut sink, stream) = socket.split();
    let input = stream
        .take_while(|message| std::future::ready(message.is_ok()))
        .filter_map(|message| {
            std::future::ready(match message {
                Ok(Message::Text(text)) => Some(text.as_bytes().to_vec()),
                Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                _ => None,
            })
        });
    let opened: Arc<Mutex<Opened>> = Arc::default();
    let init = {
        let (state, meta, opened) = (state.clone(), meta.clone(), opened.clone());
        move |payload: serde_json::Value| async move {
            let token = bearer_of(&payload).ok_or(FORBIDDEN)?.to_owned();
            let actor = super::authenticate_token(&state, &token, &meta, true)
                .await
                .map_err(|_| FORBIDDEN)?;
            let holder = match &actor.principal {
                Principal::Person(person) => person.user_id,
                Principal::ApiToken(grant) => grant.token_id,
                Principal::Directory(_) => return Err(FORBIDDEN.into()),
            };
            let hold = state.subscriptions.hold(holder).ok_or(TOO_MANY_SOCKETS)?;
            let expires_at = state
                .auth
                .tokens
                .verify(&token)
                .ok()
                .and_then(|claims| chrono::DateTime::from_timestamp(claims.exp, 0));
            *opened.lock().unwrap_or_else(|e| e.into_inner()) = Opened {
                _hold: Some(hold),
                expires_at,
            };
            // The socket's checks read through the streams' pool too.
            let streams = AppState {
                db: state.subscriptions.db.clone(),
                ..state.clone()
            };
            let socket = Socket::new(
                state.subscriptions.db.clone(),
                state.subscriptions.bus.clone(),
                Arc::new(Bearer {
                    state: streams,
                    token,
                    meta,
                }),
                state.subscriptions.subscriptions_per_socket,
                state.subscriptions.recheck,
            );
            let mut data = Data::default();
            data.insert(Arc::new(socket));
            data.insert(actor);
            Ok::<Data, async_graphql::Error>(data)
        }
    };
    let messages = async_graphql::http::WebSocket::new(
        SocketExecutor {
            state: state.clone(),
            meta: meta.clone(),
        },
        input,
        WebSocketProtocols::GraphQLWS,
    )
    .on_connection_init(init)
    .keepalive_timeout(SILENT_FOR);
    futures_util::pin_mut!(messages);

    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let init_deadline = tokio::time::sleep(INIT_WITHIN);
    futures_util::pin_mut!(init_deadline);
    let mut acknowledged = false;
    let close = loop {
        let expires_in = opened
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .expires_at
            .map(|at| (at - chrono::Utc::now()).to_std().unwrap_or_default());
        let expiry = async {
            match expires_in {
                Some(left) => tokio::time::sleep(left).await,
                None => std::future::pending().await,
            }
        };
        let outgoing = tokio::select! {
            message = messages.next() => message,
            _ = ping.tick(), if acknowledged => Some(WsMessage::Text(r#"{"type":"ping"}"#.into())),
            _ = &mut init_deadline, if !acknowledged => {
                break Some((4408, "Connection initialisation timeout".to_owned()));
            }
            _ = expiry => break Some((4401, "Unauthorized: the token expired".to_owned())),
            _ = state.closing.cancelled() => break Some((1001, "The server is shutting down".to_owned())),
        };
        match outgoing {
            Some(WsMessage::Text(text)) => {
                acknowledged |= text.contains(r#""connection_ack""#);
                match tokio::time::timeout(SEND_WITHIN, sink.send(Message::Text(text.into()))).await
                {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break None,
                    Err(_) => break Some((4008, "Too slow: messages were not read".to_owned())),
                }
            }
            Some(WsMessage::Close(code, reason)) => {
                break Some(match (acknowledged, reason.as_str()) {
                    (false, FORBIDDEN) => (4403, FORBIDDEN.to_owned()),
                    (false, TOO_MANY_SOCKETS) => (4429, TOO_MANY_SOCKETS.to_owned()),
                    _ => (code, reason),
                });
            }
            None => break None,
        }
    };
    if let Some((code, reason)) = close {
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(frame)).await;
    }
    drop(opened);
}

/// Runs a socket's operations: subscriptions only, checked like HTTP
/// documents, errors coded.
#[derive(Clone)]
struct SocketExecutor {
    state: AppState,
    meta: RequestMeta,
}

fn refused(error: ServerError) -> BoxStream<'static, Response> {
    futures_util::stream::once(std::future::ready(Response::from_errors(vec![error]))).boxed()
}

impl Executor for SocketExecutor {
    async fn execute(&self, _request: Request) -> Response {
        Response::from_errors(vec![coded(
            ErrorCode::BadUserInput,
            "send queries and mutations over HTTP",
            None,
        )])
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let limits = self.state.graphql.limits;
        match extensions::prepare_subscription(&mut request, limits, &self.state.graphql.parsed) {
            Ok(_) => {}
            Err(error) => return refused(error),
        }
        // After `prepare_subscription`, which leaves the document parsed.
        if let Some(refusal) = super::input_guard::refuse_nul(&mut request) {
            return refused(refusal);
        }
        let request = request.data(self.meta.clone());
        let Some(session_data) = session_data else {
            return refused(coded(
                ErrorCode::Unauthenticated,
                "send connection_init first",
                None,
            ));
        };
        self.state
            .schema
            .execute_stream_with_session_data(request, session_data)
            .map(|mut response| {
                for error in &mut response.errors {
                    annotate(error);
                }
                response
            })
            .boxed()
    }
}

/// `GET /graphql`: a WebSocket upgrade for subscriptions, else a query
/// over GET (or the playground).
pub async fn graphql_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> HttpResponse {
    use axum::extract::FromRequestParts;
    let (mut parts, _body) = request.into_parts();
    if is_upgrade(&parts.headers) {
        return match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
            Ok(ws) => upgrade(State(state), ConnectInfo(peer), parts.headers, ws).await,
            Err(rejection) => rejection.into_response(),
        };
    }
    super::graphql::graphql_get(State(state), ConnectInfo(peer), parts.headers, parts.uri).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_comes_from_the_authorization_key() {
        let payload = serde_json::json!({ "Authorization": "Bearer abc" });
        assert_eq!(bearer_of(&payload), Some("abc"));
        let payload = serde_json::json!({ "authorization": "Bearer  xyz " });
        assert_eq!(bearer_of(&payload), Some("xyz"));
        assert_eq!(bearer_of(&serde_json::json!({ "token": "abc" })), None);
        assert_eq!(
            bearer_of(&serde_json::json!({ "Authorization": "abc" })),
            None
        );
    }
}
