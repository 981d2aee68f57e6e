//! Relay connections over the domain's keyset pages: opaque cursors,
//! `pageInfo`, and a `totalCount` that costs a query only when asked for.

use async_graphql::connection::{Connection, CursorType, Edge};
use async_graphql::dataloader::{DataLoader, HashMapCache, NoCache};
use async_graphql::{Context, Object, OutputType};
use base64::Engine;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use uuid::Uuid;

use sea_orm::{DatabaseConnection, EntityTrait, Select};

use crate::error::{AppError, AppResult};
use crate::graphql::loaders::{CountKey, CountLoader, PageKey, PageLoader};
use crate::read::paging::PerParent;
use crate::read::paging::{self, Counted, Page, PageRequest};

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

type Counter =
    Box<dyn for<'a> Fn(&'a Context<'a>) -> BoxFuture<'a, async_graphql::Result<u64>> + Send + Sync>;

/// The connection's `totalCount`, counted only if selected.
pub struct TotalCount {
    counter: Counter,
}

impl TotalCount {
    /// Counts the rows of a top-level connection.
    pub fn of<E>(db: DatabaseConnection, select: Select<E>) -> Self
    where
        E: EntityTrait,
        E::Model: Sync,
    {
        Self {
            counter: Box::new(move |_| {
                let (db, select) = (db.clone(), select.clone());
                Box::pin(async move { Ok(paging::count(&db, select).await?) })
            }),
        }
    }

    /// Counts with `count`, which reads its own statement.
    pub fn later<F, Counting>(count: F) -> Self
    where
        F: Fn() -> Counting + Send + Sync + 'static,
        Counting: Future<Output = AppResult<u64>> + Send + 'static,
    {
        Self {
            counter: Box::new(move |_| {
                let counting = count();
                Box::pin(async move { Ok(counting.await?) })
            }),
        }
    }

    /// A count already known (read with the page).
    pub fn known(total: u64) -> Self {
        Self {
            counter: Box::new(move |_| Box::pin(async move { Ok(total) })),
        }
    }

    /// Counts a nested connection's rows through the request's count loader,
    /// so sibling connections share one grouped statement.
    pub fn per_parent<R: PerParent>(key: CountKey<R::Filter>) -> Self {
        Self {
            counter: Box::new(move |ctx| {
                let key = key.clone();
                Box::pin(async move {
                    let loader = ctx.data::<DataLoader<CountLoader<R>, HashMapCache>>()?;
                    Ok(loader.load_one(key).await?.unwrap_or(0))
                })
            }),
        }
    }
}

#[Object]
impl TotalCount {
    /// How many items match, across all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        (self.counter)(ctx).await
    }
}

/// One page of a nested connection (the members of one organization, say),
/// read through the request's page loader: sibling connections with the
/// same arguments share one statement. A first page whose `totalCount` is
/// selected is read with its count, in the same statement.
pub async fn nested_page<R: PerParent>(
    ctx: &Context<'_>,
    parent: Uuid,
    filter: R::Filter,
    first: Option<i32>,
    after: Option<&str>,
) -> async_graphql::Result<(Page<R::Item>, PageRequest, TotalCount)> {
    let request = page_request(first, after)?;
    let counted = if request.after.is_none() && ctx.look_ahead().field("totalCount").exists() {
        Counted::WithTotal
    } else {
        Counted::PageOnly
    };
    let page = ctx
        .data::<DataLoader<PageLoader<R>, NoCache>>()?
        .load_one(PageKey {
            parent,
            page: request,
            filter: filter.clone(),
            counted,
        })
        .await?
        .map_or_else(Page::empty, Arc::unwrap_or_clone);
    let total = match page.total {
        Some(total) => TotalCount::known(total),
        None => TotalCount::per_parent::<R>(CountKey { parent, filter }),
    };
    Ok((page, request, total))
}

pub type CountedConnection<N> = Connection<Cursor, N, TotalCount>;

/// An edge's cursor: its row's id, encoded only when a client reads it
/// (`cursor`, `pageInfo`). A page of 100 selected for its `nodes` encodes
/// none.
pub struct Cursor(Uuid);

impl CursorType for Cursor {
    type Error = AppError;

    fn decode_cursor(cursor: &str) -> AppResult<Self> {
        decode_cursor(cursor).map(Self)
    }

    fn encode_cursor(&self) -> String {
        encode_cursor(self.0)
    }
}

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
        .map(|item| Edge::new(Cursor(id_of(&item)), into_node(item)))
        .collect();
    connection
}
