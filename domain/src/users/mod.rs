//! Users: accounts and their platform-wide role, passwords (`password`), sign-in sessions (`sessions`).
pub mod password;
pub mod service;
pub mod sessions;
pub mod verification;

crate::db_enum! {
    /// What a user may do across the whole platform.
    pub enum PlatformRole {
        Member => "MEMBER",
        /// May do everything, in every organisation.
        Admin => "ADMIN",
    }
}
