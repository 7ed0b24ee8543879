//! Notifications: messages to people about what changed for them (a decision, an offer from a waitlist, a
//! cancelled session, hours approved), what is coming (a session tomorrow, a DBS check to renew) and what they may
//! like (a weekly digest of needs that match them).
//!
//! A change writes its notification into the outbox (`outbox`) in its own transaction: never one for a change
//! rolled back, never one lost for a change committed. The transport (email, in `api`) claims due rows, writes each
//! message from its `Notice` and sends it, retrying with backoff; nothing is sent inside a request. Preferences
//! (`preferences`) are applied when a message is sent, so turning a kind off also stops what is already queued.
//! Recurring work (reminders, digests, rechecks) runs from `schedule`, once per run however many servers there are.
pub mod events;
pub mod outbox;
pub mod preferences;
pub mod schedule;
pub mod sweeps;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

crate::db_enum! {
    pub enum NotificationKind {
        /// An application accepted or declined by the organisation.
        ApplicationDecision => "APPLICATION_DECISION",
        /// An organisation invites the volunteer to a need.
        Invitation => "INVITATION",
        /// A place freed on a need the volunteer waits for, held for them until a deadline.
        WaitlistOffer => "WAITLIST_OFFER",
        /// That offer lapsed unanswered.
        WaitlistOfferExpired => "WAITLIST_OFFER_EXPIRED",
        /// New applications to an organisation's needs, to its members, as a digest.
        NewApplications => "NEW_APPLICATIONS",
        /// A session the volunteer comes to starts within a day.
        SessionReminder => "SESSION_REMINDER",
        /// A session the volunteer comes to was called off.
        SessionCancelled => "SESSION_CANCELLED",
        /// Hours approved or rejected.
        HoursDecision => "HOURS_DECISION",
        /// A verified DBS check's three years end in 60, 30 or 7 days.
        DbsRecheck => "DBS_RECHECK",
        /// The week's new needs that match the volunteer best.
        WeeklyDigest => "WEEKLY_DIGEST",
        /// A code to confirm the account's address. Always sent: it cannot be turned off or capped.
        EmailVerification => "EMAIL_VERIFICATION",
        /// Someone signed in to the account. Always sent, so that a stranger's sign-in is seen.
        SignIn => "SIGN_IN",
    }
}

impl NotificationKind {
    /// Account messages: sent to an address not yet confirmed, never turned off, never counted in a weekly cap.
    pub fn is_account(self) -> bool {
        matches!(self, Self::EmailVerification | Self::SignIn)
    }
}

crate::db_enum! {
    pub enum NotificationStatus {
        /// Waiting to be sent, or between attempts.
        Pending => "PENDING",
        Sent => "SENT",
        /// Every attempt failed.
        Failed => "FAILED",
        /// Not sent, on purpose: the kind was turned off, the weekly cap was reached, the address was never
        /// confirmed, or the account is gone (`last_error` says which).
        Suppressed => "SUPPRESSED",
    }
}

/// What a notification says, in the domain's terms: ids and facts. The transport reads names (a need's title, an
/// organisation's) when it writes the message, so a message says what is true when it is sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Notice {
    ApplicationDecision {
        application_id: Uuid,
        need_id: Uuid,
        accepted: bool,
    },
    Invitation {
        application_id: Uuid,
        need_id: Uuid,
    },
    WaitlistOffer {
        application_id: Uuid,
        need_id: Uuid,
        offered_at: DateTime<Utc>,
    },
    WaitlistOfferExpired {
        application_id: Uuid,
        need_id: Uuid,
    },
    NewApplications {
        organisation_id: Uuid,
        since: DateTime<Utc>,
        needs: Vec<NeedCount>,
    },
    SessionReminder {
        need_id: Uuid,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    },
    SessionCancelled {
        need_id: Uuid,
        starts_at: DateTime<Utc>,
        reason: String,
    },
    HoursDecision {
        entry_id: Uuid,
        need_id: Uuid,
        date: NaiveDate,
        minutes: i32,
        approved: bool,
        reason: Option<String>,
    },
    DbsRecheck {
        verification_id: Uuid,
        organisation_id: Uuid,
        level: String,
        valid_until: NaiveDate,
        days_left: i64,
    },
    WeeklyDigest {
        needs: Vec<DigestNeed>,
    },
    EmailVerification {
        token: String,
    },
    SignIn {
        at: DateTime<Utc>,
    },
}

/// New applications to one need, in a digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedCount {
    pub need_id: Uuid,
    pub applied: u32,
    pub waitlisted: u32,
}

/// A need in a weekly digest, with how well it matches (0 to 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DigestNeed {
    pub need_id: Uuid,
    pub score: f64,
}

impl Notice {
    pub fn kind(&self) -> NotificationKind {
        use NotificationKind as K;
        match self {
            Self::ApplicationDecision { .. } => K::ApplicationDecision,
            Self::Invitation { .. } => K::Invitation,
            Self::WaitlistOffer { .. } => K::WaitlistOffer,
            Self::WaitlistOfferExpired { .. } => K::WaitlistOfferExpired,
            Self::NewApplications { .. } => K::NewApplications,
            Self::SessionReminder { .. } => K::SessionReminder,
            Self::SessionCancelled { .. } => K::SessionCancelled,
            Self::HoursDecision { .. } => K::HoursDecision,
            Self::DbsRecheck { .. } => K::DbsRecheck,
            Self::WeeklyDigest { .. } => K::WeeklyDigest,
            Self::EmailVerification { .. } => K::EmailVerification,
            Self::SignIn { .. } => K::SignIn,
        }
    }

    /// The needs it names, for the transport to read their titles in one statement per batch.
    pub fn need_ids(&self) -> Vec<Uuid> {
        match self {
            Self::ApplicationDecision { need_id, .. }
            | Self::Invitation { need_id, .. }
            | Self::WaitlistOffer { need_id, .. }
            | Self::WaitlistOfferExpired { need_id, .. }
            | Self::SessionReminder { need_id, .. }
            | Self::SessionCancelled { need_id, .. }
            | Self::HoursDecision { need_id, .. } => vec![*need_id],
            Self::NewApplications { needs, .. } => needs.iter().map(|n| n.need_id).collect(),
            Self::WeeklyDigest { needs } => needs.iter().map(|n| n.need_id).collect(),
            Self::DbsRecheck { .. } | Self::EmailVerification { .. } | Self::SignIn { .. } => Vec::new(),
        }
    }

    /// The organisations it names directly (a need's organisation comes with the need).
    pub fn organisation_ids(&self) -> Vec<Uuid> {
        match self {
            Self::NewApplications { organisation_id, .. } | Self::DbsRecheck { organisation_id, .. } => {
                vec![*organisation_id]
            }
            _ => Vec::new(),
        }
    }

    /// Whether it holds a secret (a one-time code), which the outbox forgets once the message is sent or given up.
    pub fn holds_secret(&self) -> bool {
        matches!(self, Self::EmailVerification { .. })
    }
}
