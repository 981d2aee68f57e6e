//! Keyset pagination for Relay connections. Rows are ordered by their
//! UUIDv7 id (time order), so a cursor is the last id seen and a page is
//! one indexed range scan, however deep the client pages.

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

pub const DEFAULT_PAGE_SIZE: i32 = 20;
pub const MAX_PAGE_SIZE: i32 = 100;

/// A validated request for one page.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub first: u64,
    pub after: Option<Uuid>,
}

impl PageRequest {
    /// `first` defaults to 20 and must lie in 0..=100.
    pub fn new(first: Option<i32>, after: Option<Uuid>) -> AppResult<Self> {
        let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(0..=MAX_PAGE_SIZE).contains(&first) {
            return Err(AppError::bad_input(
                "first",
                format!("first must be between 0 and {MAX_PAGE_SIZE}"),
            ));
        }
        Ok(Self {
            first: first as u64,
            after,
        })
    }
}

/// One page of rows, in order.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
}

/// Adds the keyset range and limit to `select`: rows after the cursor, one
/// more than asked so that `has_next_page` needs no second query.
pub fn keyset<E: EntityTrait>(select: Select<E>, id: E::Column, page: PageRequest) -> Select<E>
where
    E::Column: ColumnTrait,
{
    let select = match page.after {
        Some(after) => select.filter(id.gt(after)),
        None => select,
    };
    select.order_by_asc(id).limit(page.first + 1)
}

/// Cuts the extra row `keyset` asked for.
pub fn into_page<T>(mut items: Vec<T>, page: PageRequest) -> Page<T> {
    let has_next_page = items.len() as u64 > page.first;
    items.truncate(page.first as usize);
    Page {
        items,
        has_next_page,
    }
}

/// The number of rows `select` matches, for `totalCount`.
pub async fn count<E, C>(db: &C, select: Select<E>) -> AppResult<u64>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    Ok(select.count(db).await?)
}

/// `%text%` for LIKE, with LIKE's own wildcards escaped.
pub fn like_pattern(text: &str) -> String {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
