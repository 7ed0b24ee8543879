//! Decoding the read paths' rows by column position. Listings, child pages and by-id loads select an entity's
//! columns in `Column::iter()` order, so each value can be taken by its position through sqlx's own decoding,
//! the same decoding sea-orm's derived reads use. Those look every column up by name, and format a string for
//! every prefixed (joined) column and for every NULL: a quarter of a listing's server CPU under load. Listings and
//! child pages select only the columns the document can show (`Shown`); the others decode as their type's default.
//! A value of the wrong SQL type is an error (`DbErr::Type`), never a wrong value or a panic: on SQLite every value
//! is checked, on PostgreSQL the first row of each result (`check`) and every row read by id.
use sea_orm::sea_query::{Alias, Expr, SelectStatement};
use sea_orm::sqlx::{self, Column as _, Row as _};
use sea_orm::{DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable, QueryResult};

/// A model decoded from consecutive columns of a row, in its entity's column order.
pub trait ByPosition: Sized {
    /// The columns, in the order they are decoded: the entity's `Column::iter()` order (a test holds them to it).
    const COLUMNS: &'static [&'static str];

    /// The model from the columns starting at `start`, of which only those in `read` were selected. On
    /// PostgreSQL the values' types are trusted: check them once per result with `decode_checked_at`.
    fn decode_at(row: &QueryResult, start: usize, read: Columns) -> Result<Self, DbErr>;

    /// The same, checking each value's SQL type against its field's (a mismatch is `DbErr::Type`).
    fn decode_checked_at(row: &QueryResult, start: usize, read: Columns) -> Result<Self, DbErr>;
}

/// Checks the types of a model's columns in a result's first row. On PostgreSQL every row of a result has its
/// columns' types, so the other rows decode trusted; checking each value cost about a tenth of decoding a page.
pub fn check<M: ByPosition>(row: &QueryResult, start: usize, read: Columns) -> Result<(), DbErr> {
    M::decode_checked_at(row, start, read).map(drop)
}

/// `check` for a joined model whose columns start at `start` (nothing to check where the join found none).
pub fn check_joined<M: ByPosition>(row: &QueryResult, start: Option<usize>, read: Columns) -> Result<(), DbErr> {
    match start {
        Some(start) if checked_value::<Option<uuid::Uuid>>(row, start)?.is_some() => check::<M>(row, start, read),
        _ => Ok(()),
    }
}

/// One value by position, its SQL type checked against `T` (as sqlx's `try_get` does).
pub fn checked_value<T>(row: &QueryResult, index: usize) -> Result<T, DbErr>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + 'static,
{
    let decoded = if let Some(row) = row.try_as_pg_row() {
        row.try_get::<T, _>(index)
    } else if let Some(row) = row.try_as_sqlite_row() {
        row.try_get::<T, _>(index)
    } else {
        return Err(DbErr::Custom("rows by position: an unsupported database".into()));
    };
    decoded.map_err(|e| DbErr::Type(format!("column {index}: {e}")))
}

/// One value by position.
pub fn value<T>(row: &QueryResult, index: usize) -> Result<T, DbErr>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + 'static,
{
    if let Some(row) = row.try_as_pg_row()
        && let Some(timestamp) = pg_timestamp::<T>(row, index)
    {
        return timestamp;
    }
    // On PostgreSQL unchecked: checking each value's SQL type cost about a tenth of decoding a page, and every row
    // of a result has the same column types, which the readers check on its first row (`check`). SQLite types
    // each value on its own, so there every value is checked.
    match row.try_as_pg_row() {
        Some(row) => row.try_get_unchecked::<T, _>(index).map_err(|e| DbErr::Type(format!("column {index}: {e}"))),
        None => checked_value(row, index),
    }
}

/// The microseconds from the Unix epoch to PostgreSQL's, 2000-01-01.
const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

/// A timestamp (`T` a `DateTime<Utc>` or an optional one) read straight from PostgreSQL's binary form, the
/// microseconds since its epoch. sqlx goes through a fixed offset and a calendar date, about 400 instructions a
/// value: a quarter of decoding a dashboard's rows. `None` for any other `T`, and for a value in text form
/// (then sqlx decodes it as usual).
fn pg_timestamp<T: 'static>(row: &sqlx::postgres::PgRow, index: usize) -> Option<Result<T, DbErr>> {
    use chrono::{DateTime, Utc};
    use sqlx::ValueRef as _;
    use std::any::Any;
    let optional = std::any::TypeId::of::<T>() == std::any::TypeId::of::<Option<DateTime<Utc>>>();
    if !optional && std::any::TypeId::of::<T>() != std::any::TypeId::of::<DateTime<Utc>>() {
        return None;
    }
    let raw = match row.try_get_raw(index) {
        Ok(raw) => raw,
        Err(e) => return Some(Err(DbErr::Type(format!("column {index}: {e}")))),
    };
    let timestamp = if raw.is_null() {
        None
    } else {
        if raw.format() != sqlx::postgres::PgValueFormat::Binary {
            return None;
        }
        let bytes = raw.as_bytes().ok().and_then(|b| <[u8; 8]>::try_from(b).ok());
        let at = bytes
            .and_then(|b| i64::from_be_bytes(b).checked_add(PG_EPOCH_UNIX_MICROS))
            .and_then(DateTime::<Utc>::from_timestamp_micros);
        match at {
            Some(at) => Some(at),
            None => return Some(Err(DbErr::Type(format!("column {index}: not a timestamp in range")))),
        }
    };
    // `T` is one of the two types checked above: hand the value over as it.
    let mut slot: Option<T> = None;
    let any: &mut dyn Any = &mut slot;
    if let Some(slot) = any.downcast_mut::<Option<Option<DateTime<Utc>>>>() {
        *slot = Some(timestamp);
    } else if let Some(slot) = any.downcast_mut::<Option<DateTime<Utc>>>() {
        *slot = timestamp;
    }
    Some(slot.ok_or_else(|| DbErr::Type(format!("column {index}: an unexpected NULL"))))
}

