//! Keyset pagination for Relay connections. Rows are ordered by their
//! UUIDv7 id (time order), so a cursor is the last id seen and a page is
//! one indexed range scan, however deep the client pages.

use std::collections::HashMap;

use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait, Func, Order, Query, QueryStatementBuilder, SelectStatement,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QueryResult, QuerySelect, Select, Statement, TransactionSession, TransactionTrait,
    TryGetable,
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

pub const DEFAULT_PAGE_SIZE: i32 = 20;
pub const MAX_PAGE_SIZE: i32 = 100;

/// A validated request for one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// How many rows match across all pages, when the page was read with
    /// its count ([`Counted::WithTotal`]).
    pub total: Option<u64>,
}

impl<T> Page<T> {
    /// No rows, and no count read.
    pub fn empty() -> Self {
        Self {
            items: Vec::new(),
            has_next_page: false,
            total: None,
        }
    }
}

/// Whether a page is read together with the number of rows it is a page
/// of: asked for when a client selects `totalCount`, so that the count
/// costs no statement of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counted {
    PageOnly,
    WithTotal,
}

impl Counted {
    /// Whether `page` is read with its total: only a first page is (a
    /// later one's window would count only the rows after the cursor).
    pub fn reads_total(self, page: PageRequest) -> bool {
        self == Counted::WithTotal && page.after.is_none()
    }
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
        total: None,
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

/// A list that belongs to parents (an organization's members, a team's
/// members, …), read for many parents at once: one statement for their
/// pages ([`pages`]) and one for their counts ([`counts`]), however many
/// parents a query reaches. GraphQL loaders are generic over it.
pub trait PerParent: Send + Sync + 'static {
    type Filter: Clone + Eq + std::hash::Hash + Send + Sync + 'static;
    type Item: Clone + Send + Sync + 'static;
    /// The `(table, column)` naming the parent, and the one the keyset pages
    /// by (a UUIDv7 id).
    const PARENT: (&'static str, &'static str);
    const ID: (&'static str, &'static str);

    /// The rows of these parents that match the filter, with whatever the
    /// items need selected (joins included).
    fn select(parents: &[Uuid], filter: &Self::Filter) -> AppResult<SelectStatement>;

    /// One row as (parent, item), from a page read with `filter`. `at`
    /// finds columns by position, once per statement, for a hot list that
    /// reads them so.
    fn parse(
        row: &QueryResult,
        filter: &Self::Filter,
        at: &mut Positions,
    ) -> Result<(Uuid, Self::Item), DbErr>;

    /// Joins what each item carries beyond its own row (a member's teams,
    /// say) to the page once it is cut, so that they come in the same
    /// statement. The rows of one item must come out next to each other;
    /// [`PerParent::absorb`] folds the second and later into the item. By
    /// default nothing is joined.
    fn widen(page: SelectStatement, _filter: &Self::Filter) -> SelectStatement {
        page
    }

    /// Folds `row` into `item` when it is a further row of the same item
    /// (what [`PerParent::widen`] joined); false when it starts a new item.
    fn absorb(
        _item: &mut Self::Item,
        _row: &QueryResult,
        _filter: &Self::Filter,
        _at: &mut Positions,
    ) -> Result<bool, DbErr> {
        Ok(false)
    }

    /// Where the database keeps each parent's number of items matching
    /// `filter`, if it does: (table, parent column, count column). A page's
    /// `totalCount` and the counts then read that row instead of counting.
    /// By default nowhere.
    fn kept_count(_filter: &Self::Filter) -> Option<KeptCount> {
        None
    }

    /// Whether statements of `filter` are planned for their values rather
    /// than on PostgreSQL's generic plan: where the best plan depends on
    /// how many rows the values match (a text search in an organization
    /// of any size), the generic plan, made before the values are known,
    /// assumes an average parent. By default no.
    fn planned_per_execution(_filter: &Self::Filter) -> bool {
        false
    }
}

