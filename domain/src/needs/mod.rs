//! Needs: what organisations need people (or space, or introductions) for.
pub mod feed;
pub mod service;
pub mod sessions;
pub mod signups;

use uuid::Uuid;

/// A need's id, as services take it (transports decode their own forms of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NeedId(pub Uuid);
crate::db_enum! {
    pub enum NeedCategory {
        EnglishClasses => "ENGLISH_CLASSES",
        JobsClub => "JOBS_CLUB",
        YouthClub => "YOUTH_CLUB",
        ItSkills => "IT_SKILLS",
        Mentoring => "MENTORING",
        Intergenerational => "INTERGENERATIONAL",
        EmploymentSupport => "EMPLOYMENT_SUPPORT",
        Befriending => "BEFRIENDING",
        FoodAndEssentials => "FOOD_AND_ESSENTIALS",
        CommunitySafety => "COMMUNITY_SAFETY",
        Environment => "ENVIRONMENT",
        Housing => "HOUSING",
        Fundraising => "FUNDRAISING",
        Premises => "PREMISES",
        Other => "OTHER",
    }
}

crate::db_enum! {
    pub enum NeedStatus {
        /// Being written; only the organisation's members see it.
        Draft => "DRAFT",
        /// Published and taking applications.
        Open => "OPEN",
        /// Every place is taken; reopens by itself when a place frees up.
        Filled => "FILLED",
        Closed => "CLOSED",
    }
}

crate::db_enum! {
    /// How a need's accepted volunteers come to its sessions.
    pub enum SignupMode {
        /// To every session (a need's places are its volunteers).
        Ongoing => "ONGOING",
        /// Session by session, each signing up for the ones they will come to, up to the session's capacity.
        PerSession => "PER_SESSION",
    }
}

crate::db_enum! {
    pub enum NeedOrder {
        /// Most recently posted first.
        Newest => "NEWEST",
        /// Earliest start date first; needs without a start date last.
        Soonest => "SOONEST",
        /// Closest to a given place first.
        Nearest => "NEAREST",
    }
}