/// Where a named column is in the row (one lookup, for where a joined entity's columns start).
pub fn position(row: &QueryResult, name: &str) -> Option<usize> {
    if let Some(row) = row.try_as_pg_row() {
        row.try_column(name).ok().map(|c| c.ordinal())
    } else {
        row.try_as_sqlite_row().and_then(|row| row.try_column(name).ok().map(|c| c.ordinal()))
    }
}

/// A joined entity whose columns start at `start` (where its prefixed id is, found with `position`), if the row
/// has them and they are not a left join's NULLs.
pub fn joined<M: ByPosition>(row: &QueryResult, start: Option<usize>, read: Columns) -> Result<Option<M>, DbErr> {
    let Some(start) = start else { return Ok(None) };
    if value::<Option<uuid::Uuid>>(row, start)?.is_none() {
        return Ok(None);
    }
    M::decode_at(row, start, read).map(Some)
}

/// A whole row that is one model, for `fetch_rows`.
pub struct Positional<M>(pub M);

impl<M: ByPosition> FromQueryResult for Positional<M> {
    /// Checked: by-id loads and small reads, where knowing which row is a result's first is not worth the trouble.
    fn from_query_result(row: &QueryResult, _pre: &str) -> Result<Self, DbErr> {
        M::decode_checked_at(row, 0, Columns::ALL).map(Positional)
    }
}

/// A set of an entity's columns: a bit for each, in `Column::iter()` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Columns(u64);

impl Columns {
    pub const ALL: Columns = Columns(u64::MAX);

    pub fn has(self, index: usize) -> bool {
        index < 64 && self.0 & (1 << index) != 0
    }

    fn without(self, index: usize) -> Columns {
        Columns(self.0 & !(1 << index))
    }
}

/// Which columns a request's document can show, of the tables its listings and child pages read (the api's
/// `READ_BY` says which fields read which column). Those reads select only these columns and decode the others as
/// their type's default. Everything else
/// (services, mutations, by-id loads) reads whole rows, but the organisation and volunteer loaders also hand out
/// the rows listings and pages joined, which is why the rule is by field name across the whole document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shown {
    needs: Columns,
    organisations: Columns,
    volunteers: Columns,
    applications: Columns,
}

impl Shown {
    /// Every column: for reads that no document drives.
    pub const ALL: Shown = Shown {
        needs: Columns::ALL,
        organisations: Columns::ALL,
        volunteers: Columns::ALL,
        applications: Columns::ALL,
    };

    /// The same without one column of a table (a table other than the four is left as it is).
    pub fn without(mut self, table: &str, column: &str) -> Shown {
        let (columns, names) = match table {
            "needs" => (&mut self.needs, entity::need::Model::COLUMNS),
            "organisations" => (&mut self.organisations, entity::organisation::Model::COLUMNS),
            "volunteer_profiles" => (&mut self.volunteers, entity::volunteer_profile::Model::COLUMNS),
            "applications" => (&mut self.applications, entity::application::Model::COLUMNS),
            _ => return self,
        };
        if let Some(index) = names.iter().position(|name| *name == column) {
            *columns = columns.without(index);
        }
        self
    }

    /// The same, reading `E`'s `columns` too: for a statement that uses them outside the table's own select.
    pub fn with<E: EntityTrait>(mut self, columns: &[&str]) -> Shown {
        let read = match E::default().table_name() {
            "needs" => &mut self.needs,
            "organisations" => &mut self.organisations,
            "volunteer_profiles" => &mut self.volunteers,
            "applications" => &mut self.applications,
            _ => return self,
        };
        for (index, column) in E::Column::iter().enumerate() {
            if columns.contains(&IdenStatic::as_str(&column)) {
                read.0 |= 1 << index;
            }
        }
        self
    }

    /// `E`'s columns as read for this document.
    pub fn columns<E: EntityTrait>(&self) -> Columns {
        match E::default().table_name() {
            "needs" => self.needs,
            "organisations" => self.organisations,
            "volunteer_profiles" => self.volunteers,
            "applications" => self.applications,
            _ => Columns::ALL,
        }
    }

