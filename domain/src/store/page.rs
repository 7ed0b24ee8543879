//! Keyset pagination: a cursor holds the sort key and id of a row, and the next page is "rows after that key" in
//! the same order, so pages stay stable while rows are added. Transports wrap a page as they like (GraphQL as a
//! Relay connection, feeds as a next link).
use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, IntoColumnRef, Order, SelectStatement, SimpleExpr};
use sea_orm::{Condition, ConnectionTrait, FromQueryResult, Value};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Reads;
use crate::error::{AppError, AppResult};

pub const DEFAULT_PAGE_SIZE: i32 = 20;
pub const MAX_PAGE_SIZE: i32 = 100;

/// The value a list is ordered by, as carried in a cursor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SortValue {
    Time(DateTime<Utc>),
    Date(NaiveDate),
    /// Kept as its bits: the keyset tie-break compares for equality, so the value must round-trip exactly.
    Number(#[serde(with = "f64_bits")] f64),
    Text(String),
}

/// What kind of value a list is ordered by; a cursor holding another kind is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKind {
    Time,
    Date,
    Number,
    Text,
}

mod f64_bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.to_bits())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        u64::deserialize(d).map(f64::from_bits)
    }
}

impl SortValue {
    fn kind(&self) -> SortKind {
        match self {
            Self::Time(_) => SortKind::Time,
            Self::Date(_) => SortKind::Date,
            Self::Number(_) => SortKind::Number,
            Self::Text(_) => SortKind::Text,
        }
    }

    fn into_value(self) -> Value {
        match self {
            Self::Time(t) => t.into(),
            Self::Date(d) => d.into(),
            Self::Number(n) => n.into(),
            Self::Text(s) => s.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Which ordering the cursor belongs to, so a cursor from one order is refused by another. Borrowed when made
    /// here (a page makes one for every edge, whether or not it is asked for); owned when read from a client.
    pub order: Cow<'static, str>,
    pub key: SortValue,
    pub id: Uuid,
}

/// A cursor a client sent that is not one of ours.
#[derive(Debug)]
pub struct InvalidCursor;

impl std::fmt::Display for InvalidCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a valid cursor")
    }
}

impl std::error::Error for InvalidCursor {}

impl Cursor {
    /// The opaque form clients hold: URL-safe base64 of the JSON.
    pub fn decode(s: &str) -> Result<Self, InvalidCursor> {
        URL_SAFE_NO_PAD.decode(s).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).ok_or(InvalidCursor)
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }
}

/// Validated paging arguments.
#[derive(Clone, Debug, PartialEq, Hash, Eq)]
pub struct Page {
    pub limit: u64,
    pub backward: bool,
    pub after: Option<CursorKey>,
    pub before: Option<CursorKey>,
}

/// A cursor in hashable form (f64 keys compared by bits), so a `Page` can be part of a DataLoader key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CursorKey(pub String);

impl CursorKey {
    pub fn cursor(&self, field: &str) -> AppResult<Cursor> {
        Cursor::decode(&self.0).map_err(|_| AppError::bad_input(field, "is not a valid cursor"))
    }
}

