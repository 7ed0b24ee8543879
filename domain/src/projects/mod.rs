//! Projects: what organisations run and what gets funded (a class, a club, a village defibrillator), where, for
//! whom, and which partnership priorities they address.
pub mod open_referral;
pub mod service;

crate::db_enum! {
    pub enum ProjectStatus {
        /// Planned, perhaps looking for money.
        Proposed => "PROPOSED",
        /// Running.
        Active => "ACTIVE",
        /// Done (a repaint finished, a defibrillator installed).
        Completed => "COMPLETED",
        /// Stopped.
        Closed => "CLOSED",
    }
}
