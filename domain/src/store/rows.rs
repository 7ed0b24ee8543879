//! Decoding the read paths' rows by column position. Listings, child pages and by-id loads select an entity's
//! columns in `Column::iter()` order, so each value can be taken by its position through sqlx's own decoding,
//! the same decoding sea-orm's derived reads use. Those look every column up by name, and format a string for
//! every prefixed (joined) column and for every NULL: a quarter of a listing's server CPU under load. Listings and
//! child pages select only the columns the document can show (`Shown`), and yield `Read` rows whose accessors
//! refuse a column that was not read.
//! A value of the wrong SQL type is an error (`DbErr::Type`), never a wrong value or a panic: on SQLite every value
//! is checked, on PostgreSQL the first row of each result (`check`) and every row read by id.
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::prelude::Json;
use sea_orm::sea_query::{Alias, Expr, SelectStatement};
use sea_orm::sqlx::{self, Column as _, Row as _};
use sea_orm::{DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable, QueryResult};

use uuid::Uuid;

use crate::error::AppError;

/// A model decoded from consecutive columns of a row, in its entity's column order.
pub trait ByPosition: HasId + Sized {
    /// The columns, in the order they are decoded: the entity's `Column::iter()` order (a test holds them to it).
    const COLUMNS: &'static [&'static str];

    /// Which of them a listing or child page may leave out when the document shows nothing that reads them
    /// (`Shown`), in the same order. None, for a table always read whole.
    const SHEDDABLE: &'static [bool];

    /// What a read of some of the columns yields: a `Read` of the model, for a table with sheddable columns, whose
    /// accessors make the caller handle a column that was not read; the model itself for a table read whole.
    type Row: HasId + Clone + Send + Sync + 'static;

    /// The model from all its columns, starting at `start`. On PostgreSQL the values' types are trusted: check
    /// them once per result with `decode_checked_at`.
    fn decode_at(row: &QueryResult, start: usize) -> Result<Self, DbErr>;

    /// The same, checking each value's SQL type against its field's (a mismatch is `DbErr::Type`).
    fn decode_checked_at(row: &QueryResult, start: usize) -> Result<Self, DbErr>;

    /// The row from the columns starting at `start`, of which only those in `read` were selected (types trusted
    /// on PostgreSQL, as `decode_at`).
    fn read_at(row: &QueryResult, start: usize, read: Columns) -> Result<Self::Row, DbErr>;

    /// The same, checking each value's type.
    fn read_checked_at(row: &QueryResult, start: usize, read: Columns) -> Result<Self::Row, DbErr>;

    /// The row of a whole model (from a service, or read by id).
    fn whole(model: Self) -> Self::Row;
}

/// A stored row's primary key and creation time: what child pages are ordered by, and by-id loads keyed by.
/// Always read, whatever a document shows.
pub trait HasId {
    fn id(&self) -> Uuid;
    fn created_at(&self) -> DateTime<Utc>;
}

/// A row of a table whose listings read only the columns a document shows: the model, and which columns were read.
/// Its accessors (written by `by_position!`) give the always-read columns as they are and the sheddable ones as a
/// `Result`, so a resolver cannot read a column its query left out as if it were data: it gets an internal error
/// instead, which a test of its field then shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Read<M> {
    model: M,
    read: Columns,
}

impl<M: ByPosition> Read<M> {
    /// Every column read.
    pub fn whole(model: M) -> Self {
        Self { model, read: Columns::ALL }
    }

    /// The whole model, if every column was read (for code that uses many of them, such as matching's scoring).
    pub fn as_whole(&self) -> Option<&M> {
        (0..M::COLUMNS.len()).all(|i| self.read.has(i)).then_some(&self.model)
    }

    /// A sheddable column's value, if it was read.
    fn shown<'a, T>(&'a self, index: usize, value: &'a T) -> Result<&'a T, AppError> {
        if self.read.has(index) {
            Ok(value)
        } else {
            Err(AppError::Internal(format!("column {} was not read for this document", M::COLUMNS[index])))
        }
    }
}

impl<M: ByPosition> From<M> for Read<M> {
    fn from(model: M) -> Self {
        Self::whole(model)
    }
}

