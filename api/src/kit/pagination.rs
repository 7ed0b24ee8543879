//! Relay cursor connections over the store's keyset pages (`domain::store::page`), and `totalCount`.
use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields};
use async_graphql::{Context, Object};
use sea_orm::sea_query::{Alias, Expr, Query, SelectStatement};
use sea_orm::{DatabaseConnection, FromQueryResult};

pub use domain::store::page::{
    Cursor, CursorKey, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageRows, SortKey, SortKind, SortValue, fetch_decoded,
    fetch_rows, read_rows,
};

use super::Loaders;
use super::eager::{Eager, EagerObject};
use super::loaders::CountKey;
use crate::error::{ApiResult, AppError};

/// A page cursor as a connection's cursor: the store's own encoding.
#[derive(Clone, Debug, PartialEq)]
pub struct PageCursor(pub Cursor);

impl CursorType for PageCursor {
    type Error = domain::store::page::InvalidCursor;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        Cursor::decode(s).map(PageCursor)
    }

    fn encode_cursor(&self) -> String {
        self.0.encode()
    }
}

/// `totalCount`, computed only when a client asks for it.
pub struct TotalCount {
    count: CountSource,
}

enum CountSource {
    /// Count the rows of this (unordered, unlimited) select.
    Statement(Box<SelectStatement>),
    /// Count a parent's children through the per-request batched counter.
    Children(CountKey),
    /// Already known (lists ranked in memory).
    Known(i64),
}

impl TotalCount {
    pub fn of(select: SelectStatement) -> Self {
        Self { count: CountSource::Statement(Box::new(select)) }
    }
    pub fn known(n: i64) -> Self {
        Self { count: CountSource::Known(n) }
    }

    pub fn children(key: CountKey) -> Self {
        Self { count: CountSource::Children(key) }
    }
}

#[derive(FromQueryResult)]
struct CountRow {
    n: i64,
}

#[Object]
impl TotalCount {
    /// How many items the whole list has, across all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        match &self.count {
            CountSource::Known(n) => Ok(*n),
            CountSource::Children(key) => {
                let loaders = ctx.data::<Loaders>().map_err(|e| AppError::internal(e.message))?;
                Ok(loaders.child_counts.load_one(key.clone()).await?.unwrap_or(0))
            }
            CountSource::Statement(select) => {
                let db = ctx.data::<DatabaseConnection>().map_err(|e| AppError::internal(e.message))?;
                let mut inner = (**select).clone();
                inner.clear_order_by();
                let outer = Query::select()
                    .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
                    .from_subquery(inner, Alias::new("counted"))
                    .to_owned();
                let row = CountRow::find_by_statement(db.get_database_backend().build(&outer)).one(db).await?;
                Ok(row.map(|r| r.n).unwrap_or(0))
            }
        }
    }
}

/// A page of a list as a Relay connection (`NeedConnection`, …), with its edges and nodes resolved by `eager`.
pub type ListConnection<N, E = EmptyFields> = Eager<Connection<PageCursor, Eager<N>, TotalCount, E>>;

/// Builds a connection from a fetched page; `edge` gives each row's cursor, node and edge fields.
pub fn connection<T, N, E>(
    page: PageRows<T>,
    total: TotalCount,
    mut edge: impl FnMut(T) -> (Cursor, N, E),
) -> ListConnection<N, E>
where
    N: EagerObject,
    E: async_graphql::ObjectType,
{
    let mut conn = Connection::with_additional_fields(page.has_previous, page.has_next, total);
    conn.edges.extend(page.rows.into_iter().map(|row| {
        let (cursor, node, extra) = edge(row);
        Edge::with_additional_fields(PageCursor(cursor), Eager(node), extra)
    }));
    Eager(conn)
}

pub type NoEdgeFields = EmptyFields;
