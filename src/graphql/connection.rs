//! Relay connections over the domain's keyset pages: opaque cursors,
//! `pageInfo`, and a `totalCount` that costs a query only when asked for.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Object, OutputType};
use base64::Engine;
use futures_util::future::BoxFuture;
use uuid::Uuid;

use crate::domain::pagination::{Page, PageRequest};
use crate::error::{AppError, AppResult};

const CURSOR: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A cursor is the last row's id, opaque to clients.
pub fn encode_cursor(id: Uuid) -> String {
    CURSOR.encode(id.as_bytes())
}

fn decode_cursor(cursor: &str) -> AppResult<Uuid> {
    CURSOR
        .decode(cursor)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .ok_or_else(|| AppError::bad_input("after", "not a cursor from this connection"))
}

/// Validates `first` and `after`.
pub fn page_request(first: Option<i32>, after: Option<&str>) -> AppResult<PageRequest> {
    let after = after.map(decode_cursor).transpose()?;
    PageRequest::new(first, after)
}

type Counter = Arc<dyn Fn() -> BoxFuture<'static, AppResult<u64>> + Send + Sync>;

/// The connection's `totalCount`, counted only if selected.
pub struct TotalCount {
    counter: Counter,
}

impl TotalCount {
    pub fn new(
        counter: impl Fn() -> BoxFuture<'static, AppResult<u64>> + Send + Sync + 'static,
    ) -> Self {
        Self {
            counter: Arc::new(counter),
        }
    }
}

#[Object]
impl TotalCount {
    /// How many items match, across all pages.
    async fn total_count(&self) -> async_graphql::Result<u64> {
        Ok((self.counter)().await?)
    }
}

pub type CountedConnection<N> = Connection<String, N, TotalCount>;

/// Builds a connection from one page.
pub fn build<T, N: OutputType>(
    page: Page<T>,
    request: PageRequest,
    total: TotalCount,
    id_of: impl Fn(&T) -> Uuid,
    into_node: impl Fn(T) -> N,
) -> CountedConnection<N> {
    let mut connection =
        Connection::with_additional_fields(request.after.is_some(), page.has_next_page, total);
    connection.edges = page
        .items
        .into_iter()
        .map(|item| Edge::new(encode_cursor(id_of(&item)), into_node(item)))
        .collect();
    connection
}