/// Where `name` is in `names` (at compile time, for the accessors' column indexes).
const fn index_of(names: &[&str], name: &str) -> usize {
    let mut i = 0;
    while i < names.len() {
        let (a, b) = (names[i].as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("no such column")
}

/// Checks the types of a model's columns in a result's first row. On PostgreSQL every row of a result has its
/// columns' types, so the other rows decode trusted; checking each value cost about a tenth of decoding a page.
pub fn check<M: ByPosition>(row: &QueryResult, start: usize, read: Columns) -> Result<(), DbErr> {
    M::read_checked_at(row, start, read).map(drop)
}

/// `check` for a joined model whose columns start at `start` (nothing to check where the join found none).
pub fn check_joined<M: ByPosition>(row: &QueryResult, start: Option<usize>, read: Columns) -> Result<(), DbErr> {
    match start {
        Some(start) if checked_value::<Option<Uuid>>(row, start)?.is_some() => check::<M>(row, start, read),
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
pub fn joined<M: ByPosition>(row: &QueryResult, start: Option<usize>, read: Columns) -> Result<Option<M::Row>, DbErr> {
    let Some(start) = start else { return Ok(None) };
    if value::<Option<Uuid>>(row, start)?.is_none() {
        return Ok(None);
    }
    M::read_at(row, start, read).map(Some)
}

/// A whole row that is one model, for `fetch_rows`.
pub struct Positional<M>(pub M);

impl<M: ByPosition> FromQueryResult for Positional<M> {
    /// Checked: by-id loads and small reads, where knowing which row is a result's first is not worth the trouble.
    fn from_query_result(row: &QueryResult, _pre: &str) -> Result<Self, DbErr> {
        M::decode_checked_at(row, 0).map(Positional)
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

    /// Whether the first `n` columns are all here.
    fn covers(self, n: usize) -> bool {
        (0..n).all(|i| self.has(i))
    }

    fn without(self, index: usize) -> Columns {
        Columns(self.0 & !(1 << index))
    }
}

/// Which columns a request's document can show, of the tables its listings and child pages read (the api's
/// `READ_BY` says which fields read which column). Those reads select only these columns, of the ones
/// `by_position!` marks sheddable, and yield `Read` rows that know it. Everything else (services, mutations,
/// by-id loads) reads whole rows, but the organisation and volunteer loaders also hand out the rows listings and
/// pages joined, which is why the rule is by field name across the whole document.
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
        use entity::{application, need, organisation, volunteer_profile};
        let (columns, names, sheddable) = match table {
            "needs" => (&mut self.needs, need::Model::COLUMNS, need::Model::SHEDDABLE),
            "organisations" => (&mut self.organisations, organisation::Model::COLUMNS, organisation::Model::SHEDDABLE),
            "volunteer_profiles" => {
                (&mut self.volunteers, volunteer_profile::Model::COLUMNS, volunteer_profile::Model::SHEDDABLE)
            }
            "applications" => (&mut self.applications, application::Model::COLUMNS, application::Model::SHEDDABLE),
            _ => return self,
        };
        // Only a sheddable column: the others have accessors that assume them read.
        if let Some(index) = names.iter().position(|name| *name == column)
            && sheddable.get(index).copied().unwrap_or(false)
        {
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

/// Implements `ByPosition` for entities' models. `whole` tables are always read whole (their row is the model);
/// `partial` ones list every column with its type, each `always` (read whatever the document shows: keys, status,
/// the dates cursors and privacy checks use) or `shown` (left out unless the document shows it), and get accessors
/// on `Read` of their model: `&T` for an always-read column, `AppResult<&T>` for a shown one.
macro_rules! by_position {
    (@body $module:ident { $($field:ident),+ }) => {
        impl DecodeFrom for entity::$module::Model {
            // One body for both: `CHECKED` is a constant, so each copy compiled has no branch per value.
            fn decode_from<const CHECKED: bool>(row: &QueryResult, start: usize, read: Columns) -> Result<Self, DbErr> {
                let (mut at, mut index) = (start, 0);
                // In the columns' order; a column not read is its type's default, for `Read` to refuse.
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
    };
    (@shed always) => { false };
    (@shed shown) => { true };
    (@get $module:ident always $field:ident: $ty:ty) => {
        pub fn $field(&self) -> &$ty {
            &self.model.$field
        }
    };
    (@get $module:ident shown $field:ident: $ty:ty) => {
        pub fn $field(&self) -> Result<&$ty, AppError> {
            const INDEX: usize = index_of(<entity::$module::Model as ByPosition>::COLUMNS, stringify!($field));
            self.shown(INDEX, &self.model.$field)
        }
    };
    (whole $module:ident { $($field:ident),+ $(,)? } $($rest:tt)*) => {
        by_position!(@body $module { $($field),+ });
        impl ByPosition for entity::$module::Model {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),+];
            const SHEDDABLE: &'static [bool] = &[];
            type Row = Self;

            fn decode_at(row: &QueryResult, start: usize) -> Result<Self, DbErr> {
                Self::decode_from::<false>(row, start, Columns::ALL)
            }
            fn decode_checked_at(row: &QueryResult, start: usize) -> Result<Self, DbErr> {
                Self::decode_from::<true>(row, start, Columns::ALL)
            }
            fn read_at(row: &QueryResult, start: usize, read: Columns) -> Result<Self, DbErr> {
                whole_read::<Self>(read)?;
                Self::decode_at(row, start)
            }
            fn read_checked_at(row: &QueryResult, start: usize, read: Columns) -> Result<Self, DbErr> {
                whole_read::<Self>(read)?;
                Self::decode_checked_at(row, start)
            }
            fn whole(model: Self) -> Self {
                model
            }
        }
        impl HasId for entity::$module::Model {
            fn id(&self) -> Uuid {
                self.id
            }
            fn created_at(&self) -> DateTime<Utc> {
                self.created_at
            }
        }
        by_position!($($rest)*);
    };
    (partial $module:ident { $($mode:ident $field:ident: $ty:ty),+ $(,)? } $($rest:tt)*) => {
        by_position!(@body $module { $($field),+ });
        impl ByPosition for entity::$module::Model {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),+];
            const SHEDDABLE: &'static [bool] = &[$(by_position!(@shed $mode)),+];
            type Row = Read<Self>;

            fn decode_at(row: &QueryResult, start: usize) -> Result<Self, DbErr> {
                Self::decode_from::<false>(row, start, Columns::ALL)
            }
            fn decode_checked_at(row: &QueryResult, start: usize) -> Result<Self, DbErr> {
                Self::decode_from::<true>(row, start, Columns::ALL)
            }
            fn read_at(row: &QueryResult, start: usize, read: Columns) -> Result<Read<Self>, DbErr> {
                Ok(Read { model: Self::decode_from::<false>(row, start, read)?, read })
            }
            fn read_checked_at(row: &QueryResult, start: usize, read: Columns) -> Result<Read<Self>, DbErr> {
                Ok(Read { model: Self::decode_from::<true>(row, start, read)?, read })
            }
            fn whole(model: Self) -> Read<Self> {
                Read::whole(model)
            }
        }
        impl HasId for entity::$module::Model {
            fn id(&self) -> Uuid {
                self.id
            }
            fn created_at(&self) -> DateTime<Utc> {
                self.created_at
            }
        }
        impl HasId for Read<entity::$module::Model> {
            fn id(&self) -> Uuid {
                self.model.id
            }
            fn created_at(&self) -> DateTime<Utc> {
                self.model.created_at
            }
        }
        impl Read<entity::$module::Model> {
            $(by_position!(@get $module $mode $field: $ty);)+
        }
        by_position!($($rest)*);
    };
    () => {};
}

/// A table read whole is never read in part: its accessors-free model would hold defaults as data.
fn whole_read<M: ByPosition>(read: Columns) -> Result<(), DbErr> {
    if read.covers(M::COLUMNS.len()) {
        Ok(())
    } else {
        Err(DbErr::Custom("a table that is always read whole was read in part".into()))
    }
}

by_position! {
    whole user { id, email, password_hash, display_name, role, created_at, updated_at, email_verified_at, deleted_at,
        sessions_valid_from }
    whole offer { id, volunteer_id, organisation_id, kind, title, description, category, postcode, lat, lng, remote,
        availability, status, created_at, updated_at }
    whole membership { id, organisation_id, user_id, role, created_at }
    whole partnership_member { id, partnership_id, user_id, role, ward_id, organisation_id, votes, created_at }
    whole priority { id, partnership_id, financial_year, title, description, agreed_on, workshop, evidence, status,
        created_at, updated_at }
    whole project { id, organisation_id, title, summary, description, category, postcode, lat, lng, ward_id,
        area_wide, beneficiaries, min_age, max_age, languages, weekly_schedule, start_date, end_date, status,
        created_at, updated_at }
    whole fund { id, owner_id, kind, name, financial_year, holder_id, rules, decision_mode, quorum, rolls_over,
        available_pence, created_at, updated_at }
    whole bid { id, fund_id, project_id, organisation_id, title, purpose, amount_requested, budget_lines, priority_ids,
        expected_outcomes, match_funding, event_date, status, amount_awarded, amount_paid, conditions,
        rejection_reason, decided_by, decided_at, submitted_at, report, created_by, created_at, updated_at }
    whole ward { id, gss_code, name, council_id, partnership_id, population, imd_decile, figures_illustrative,
        created_at, updated_at }
    partial organisation {
        always id: Uuid, shown slug: String, shown name: String, shown kind: String, shown description: String,
        shown website: Option<String>, shown contact_email: Option<String>, shown postcode: Option<String>,
        shown lat: Option<f64>, shown lng: Option<f64>, shown verified: bool, always created_at: DateTime<Utc>,
        shown updated_at: DateTime<Utc>, shown charity_number: Option<String>, shown company_number: Option<String>,
        shown local_authority_code: Option<String>,
    }
    partial application {
        always id: Uuid, always need_id: Uuid, always volunteer_id: Uuid, shown message: String,
        always status: String, shown applied_at: Option<DateTime<Utc>>, shown invited_at: Option<DateTime<Utc>>,
        shown accepted_at: Option<DateTime<Utc>>, shown declined_at: Option<DateTime<Utc>>,
        shown withdrawn_at: Option<DateTime<Utc>>, shown completed_at: Option<DateTime<Utc>>,
        always created_at: DateTime<Utc>, shown updated_at: DateTime<Utc>,
        shown waitlisted_at: Option<DateTime<Utc>>, shown expired_at: Option<DateTime<Utc>>,
    }
    partial need {
        always id: Uuid, always organisation_id: Uuid, shown title: String, shown description: String,
        shown category: String, shown required_skills: Json, shown languages: Json, shown safeguarding: String,
        shown weekly_schedule: Json, always schedule_mask: i64, always start_date: Option<NaiveDate>,
        shown end_date: Option<NaiveDate>, shown postcode: Option<String>, shown lat: Option<f64>,
        shown lng: Option<f64>, shown remote: bool, shown volunteers_needed: i32, shown places_taken: i32,
        always status: String, shown published_at: Option<DateTime<Utc>>, always created_at: DateTime<Utc>,
        shown updated_at: DateTime<Utc>, always project_id: Option<Uuid>, shown waitlist_cap: Option<i32>,
        always signup_mode: String, always session_capacity: Option<i32>, always safeguarding_verified: bool,
    }
    partial volunteer_profile {
        always id: Uuid, always user_id: Uuid, shown display_name: String, shown bio: String, shown skills: Json,
        shown interests: Json, shown languages: Json, shown postcode: Option<String>, shown lat: Option<f64>,
        shown lng: Option<f64>, shown travel_radius_km: f64, shown availability: Json,
        always availability_mask: i64, shown dbs_level: String, shown dbs_issued_on: Option<NaiveDate>,
        shown dbs_recheck_by: Option<NaiveDate>, shown dbs_update_service: bool, always created_at: DateTime<Utc>,
        shown updated_at: DateTime<Utc>, always deleted_at: Option<DateTime<Utc>>,
    }
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
        assert_eq!(ward::Model::COLUMNS, names::<ward::Entity>());
        assert_eq!(priority::Model::COLUMNS, names::<priority::Entity>());
        assert_eq!(project::Model::COLUMNS, names::<project::Entity>());
        assert_eq!(fund::Model::COLUMNS, names::<fund::Entity>());
        assert_eq!(bid::Model::COLUMNS, names::<bid::Entity>());
        assert_eq!(partnership_member::Model::COLUMNS, names::<partnership_member::Entity>());
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
