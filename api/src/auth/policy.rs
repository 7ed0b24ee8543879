//! Who may do what: the one policy lives in `domain::access`; this path keeps the callers' imports short.
pub use domain::access::{can_coordinate, can_grant, can_manage_organisation, member_role, require_coordinator};