/// A count the database keeps per parent (see [`PerParent::kept_count`]):
/// its table, the column naming the parent, the column holding the count.
pub type KeptCount = (&'static str, &'static str, &'static str);

/// The rows of `parents` in a kept count's table, nothing selected yet.
fn kept_rows((table, parent, _): KeptCount, parents: &[Uuid]) -> SelectStatement {
    Query::select()
        .from(Alias::new(table))
        .and_where(
            Expr::col((Alias::new(table), Alias::new(parent))).is_in(parents.iter().copied()),
        )
        .to_owned()
}

/// The kept counts of `parents`, as rows of (`parent`, `total`).
fn kept_counts_of(kept: KeptCount, parents: &[Uuid]) -> SelectStatement {
    let (table, parent, count) = kept;
    kept_rows(kept, parents)
        .expr_as(
            Expr::col((Alias::new(table), Alias::new(parent))),
            Alias::new("parent"),
        )
        .expr_as(
            Expr::col((Alias::new(table), Alias::new(count))),
            Alias::new("total"),
        )
        .to_owned()
}

/// The kept count of one parent as a value: 0 when no row holds it.
fn kept_total_of(kept: KeptCount, parent: &[Uuid]) -> Expr {
    let (table, _, count) = kept;
    let row = kept_rows(kept, parent)
        .expr(Expr::col((Alias::new(table), Alias::new(count))))
        .to_owned();
    Func::coalesce([subquery(row), Expr::cust("0")]).into()
}

/// Runs `statement`, on PostgreSQL planned for its values when `per_execution`
/// (`plan_cache_mode = force_custom_plan` for its transaction alone).
async fn query_all<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    statement: &SelectStatement,
    per_execution: bool,
) -> Result<Vec<QueryResult>, DbErr> {
    if !per_execution || db.get_database_backend() != DbBackend::Postgres {
        return db.query_all(statement).await;
    }
    let txn = db.begin().await?;
    txn.execute_raw(Statement::from_string(
        DbBackend::Postgres,
        "SET LOCAL plan_cache_mode = force_custom_plan",
    ))
    .await?;
    let rows = txn.query_all(statement).await?;
    txn.commit().await?;
    Ok(rows)
}

/// One page of `R` per parent, in one statement.
pub async fn pages<R: PerParent, C: ConnectionTrait + TransactionTrait>(
    db: &C,
    parents: &[Uuid],
    filter: &R::Filter,
    page: PageRequest,
    counted: Counted,
) -> AppResult<HashMap<Uuid, Page<R::Item>>> {
    let select = R::select(parents, filter)?;
    let shape = PageShape {
        parent: R::PARENT,
        id: R::ID,
        single_parent: parents.len() == 1,
        counted,
        kept_total: R::kept_count(filter)
            .filter(|_| parents.len() == 1)
            .map(|kept| kept_total_of(kept, parents)),
    };
    let statement = R::widen(page_statement(select, &shape, page), filter);
    let counted = shape.counted.reads_total(page);
    // Each parent's items and total. The group the last row went to is
    // held out of the map: a single parent's rows (and a member's rows,
    // one per team) follow one another, and need no lookup each.
    type Group<T> = (Vec<T>, Option<u64>);
    let mut rows: HashMap<Uuid, Group<R::Item>> = HashMap::new();
    let mut current: Option<(Uuid, Group<R::Item>)> = None;
    let found = query_all(db, &statement, R::planned_per_execution(filter)).await?;
    let mut at = Positions::of(found.first());
    for row in found {
        if let Some((_, (items, _))) = &mut current
            && let Some(item) = items.last_mut()
            && R::absorb(item, &row, filter, &mut at)?
        {
            continue;
        }
        let (parent, item) = R::parse(&row, filter, &mut at)?;
        let (items, total) = match &mut current {
            Some((last, group)) if *last == parent => group,
            _ => {
                if let Some((last, group)) = current.take() {
                    rows.insert(last, group);
                }
                let group = rows.remove(&parent).unwrap_or_default();
                &mut current.insert((parent, group)).1
            }
        };
        if counted && total.is_none() {
            let read: i64 = row.try_get("", "parent_total")?;
            *total = Some(u64::try_from(read).unwrap_or(0));
        }
        items.push(item);
    }
    rows.extend(current);
    Ok(rows
        .into_iter()
        .map(|(parent, (items, total))| {
            let mut found = into_page(items, page);
            found.total = total;
            (parent, found)
        })
        .collect())
}

