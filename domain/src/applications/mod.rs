//! Applications: a volunteer's request to help with a need, and an organisation's invitation, through one
//! lifecycle (`service`): opened by `open`, moved by its transitions.
pub mod service;

crate::db_enum! {
    pub enum ApplicationStatus {
        Applied => "APPLIED",
        /// Invited by the organisation; holds a place while the volunteer decides.
        Invited => "INVITED",
        /// Holds one of the need's places.
        Accepted => "ACCEPTED",
        Declined => "DECLINED",
        Withdrawn => "WITHDRAWN",
        Completed => "COMPLETED",
    }
}