impl Page {
    pub fn parse(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Self> {
        let check = |field: &str, n: i32| {
            if !(0..=MAX_PAGE_SIZE).contains(&n) {
                Err(AppError::bad_input(field, format!("must be between 0 and {MAX_PAGE_SIZE}")))
            } else {
                Ok(n as u64)
            }
        };
        let (limit, backward) = match (first, last) {
            (Some(_), Some(_)) => return Err(AppError::bad_input("last", "pass either first or last, not both")),
            (Some(n), None) => (check("first", n)?, false),
            (None, Some(n)) => (check("last", n)?, true),
            (None, None) => (DEFAULT_PAGE_SIZE as u64, false),
        };
        for (field, cursor) in [("after", &after), ("before", &before)] {
            if let Some(c) = cursor {
                Cursor::decode(c).map_err(|_| AppError::bad_input(field, "is not a valid cursor"))?;
            }
        }
        Ok(Self { limit, backward, after: after.map(CursorKey), before: before.map(CursorKey) })
    }

    pub fn first(n: u64) -> Self {
        Self { limit: n, backward: false, after: None, before: None }
    }
}

/// How a list is ordered: a key expression, then the id as a tie-breaker, in one direction.
pub struct SortKey {
    /// Names the list and its order (`needs:NEAREST`), so a cursor only works where it came from.
    pub name: &'static str,
    pub kind: SortKind,
    pub key: SimpleExpr,
    pub id: SimpleExpr,
    pub descending: bool,
}

impl SortKey {
    fn beyond(&self, cursor: &Cursor, field: &str, forward: bool) -> AppResult<Condition> {
        if cursor.order != self.name || cursor.key.kind() != self.kind {
            return Err(AppError::bad_input(field, "belongs to a different list or ordering"));
        }
        let value = cursor.key.clone().into_value();
        // "after" in a descending order means smaller keys.
        let greater = forward != self.descending;
        let (key, id) = (self.key.clone(), self.id.clone());
        let strictly =
            if greater { Expr::expr(key.clone()).gt(value.clone()) } else { Expr::expr(key.clone()).lt(value.clone()) };
        let tie = if greater { Expr::expr(id).gt(cursor.id) } else { Expr::expr(id).lt(cursor.id) };
        Ok(Condition::any().add(strictly).add(Condition::all().add(Expr::expr(key).eq(value)).add(tie)))
    }

    /// Adds the cursor bounds, the order (reversed when paging backward) and the limit (+1 to detect more).
    pub fn apply(&self, select: &mut SelectStatement, page: &Page) -> AppResult<()> {
        if let Some(after) = &page.after {
            select.cond_where(self.beyond(&after.cursor("after")?, "after", true)?);
        }
        if let Some(before) = &page.before {
            select.cond_where(self.beyond(&before.cursor("before")?, "before", false)?);
        }
        self.order(select, page);
        select.limit(page.limit + 1);
        Ok(())
    }

    /// Orders a select as `apply` does (reversed when paging backward), without bounds or a limit: for an outer
    /// query over a page already cut.
    pub fn order(&self, select: &mut SelectStatement, page: &Page) {
        let order = self.fetch_order(page);
        select.order_by_expr(self.key.clone(), order.clone()).order_by_expr(self.id.clone(), order);
    }

    /// The order a page's rows are fetched in: the sort's, reversed when paging backward.
    pub fn fetch_order(&self, page: &Page) -> Order {
        if self.descending == page.backward { Order::Asc } else { Order::Desc }
    }

    pub fn cursor(&self, key: SortValue, id: Uuid) -> Cursor {
        Cursor { order: Cow::Borrowed(self.name), key, id }
    }
}

impl SortKey {
    /// Newest first by a creation time, ties by id: the order most lists take. `name` is the list's, for its cursors.
    pub fn newest(name: &'static str, created_at: impl IntoColumnRef, id: impl IntoColumnRef) -> Self {
        Self { name, kind: SortKind::Time, key: Expr::col(created_at), id: Expr::col(id), descending: true }
    }