/// Where one statement's columns are in its rows. A row read by name looks
/// each column up in a hash map, after SeaORM formats its prefixed name
/// anew, for every column of every row; a page of 100 members with their
/// users and teams spent a sixth of its server time so. A list that reads
/// its rows by position finds each set of columns here once per statement.
pub struct Positions {
    names: Vec<String>,
    /// Positions found, by the address and length of their prefix and
    /// column list (both `'static`: the same memory, the same names).
    found: Vec<([usize; 4], Vec<usize>)>,
}

impl Positions {
    /// The columns of the statement `first` is a row of (none: no rows).
    fn of(first: Option<&QueryResult>) -> Self {
        Self::named(first.map(QueryResult::column_names).unwrap_or_default())
    }

    fn named(names: Vec<String>) -> Self {
        Self {
            names,
            found: Vec::new(),
        }
    }

    /// The positions of `prefix` followed by each of `columns`, in the
    /// order of `columns`; looked up on the first call only.
    pub fn of_columns<const N: usize>(
        &mut self,
        prefix: &'static str,
        columns: &'static [&'static str; N],
    ) -> Result<[usize; N], DbErr> {
        let key = [
            prefix.as_ptr() as usize,
            prefix.len(),
            columns.as_ptr() as usize,
            N,
        ];
        if let Some((_, positions)) = self.found.iter().find(|(k, _)| *k == key) {
            return positions_of(positions);
        }
        let positions = columns
            .iter()
            .map(|column| {
                self.names
                    .iter()
                    .position(|name| {
                        name.strip_prefix(prefix)
                            .is_some_and(|rest| rest == *column)
                    })
                    .ok_or_else(|| {
                        DbErr::Custom(format!("no column {prefix}{column} in the statement"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let array = positions_of(&positions);
        self.found.push((key, positions));
        array
    }
}

/// Column `index` of `row`, read by position. On PostgreSQL without
/// sqlx's check that the column's type suits `T`: that check compares type
/// names and took a third of a members page's decoding. The positions come
/// from [`Positions`], over the statement's own select list, whose types
/// the entities fix; a value that does not decode as `T` is still an error.
pub fn cell<T>(row: &QueryResult, index: usize) -> Result<T, DbErr>
where
    T: TryGetable + for<'r> sea_orm::sqlx::Decode<'r, sea_orm::sqlx::Postgres>,
{
    use sea_orm::sqlx::Row;
    match row.try_as_pg_row() {
        Some(row) => row
            .try_get_unchecked(index)
            .map_err(|e| DbErr::Type(e.to_string())),
        None => row.try_get_by_index(index),
    }
}

fn positions_of<const N: usize>(positions: &[usize]) -> Result<[usize; N], DbErr> {
    positions
        .try_into()
        .map_err(|_| DbErr::Custom("a column list changed its length".to_owned()))
}

/// How [`page_statement`] builds its statement.
struct PageShape {
    parent: (&'static str, &'static str),
    id: (&'static str, &'static str),
    /// One parent needs no ranking: an ordered, limited scan is cheaper.
    single_parent: bool,
    counted: Counted,
    /// A single parent's kept count, when the database keeps one for the
    /// filter ([`PerParent::kept_count`]).
    kept_total: Option<Expr>,
}

/// How many of `R` each parent has, in one statement.
pub async fn counts<R: PerParent, C: ConnectionTrait + TransactionTrait>(
    db: &C,
    parents: &[Uuid],
    filter: &R::Filter,
) -> AppResult<HashMap<Uuid, u64>> {
    if let Some(kept) = R::kept_count(filter) {
        return totals_of(db, &kept_counts_of(kept, parents), false).await;
    }
    let per_execution = R::planned_per_execution(filter);
    counts_per_parent(db, R::select(parents, filter)?, R::PARENT, per_execution).await
}

/// The statement of one page per parent: the rows of `select` (already
/// narrowed to the parents and the filter) are numbered within their parent
/// by id (`ROW_NUMBER() OVER (PARTITION BY parent ORDER BY id)`, which
/// SQLite and PostgreSQL both have), and the first `first + 1` of each are
/// kept. This is how a list of teams shows each team's first members
/// without a query per team. A single parent's page is a plain
/// `ORDER BY id LIMIT first + 1`. A first page read [`Counted::WithTotal`]
/// also counts each parent's rows, so `totalCount` needs no statement of
/// its own: a single parent's by a scalar subquery of the same filter
/// (counted once, from an index where the filter's columns are in one),
/// several parents' by `COUNT(*) OVER (PARTITION BY parent)`.
fn page_statement(
    mut select: SelectStatement,
    shape: &PageShape,
    page: PageRequest,
) -> SelectStatement {
    let (parent, id) = (shape.parent, shape.id);
    let id_column = || Expr::col((Alias::new(id.0), Alias::new(id.1)));
    if let Some(after) = page.after {
        select.and_where(id_column().gt(after));
    }
    if shape.counted.reads_total(page) {
        let total = if let Some(kept) = &shape.kept_total {
            // The count the database keeps: one row, read instead of
            // counting.
            kept.clone()
        } else if shape.single_parent {
            // Its own statement, inside this one: PostgreSQL counts once
            // (an InitPlan) from an index alone where the filter allows,
            // not from the rows of every member a window would read.
            let mut count = select.clone();
            count.clear_selects().expr(Expr::cust("COUNT(*)"));
            subquery(count)
        } else {
            Expr::cust(format!(
                r#"COUNT(*) OVER (PARTITION BY "{}"."{}")"#,
                parent.0, parent.1
            ))
        };
        select.expr_as(total, Alias::new("parent_total"));
    }
    if shape.single_parent {
        select
            .order_by_expr(id_column(), Order::Asc)
            .limit(page.first + 1)
            .to_owned()
    } else {
        select.expr_as(
            Expr::cust(format!(
                r#"ROW_NUMBER() OVER (PARTITION BY "{}"."{}" ORDER BY "{}"."{}")"#,
                parent.0, parent.1, id.0, id.1
            )),
            Alias::new("page_rank"),
        );
        Query::select()
            .column(Asterisk)
            .from_subquery(select, Alias::new("ranked"))
            .and_where(Expr::col(Alias::new("page_rank")).lte(page.first as i64 + 1))
            .order_by(Alias::new("page_rank"), Order::Asc)
            .to_owned()
    }
}

/// `select` as a value inside another statement: `(SELECT …)`.
pub fn subquery(select: SelectStatement) -> Expr {
    Expr::SubQuery(None, Box::new(select.into_sub_query_statement()))
}

/// How many rows of `select` each parent has, in one grouped statement.
async fn counts_per_parent<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    select: SelectStatement,
    parent: (&str, &str),
    per_execution: bool,
) -> AppResult<HashMap<Uuid, u64>> {
    let mut select = select;
    select
        .clear_selects()
        .expr_as(
            Expr::col((Alias::new(parent.0), Alias::new(parent.1))),
            Alias::new("parent"),
        )
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("total"))
        .group_by_col((Alias::new(parent.0), Alias::new(parent.1)));
    totals_of(db, &select, per_execution).await
}

/// Each parent's total from rows of (`parent`, `total`).
async fn totals_of<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    select: &SelectStatement,
    per_execution: bool,
) -> AppResult<HashMap<Uuid, u64>> {
    let mut counts = HashMap::new();
    for row in query_all(db, select, per_execution).await? {
        let parent: Uuid = row.try_get("", "parent")?;
        let total: i64 = row.try_get("", "total")?;
        counts.insert(parent, u64::try_from(total).unwrap_or(0));
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_found_by_exact_prefixed_name_and_kept() {
        let names = ["A_idx", "A_id", "B_id", "A_role"]
            .map(String::from)
            .to_vec();
        let mut at = Positions::named(names);
        static COLUMNS: [&str; 2] = ["id", "role"];
        assert_eq!(at.of_columns("A_", &COLUMNS).unwrap(), [1, 3]);
        assert_eq!(at.of_columns("B_", &["id"]).unwrap(), [2]);
        assert_eq!(at.found.len(), 2);
        assert_eq!(at.of_columns("A_", &COLUMNS).unwrap(), [1, 3]);
        assert_eq!(at.found.len(), 2, "found once");
        assert!(at.of_columns("B_", &["role"]).is_err(), "no B_role");
    }
}
