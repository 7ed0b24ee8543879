//! Attendance and hours. A volunteer checks in to a session from the app (from shortly before it starts until it
//! ends) and out again, which proposes the time as hours; coordinators record a session's attendance in bulk, which
//! approves its hours. Volunteers log other time themselves; the organisation approves or rejects each entry, and
//! only approved hours count in totals, impact and statements.
pub mod attendance;
pub mod service;
pub mod statements;

/// Minutes as hours to two decimals: what totals and statements show (150 minutes: 2.5).
pub fn hours(minutes: i64) -> f64 {
    (minutes as f64 / 60.0 * 100.0).round() / 100.0
}

crate::db_enum! {
    pub enum AttendanceStatus {
        Attended => "ATTENDED",
        Absent => "ABSENT",
    }
}

crate::db_enum! {
    pub enum HoursStatus {
        /// Waiting for the organisation.
        Pending => "PENDING",
        Approved => "APPROVED",
        Rejected => "REJECTED",
    }
}

crate::db_enum! {
    /// Where an entry came from.
    pub enum HoursSource {
        /// Logged by the volunteer.
        Logged => "LOGGED",
        /// Proposed by the volunteer's check-out of a session.
        CheckOut => "CHECK_OUT",
        /// Recorded by a coordinator with the session's attendance (approved as it is recorded).
        Recorded => "RECORDED",
    }
}