    /// A page of `select`'s rows in this order, each with its cursor; `stamp` reads a row's creation time and id.
    pub async fn page<M: FromQueryResult>(
        &self,
        db: &impl ConnectionTrait,
        mut select: SelectStatement,
        page: &Page,
        stamp: impl Fn(&M) -> (DateTime<Utc>, Uuid),
    ) -> AppResult<PageRows<(Cursor, M)>> {
        self.apply(&mut select, page)?;
        let rows: Vec<M> = fetch_rows(db, &select).await?;
        let rows = rows
            .into_iter()
            .map(|row| {
                let (at, id) = stamp(&row);
                (self.cursor(SortValue::Time(at), id), row)
            })
            .collect();
        Ok(PageRows::from_fetched(rows, page))
    }
}

/// One fetched page: rows in display order, and whether more exist either side.
pub struct PageRows<T> {
    pub rows: Vec<T>,
    pub has_previous: bool,
    pub has_next: bool,
}

impl<T> Default for PageRows<T> {
    fn default() -> Self {
        Self { rows: Vec::new(), has_previous: false, has_next: false }
    }
}

impl<T> PageRows<T> {
    /// Trims the extra row fetched to detect a further page, and restores display order after backward paging.
    pub fn from_fetched(mut rows: Vec<T>, page: &Page) -> Self {
        let has_more = rows.len() as u64 > page.limit;
        rows.truncate(page.limit as usize);
        if page.backward {
            rows.reverse();
            Self { rows, has_previous: has_more, has_next: page.before.is_some() }
        } else {
            Self { rows, has_previous: page.after.is_some(), has_next: has_more }
        }
    }
}

/// Runs a select and decodes each row into a model (plus any extra selected columns via `row`).
pub async fn fetch_rows<M: FromQueryResult>(db: &impl ConnectionTrait, select: &SelectStatement) -> AppResult<Vec<M>> {
    Ok(M::find_by_statement(db.get_database_backend().build(select)).all(db).await?)
}

/// `fetch_rows` on the read connections.
pub async fn read_rows<M: FromQueryResult>(reads: &Reads, select: &SelectStatement) -> AppResult<Vec<M>> {
    let rows = reads.query_all(reads.backend().build(select)).await?;
    Ok(rows.iter().map(|row| M::from_query_result(row, "")).collect::<Result<_, _>>()?)
}

/// Runs a select and decodes each row with `decode`, which knows which columns the select chose. `layout` reads
/// off the first row whatever `decode` needs to know of all of them (where a named column is).
pub async fn fetch_decoded<T, L>(
    reads: &Reads,
    select: &SelectStatement,
    layout: impl FnOnce(&sea_orm::QueryResult) -> Result<L, sea_orm::DbErr>,
    decode: impl Fn(&sea_orm::QueryResult, &L) -> Result<T, sea_orm::DbErr>,
) -> AppResult<Vec<T>> {
    let rows = reads.query_all(reads.backend().build(select)).await?;
    let Some(first) = rows.first() else { return Ok(Vec::new()) };
    // Every row of a result has the same columns: named ones are looked up once, not once a row.
    let layout = layout(first)?;
    // Sized up front: collecting `Result`s cannot know the length, and grew the page by copying it.
    let mut decoded = Vec::with_capacity(rows.len());
    for row in &rows {
        decoded.push(decode(row, &layout)?);
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_arguments_are_bounded() {
        assert_eq!(Page::parse(None, None, None, None).map(|p| p.limit), Ok(20));
        assert!(Page::parse(Some(101), None, None, None).is_err());
        assert!(Page::parse(Some(-1), None, None, None).is_err());
        assert!(Page::parse(Some(5), None, Some(5), None).is_err());
        assert!(Page::parse(Some(5), Some("garbage".into()), None, None).is_err());
        let page = Page::parse(None, None, Some(7), None).expect("valid");
        assert!(page.backward);
        assert_eq!(page.limit, 7);
    }

    #[test]
    fn cursors_round_trip() {
        let c = Cursor { order: "NEWEST".into(), key: SortValue::Number(1.5), id: Uuid::new_v4() };
        assert_eq!(Cursor::decode(&c.encode()).ok(), Some(c));
    }

    #[test]
    fn extra_row_signals_a_next_page() {
        let page = Page::first(2);
        let rows = PageRows::from_fetched(vec![1, 2, 3], &page);
        assert_eq!(rows.rows, vec![1, 2]);
        assert!(rows.has_next && !rows.has_previous);
        let back = Page { limit: 2, backward: true, after: None, before: None };
        let rows = PageRows::from_fetched(vec![9, 8, 7], &back);
        assert_eq!(rows.rows, vec![8, 9]);
        assert!(rows.has_previous && !rows.has_next);
    }
}
