//! Decoding the read paths' rows by column position. Listings, child pages and by-id loads select an entity's
//! columns in `Column::iter()` order, so each value can be taken by its position through sqlx's own decoding,
//! the same decoding sea-orm's derived reads use. Those look every column up by name, and format a string for
//! every prefixed (joined) column and for every NULL: a quarter of a listing's server CPU under load.
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use sea_orm::sea_query::{Alias, Expr, SelectStatement, SimpleExpr};
use sea_orm::sqlx::{self, Column as _, Row as _};
use sea_orm::{DatabaseBackend, DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable, QueryResult};

/// A model decoded from consecutive columns of a row, in its entity's column order.
pub trait ByPosition: Sized {
    /// The columns, in the order they are decoded: the entity's `Column::iter()` order (a test holds them to it).
    const COLUMNS: &'static [&'static str];

    /// The model from the columns starting at `start`.
    fn decode_at(row: &QueryResult, start: usize) -> Result<Self, DbErr>;
}

/// One value by position.
pub fn value<T>(row: &QueryResult, index: usize) -> Result<T, DbErr>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>,
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

/// Where a named column is in the row (one lookup, for where a joined entity's columns start).
pub fn position(row: &QueryResult, name: &str) -> Option<usize> {
    if let Some(row) = row.try_as_pg_row() {
        row.try_column(name).ok().map(|c| c.ordinal())
    } else {
        row.try_as_sqlite_row().and_then(|row| row.try_column(name).ok().map(|c| c.ordinal()))
    }
}

/// A joined entity whose columns start at the column named `first` (its prefixed id), if the row has them and
/// they are not a left join's NULLs.
pub fn joined<M: ByPosition>(row: &QueryResult, first: &str) -> Result<Option<M>, DbErr> {
    let Some(start) = position(row, first) else { return Ok(None) };
    if value::<Option<uuid::Uuid>>(row, start)?.is_none() {
        return Ok(None);
    }
    M::decode_at(row, start).map(Some)
}

/// A whole row that is one model, for `fetch_rows`.
pub struct Positional<M>(pub M);

impl<M: ByPosition> FromQueryResult for Positional<M> {
    fn from_query_result(row: &QueryResult, _pre: &str) -> Result<Self, DbErr> {
        M::decode_at(row, 0).map(Positional)
    }
}

/// Which of the bulky columns (long texts, JSON lists) a request's document can show: those read by a field of
/// that name anywhere in it, whatever the field's type, so at worst a column is read that nothing shows. A
/// document's reads (listings, child pages and what they join) read the others as empty values of their type,
/// which keeps every column's position. Everything else (services, mutations, by-id reads) reads whole rows, but the
/// organisation and volunteer loaders also hand out the rows listings and pages joined: a resolver that computes
/// from a bulky column must name its field in `note`, or it may get the empty value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shown {
    description: bool,
    required_skills: bool,
    languages: bool,
    schedule: bool,
    bio: bool,
    skills: bool,
    interests: bool,
    availability: bool,
    message: bool,
}

/// How a left-out column is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Empty {
    Text,
    JsonList,
}

impl Shown {
    /// Every column: for reads that no document drives.
    pub const ALL: Shown = Shown {
        description: true,
        required_skills: true,
        languages: true,
        schedule: true,
        bio: true,
        skills: true,
        interests: true,
        availability: true,
        message: true,
    };

    /// The bulky columns `document` can show. Walks every selection set with a stack of its own, so no document
    /// (not even a deep fragment that validation will later refuse as unused) can exhaust the call stack.
    pub fn by(document: &ExecutableDocument) -> Shown {
        let mut shown = Shown {
            description: false,
            required_skills: false,
            languages: false,
            schedule: false,
            bio: false,
            skills: false,
            interests: false,
            availability: false,
            message: false,
        };
        let mut sets: Vec<&SelectionSet> =
            document.operations.iter().map(|(_, o)| &o.node.selection_set.node).collect();
        sets.extend(document.fragments.values().map(|f| &f.node.selection_set.node));
        while let Some(set) = sets.pop() {
            for item in &set.items {
                match &item.node {
                    Selection::Field(field) => {
                        shown.note(field.node.name.node.as_str());
                        sets.push(&field.node.selection_set.node);
                    }
                    Selection::InlineFragment(fragment) => sets.push(&fragment.node.selection_set.node),
                    Selection::FragmentSpread(_) => {}
                }
            }
        }
        shown
    }

