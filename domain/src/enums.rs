//! `db_enum!`: a closed set of values stored as its SCREAMING_SNAKE_CASE name in a string column (both backends
//! share one schema, so no native database enums). The GraphQL enums in `api` mirror these one to one.
#[macro_export]
macro_rules! db_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $db:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
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
