//! Volunteers' profiles and their safeguarding checks.
crate::db_enum! {
    /// Disclosure and Barring Service check levels, lowest to highest (matching compares them in this order).
    pub enum DbsLevel {
        None => "NONE",
        Basic => "BASIC",
        Standard => "STANDARD",
        Enhanced => "ENHANCED",
        /// Enhanced with barred-list checks: only for regulated activity with children or vulnerable adults.
        EnhancedBarredLists => "ENHANCED_BARRED_LISTS",
    }
}
