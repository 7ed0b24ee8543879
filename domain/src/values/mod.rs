//! Domain values parsed at the edge: once a value has one of these types it is known to be valid.
pub mod geo;
pub mod identity;
pub mod money;
pub mod patch;
pub mod registers;
pub mod schedule;
pub mod text;

pub use geo::{Coordinates, Postcode, RadiusKm};
pub use identity::{Email, Password};
pub use money::{FinancialYear, Pence};
pub use patch::Patch;
pub use registers::{CharityNumber, CompanyNumber, LocalAuthorityCode};
pub use schedule::{TimeWindow, Weekday};
pub use text::{bounded_text, optional_text, tags};
