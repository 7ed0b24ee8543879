//! Partner API keys: issued by platform admins, stored only as hashes, with scopes, revocation and a last-used time.
pub mod service;
pub mod stats;

crate::db_enum! {
    /// What an API key may read.
    pub enum ApiKeyScope {
        /// Public listings: needs, organisations, offers, as anyone may read them.
        ReadPublicListings => "READ_PUBLIC_LISTINGS",
        /// `matchesForNeed` for the needs of the key's organisation.
        ReadOrganisationMatches => "READ_ORGANISATION_MATCHES",
    }
}