    /// The GraphQL fields that read a bulky column (`Need`, `Organisation`, `VolunteerProfile`, `Application`).
    fn note(&mut self, field: &str) {
        match field {
            "description" => self.description = true,
            "requiredSkills" => self.required_skills = true,
            "languages" => self.languages = true,
            "schedule" => self.schedule = true,
            "bio" => self.bio = true,
            "skills" => self.skills = true,
            "interests" => self.interests = true,
            "availability" => self.availability = true,
            "message" => self.message = true,
            _ => {}
        }
    }

    /// How `table.column` is read when the document cannot show it; `None` when it is read.
    fn left_out(&self, table: &str, column: &str) -> Option<Empty> {
        let (shown, empty) = match (table, column) {
            ("needs" | "organisations", "description") => (self.description, Empty::Text),
            ("needs", "required_skills") => (self.required_skills, Empty::JsonList),
            ("needs" | "volunteer_profiles", "languages") => (self.languages, Empty::JsonList),
            ("needs", "weekly_schedule") => (self.schedule, Empty::JsonList),
            ("volunteer_profiles", "bio") => (self.bio, Empty::Text),
            ("volunteer_profiles", "skills") => (self.skills, Empty::JsonList),
            ("volunteer_profiles", "interests") => (self.interests, Empty::JsonList),
            ("volunteer_profiles", "availability") => (self.availability, Empty::JsonList),
            ("applications", "message") => (self.message, Empty::Text),
            _ => return None,
        };
        (!shown).then_some(empty)
    }

    /// `E`'s column as read for this document: itself, or an empty value of its type.
    pub fn column<E: EntityTrait>(&self, column: E::Column, backend: DatabaseBackend) -> SimpleExpr {
        match self.left_out(E::default().table_name(), IdenStatic::as_str(&column)) {
            None => Expr::col((E::default(), column)),
            Some(Empty::Text) => Expr::cust("''"),
            Some(Empty::JsonList) if backend == DatabaseBackend::Postgres => Expr::cust("CAST('[]' AS json)"),
            Some(Empty::JsonList) => Expr::cust("'[]'"),
        }
    }

    /// Replaces `select`'s columns with `E`'s columns as read for this document, in order, under their own names
    /// (after `prefix`).
    pub fn select<E: EntityTrait>(&self, select: &mut SelectStatement, backend: DatabaseBackend, prefix: &str) {
        for column in E::Column::iter() {
            let name = IdenStatic::as_str(&column);
            let expr = self.column::<E>(column, backend);
            if prefix.is_empty() {
                select.expr_as(expr, Alias::new(name));
            } else {
                select.expr_as(expr, Alias::new(format!("{prefix}{name}")));
            }
        }
    }
}

macro_rules! by_position {
    ($($module:ident { $($field:ident),+ $(,)? })+) => {$(
        impl ByPosition for entity::$module::Model {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),+];

            fn decode_at(row: &QueryResult, start: usize) -> Result<Self, DbErr> {
                let mut at = start;
                let mut next = || {
                    at += 1;
                    at - 1
                };
                // Struct fields are evaluated in the order written: the columns' order.
                Ok(Self { $($field: value(row, next())?),+ })
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

    fn shown(query: &str) -> Shown {
        Shown::by(&async_graphql::parser::parse_query(query).expect("parses"))
    }

    #[test]
    fn a_document_shows_the_bulky_columns_its_fields_read() {
        let listing = shown("{ needs { edges { node { id title organisation { name } } } } }");
        assert_eq!(listing.left_out("needs", "description"), Some(super::Empty::Text));
        assert_eq!(listing.left_out("needs", "weekly_schedule"), Some(super::Empty::JsonList));
        assert_eq!(listing.left_out("needs", "title"), None, "only bulky columns are ever left out");
        // Through fragments and inline fragments, on whatever type.
        let fragments =
            shown("query { node(id: \"x\") { ...F ... on Need { schedule } } } fragment F on VolunteerProfile { bio }");
        assert_eq!(fragments.left_out("needs", "weekly_schedule"), None);
        assert_eq!(fragments.left_out("volunteer_profiles", "bio"), None);
        assert_eq!(fragments.left_out("volunteer_profiles", "skills"), Some(super::Empty::JsonList));
        // A field name shared by types shows the column on each.
        let described = shown("{ organisation(id: \"x\") { description } }");
        assert_eq!(described.left_out("needs", "description"), None);
        assert_eq!(Shown::ALL.left_out("applications", "message"), None);
    }
}
