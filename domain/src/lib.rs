//! Pitch In's domain: everything true whatever the transport. It depends on `entity` and sea-orm, never on
//! async-graphql, axum or hyper (`cargo tree -p domain` shows it), so the GraphQL server in `api` is one way in
//! among others (the CLI, the fixtures, tests that call it directly).
//!
//! `values` are parsed inputs, `error` the one error type, `access` the one policy; each area has a folder.
pub mod access;
pub mod api_keys;
pub mod applications;
pub mod audit;
mod enums;
pub mod error;
pub mod funding;
pub mod hours;
pub mod live;
pub mod matching;
pub mod needs;
pub mod notifications;
pub mod offers;
pub mod organisations;
pub mod partnerships;
pub mod privacy;
pub mod projects;
pub mod store;
pub mod users;
pub mod values;
pub mod volunteers;
pub mod wards;
pub mod webhooks;

use chrono::{DateTime, SubsecRound, Utc};

pub use error::{AppError, AppResult};

/// The current time at the precision both databases store (microseconds), so a value read back
/// equals the value written: keyset cursors compare them exactly.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    /// The wall between the layers: the domain, and the storage under it, name no web framework. (Cargo would
    /// then let any of them in by the back door: `cargo tree -p domain` shows the whole tree.)
    #[test]
    fn the_domain_and_its_storage_depend_on_no_web_framework() {
        for (crate_name, manifest) in
            [("domain", include_str!("../Cargo.toml")), ("entity", include_str!("../../entity/Cargo.toml"))]
        {
            for framework in ["async-graphql", "axum", "hyper", "tower", "reqwest"] {
                let named = manifest.lines().any(|line| line.trim_start().starts_with(framework));
                assert!(!named, "{crate_name} depends on {framework}");
            }
        }
    }
}
