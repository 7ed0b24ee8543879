//! Applications: a volunteer's request to help with a need, and an organisation's invitation, through one
//! lifecycle (`service`): opened by `open`, moved by its transitions. A full need keeps a waitlist (`waitlist`).
pub mod caps;
pub mod service;
pub mod waitlist;

crate::db_enum! {
    pub enum ApplicationStatus {
        Applied => "APPLIED",
        /// Waiting for a place on a full need, in order (`waitlist`).
        Waitlisted => "WAITLISTED",
        /// Invited by the organisation, or offered a freed place from the waitlist; holds a place while the volunteer
        /// decides.
        Invited => "INVITED",
        /// Holds one of the need's places.
        Accepted => "ACCEPTED",
        Declined => "DECLINED",
        Withdrawn => "WITHDRAWN",
        /// An offer from the waitlist that lapsed unanswered; its place went to the next in line.
        Expired => "EXPIRED",
        Completed => "COMPLETED",
    }
}

impl ApplicationStatus {
    /// The statuses of an application still in play: the volunteer has asked or been asked, and nobody has ended it.
    pub const LIVE: [Self; 4] = [Self::Applied, Self::Waitlisted, Self::Invited, Self::Accepted];
    /// The statuses that hold one of the need's places.
    pub const HOLDING_A_PLACE: [Self; 2] = [Self::Invited, Self::Accepted];
}
