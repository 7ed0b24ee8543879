//! The notifications a change writes in its own transaction: what it means for the person it concerns.
use uuid::Uuid;

use super::Notice;
use super::outbox;
use crate::applications::ApplicationStatus;
use crate::error::AppResult;
use entity::{application, hours_entry};

/// What an application's move means for its volunteer, if anything: a decision by the organisation, an
/// invitation, an offer from the waitlist or its lapse. Moves the volunteer made themselves (withdrawing,
/// answering an invitation) tell them nothing. One statement when there is something to say, none otherwise.
pub async fn application_changed(
    db: &impl sea_orm::ConnectionTrait,
    application: &application::Model,
    previous: Option<ApplicationStatus>,
) -> AppResult<()> {
    use ApplicationStatus as S;
    let Some(now) = ApplicationStatus::from_db(&application.status) else { return Ok(()) };
    let (application_id, need_id) = (application.id, application.need_id);
    let notice = match (previous, now) {
        (Some(S::Applied | S::Waitlisted), S::Accepted) => {
            Notice::ApplicationDecision { application_id, need_id, accepted: true }
        }
        (Some(S::Applied | S::Waitlisted | S::Accepted), S::Declined) => {
            Notice::ApplicationDecision { application_id, need_id, accepted: false }
        }
        (Some(S::Waitlisted), S::Invited) => Notice::WaitlistOffer {
            application_id,
            need_id,
            offered_at: application.invited_at.unwrap_or(application.updated_at),
        },
        (_, S::Invited) => Notice::Invitation { application_id, need_id },
        // An offer from the waitlist lapsed (an urgent dispatch's invitation lapsing tells nobody anything new).
        (Some(S::Invited), S::Expired) if application.waitlisted_at.is_some() => {
            Notice::WaitlistOfferExpired { application_id, need_id }
        }
        _ => return Ok(()),
    };
    outbox::enqueue_for_volunteer(db, application.volunteer_id, notice).await
}

/// An invitation the organisation took back (declined before it was answered): news to the volunteer, told as a
/// decision. Called by the organisation's decline alone: the volunteer declining it themselves makes the same move
/// (INVITED to DECLINED), which `application_changed` cannot tell from this one and so leaves unsaid.
pub async fn invitation_withdrawn(
    db: &impl sea_orm::ConnectionTrait,
    application: &application::Model,
) -> AppResult<()> {
    let notice =
        Notice::ApplicationDecision { application_id: application.id, need_id: application.need_id, accepted: false };
    outbox::enqueue_for_volunteer(db, application.volunteer_id, notice).await
}

/// Hours approved or rejected, to the volunteer who gave them.
pub async fn hours_decided(db: &impl sea_orm::ConnectionTrait, entry: &hours_entry::Model) -> AppResult<()> {
    let approved = entry.status == crate::hours::HoursStatus::Approved.as_db();
    let notice = Notice::HoursDecision {
        entry_id: entry.id,
        need_id: entry.need_id,
        date: entry.worked_on,
        minutes: entry.minutes,
        approved,
        reason: entry.rejection_reason.clone(),
    };
    outbox::enqueue_for_volunteer(db, entry.volunteer_id, notice).await
}

/// A sign-in to the account, told to its holder.
pub async fn signed_in(db: &impl sea_orm::ConnectionTrait, user_id: Uuid) -> AppResult<()> {
    outbox::enqueue(db, user_id, Notice::SignIn { at: crate::now() }).await
}

/// A code to confirm the account's address (the outbox forgets it once sent).
pub async fn verification_code(db: &impl sea_orm::ConnectionTrait, user_id: Uuid, token: String) -> AppResult<()> {
    outbox::enqueue(db, user_id, Notice::EmailVerification { token }).await
}
