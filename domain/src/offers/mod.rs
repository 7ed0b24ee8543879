//! Offers: time, skills, space, introductions or equipment that volunteers and organisations put forward.
pub mod service;

crate::db_enum! {
    pub enum OfferKind {
        Time => "TIME",
        Skills => "SKILLS",
        /// Spare rooms or office space.
        Space => "SPACE",
        /// Introductions to local businesses, donors or funders.
        Introduction => "INTRODUCTION",
        Equipment => "EQUIPMENT",
        Other => "OTHER",
    }
}

crate::db_enum! {
    pub enum OfferStatus {
        Active => "ACTIVE",
        Paused => "PAUSED",
        Closed => "CLOSED",
    }
}
