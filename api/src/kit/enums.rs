//! The GraphQL faces of the domain's enums. `graphql_enum!` declares one: the same variants, named in GraphQL as
//! they are stored, with the descriptions schema.graphql shows, and conversions both ways (a variant missing on
//! either side does not compile). `from_db` and `as_db` go through the domain's enum, the one owner of the stored
//! names.
#[macro_export]
macro_rules! graphql_enum {
    ($(#[$meta:meta])* pub enum $name:ident as $domain:path { $($(#[$vmeta:meta])* $variant:ident => $db:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* #[graphql(name = $db)] $variant),+
        }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => Self::$variant),+
                }
            }
        }

        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                type Domain = $domain;
                match value {
                    $(Domain::$variant => Self::$variant),+
                }
            }
        }

        impl $name {
            pub fn as_db(self) -> &'static str {
                <$domain>::from(self).as_db()
            }

            pub fn from_db(value: &str) -> Option<Self> {
                <$domain>::from_db(value).map(Self::from)
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
