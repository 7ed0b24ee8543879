//! `db_enum!`: a GraphQL enum stored as its SCREAMING_SNAKE_CASE name in a string column (both backends
//! share one schema, so no native database enums).
#[macro_export]
macro_rules! db_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $db:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* #[graphql(name = $db)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_db(self) -> &'static str {
                match self {
                    $($name::$variant => $db),+
                }
            }

            pub fn from_db(value: &str) -> Option<Self> {
                match value {
                    $($db => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

// The GraphQL face of `domain::values::Weekday` (async-graphql's `remote` writes the conversions both ways). A plain
// comment, not a doc comment, which would become the enum's description in schema.graphql.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::values::Weekday")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}