    /// Replaces `select`'s columns with `E`'s columns read for this document, in order, under their own names
    /// (after `prefix`).
    pub fn select<E: EntityTrait>(&self, select: &mut SelectStatement, prefix: &str) {
        let read = self.columns::<E>();
        for (index, column) in E::Column::iter().enumerate() {
            if !read.has(index) {
                continue;
            }
            let name = IdenStatic::as_str(&column);
            let expr = Expr::col((E::default(), column));
            if prefix.is_empty() {
                select.expr_as(expr, Alias::new(name));
            } else {
                select.expr_as(expr, Alias::new(format!("{prefix}{name}")));
            }
        }
    }
}

/// The body `by_position!` writes once for both of `ByPosition`'s decodings.
trait DecodeFrom: Sized {
    fn decode_from<const CHECKED: bool>(row: &QueryResult, start: usize, read: Columns) -> Result<Self, DbErr>;
}

macro_rules! by_position {
    ($($module:ident { $($field:ident),+ $(,)? })+) => {$(
        impl ByPosition for entity::$module::Model {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),+];

            fn decode_at(row: &QueryResult, start: usize, read: Columns) -> Result<Self, DbErr> {
                Self::decode_from::<false>(row, start, read)
            }

            fn decode_checked_at(row: &QueryResult, start: usize, read: Columns) -> Result<Self, DbErr> {
                Self::decode_from::<true>(row, start, read)
            }
        }

        impl DecodeFrom for entity::$module::Model {
            // One body for both: `CHECKED` is a constant, so each copy compiled has no branch per value.
            fn decode_from<const CHECKED: bool>(row: &QueryResult, start: usize, read: Columns) -> Result<Self, DbErr> {
                let (mut at, mut index) = (start, 0);
                // In the columns' order; a column not read is its type's default.
                $(
                    let $field = if read.has(index) {
                        at += 1;
                        if CHECKED { checked_value(row, at - 1)? } else { value(row, at - 1)? }
                    } else {
                        Default::default()
                    };
                    index += 1;
                )+
                let _ = (at, index);
                Ok(Self { $($field),+ })
            }
        }
    )+};
}

by_position! {
    user { id, email, password_hash, display_name, role, created_at, updated_at, email_verified_at, deleted_at,
        sessions_valid_from }
    organisation { id, slug, name, kind, description, website, contact_email, postcode, lat, lng, verified,
        created_at, updated_at }
    offer { id, volunteer_id, organisation_id, kind, title, description, category, postcode, lat, lng, remote,
        availability, status, created_at, updated_at }
    membership { id, organisation_id, user_id, role, created_at }
    application { id, need_id, volunteer_id, message, status, applied_at, invited_at, accepted_at, declined_at,
        withdrawn_at, completed_at, created_at, updated_at }
    need { id, organisation_id, title, description, category, required_skills, languages, safeguarding,
        weekly_schedule, schedule_mask, start_date, end_date, postcode, lat, lng, remote, volunteers_needed,
        places_taken, status, published_at, created_at, updated_at }
    volunteer_profile { id, user_id, display_name, bio, skills, interests, languages, postcode, lat, lng,
        travel_radius_km, availability, availability_mask, dbs_level, dbs_issued_on, dbs_recheck_by,
        dbs_update_service, created_at, updated_at, deleted_at }
}

#[cfg(test)]
mod tests {
    use sea_orm::{EntityTrait, IdenStatic, Iterable};

    use super::{ByPosition, Shown};

    fn names<E: EntityTrait>() -> Vec<&'static str> {
        E::Column::iter().map(|c| IdenStatic::as_str(&c)).collect()
    }

    /// Decoding by position relies on the entity's column order: a column added, renamed or moved in an entity
    /// must be mirrored here.
    #[test]
    fn positions_follow_each_entitys_columns() {
        use entity::*;
        assert_eq!(user::Model::COLUMNS, names::<user::Entity>());
        assert_eq!(organisation::Model::COLUMNS, names::<organisation::Entity>());
        assert_eq!(offer::Model::COLUMNS, names::<offer::Entity>());
        assert_eq!(membership::Model::COLUMNS, names::<membership::Entity>());
        assert_eq!(application::Model::COLUMNS, names::<application::Entity>());
        assert_eq!(need::Model::COLUMNS, names::<need::Entity>());
        assert_eq!(volunteer_profile::Model::COLUMNS, names::<volunteer_profile::Entity>());
    }

    #[test]
    fn a_column_left_out_is_not_read_and_others_are() {
        let shown = Shown::ALL.without("needs", "description").without("nowhere", "description");
        let index = |column| names::<entity::need::Entity>().iter().position(|c| *c == column).expect("a column");
        assert!(!shown.columns::<entity::need::Entity>().has(index("description")));
        assert!(shown.columns::<entity::need::Entity>().has(index("title")));
        assert_eq!(
            shown.columns::<entity::organisation::Entity>(),
            Shown::ALL.columns::<entity::organisation::Entity>()
        );
        assert!(
            shown
                .with::<entity::need::Entity>(&["description"])
                .columns::<entity::need::Entity>()
                .has(index("description"))
        );
    }
}
