//! Application rules. Every decision is a conditional UPDATE on the status it was read in, inside a
//! transaction with the place change, so concurrent decisions cannot both win and places never overflow.
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::{ApplicationStatus, waitlist};
use crate::access::{self as policy, AuthUser};
use crate::error::{AppError, AppResult};
use crate::needs::NeedStatus;
use crate::needs::service as needs;
use crate::now;
use crate::values::bounded_text;
use crate::webhooks::{WebhookEvent, outbox};
use entity::{application, need};

type Decided = (application::Model, need::Model);

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<application::Model> {
    application::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("application"))
}

#[tracing::instrument(skip_all, fields(actor = %actor.id, need = %need_id))]
pub async fn apply(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    need_id: Uuid,
    message: &str,
) -> AppResult<Decided> {
    let message = bounded_text("input.message", message, 0, 2000)?;
    let profile = crate::volunteers::require_own(db, actor).await?;
    let need = needs::get(db, need_id).await?;
    if need.status == NeedStatus::Draft.as_db() {
        return Err(AppError::not_found("need"));
    }
    // A full need still takes applications, onto its waitlist.
    if need.status != NeedStatus::Open.as_db() && need.status != NeedStatus::Filled.as_db() {
        return Err(AppError::conflict("this need is not taking applications"));
    }
    let existing = application::Entity::find()
        .filter(application::Column::NeedId.eq(need_id))
        .filter(application::Column::VolunteerId.eq(profile.id))
        .one(db)
        .await?;
    // Someone who withdrew, or let an offer lapse, may apply again; the same row keeps the history.
    let previous = match existing {
        Some(previous) if REOPENABLE.iter().any(|s| s.as_db() == previous.status) => Some(previous),
        Some(_) => return Err(AppError::conflict("you have already applied to this need")),
        None => None,
    };
    // The application, its place on the waitlist and its webhooks' outbox rows commit together.
    let txn = db.begin().await?;
    let opening = match waitlist::hold(&txn, need_id).await? {
        waitlist::Intake::Open => Opening::Applied { message },
        waitlist::Intake::Full { cap } => {
            if waitlist::length(&txn, need_id).await? >= cap {
                return Err(AppError::Full {
                    message: "this need is full, and so is its waitlist".into(),
                    similar: Vec::new(),
                });
            }
            Opening::Waitlisted { message }
        }
    };
    let application =
        open(&txn, previous.as_ref(), need_id, profile.id, opening).await.map_err(|e| match (e, &previous) {
            (AppError::Conflict(_), None) => AppError::conflict("you have already applied to this need"),
            (other, _) => other,
        })?;
    txn.commit().await?;
    Ok((application, needs::get(db, need_id).await?))
}

/// The ended statuses an application may be opened again from.
const REOPENABLE: [ApplicationStatus; 2] = [ApplicationStatus::Withdrawn, ApplicationStatus::Expired];

/// How an application starts: a volunteer applying (with a message) to a need with places or to its waitlist, or an
/// organisation inviting them.
pub enum Opening {
    Applied { message: String },
    Waitlisted { message: String },
    Invited,
}

/// The one constructor of an application, whoever asks: a new row for the (need, volunteer) pair, or the pair's
/// ended `previous` row reopened (one row per pair keeps its history), conditional on its status as read (CONFLICT
/// if it changed). The caller holds the transaction that also takes any place the opening holds.
pub async fn open(
    db: &impl ConnectionTrait,
    previous: Option<&application::Model>,
    need_id: Uuid,
    volunteer_id: Uuid,
    opening: Opening,
) -> AppResult<application::Model> {
    let (to, message) = match opening {
        Opening::Applied { message } => (ApplicationStatus::Applied, message),
        Opening::Waitlisted { message } => (ApplicationStatus::Waitlisted, message),
        Opening::Invited => (ApplicationStatus::Invited, String::new()),
    };
    if let Some(previous) = previous {
        let was = ApplicationStatus::from_db(&previous.status)
            .ok_or_else(|| AppError::internal("unknown application status"))?;
        let reopened = transition(db, previous.id, &[was], to).await?;
        if to == ApplicationStatus::Invited {
            return Ok(reopened);
        }
        let mut active: application::ActiveModel = reopened.into();
        active.message = Set(message);
        return Ok(active.update(db).await?);
    }
    let now = now();
    if to == ApplicationStatus::Invited {
        super::caps::admit(db, volunteer_id, now).await?;
    }
    let stamp = Some(now);
    let created = application::ActiveModel {
        id: Set(Uuid::now_v7()),
        need_id: Set(need_id),
        volunteer_id: Set(volunteer_id),
        message: Set(message),
        status: Set(to.as_db().to_owned()),
        applied_at: Set(if to == ApplicationStatus::Applied { stamp } else { None }),
        invited_at: Set(if to == ApplicationStatus::Invited { stamp } else { None }),
        accepted_at: Set(None),
        declined_at: Set(None),
        withdrawn_at: Set(None),
        completed_at: Set(None),
        waitlisted_at: Set(if to == ApplicationStatus::Waitlisted { stamp } else { None }),
        expired_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    super::caps::record(db, &created).await?;
    outbox::application_event(db, WebhookEvent::ApplicationCreated, &created, None).await?;
    crate::live::signal(db, crate::live::Signal::Application(created.id)).await?;
    crate::notifications::events::application_changed(db, &created, None).await?;
    Ok(created)
}

/// Moves an application from one of `from` to `to`, stamping the decision time; CONFLICT if it was not in `from`.
/// Its waitlist time is set on joining the waitlist, kept through an offer from it (which it marks), and cleared
/// when it is opened again another way.
pub(super) async fn transition(
    db: &impl ConnectionTrait,
    id: Uuid,
    from: &[ApplicationStatus],
    to: ApplicationStatus,
) -> AppResult<application::Model> {
    use application::Column as C;
    let now = now();
    let stamp = match to {
        ApplicationStatus::Applied => C::AppliedAt,
        ApplicationStatus::Waitlisted => C::WaitlistedAt,
        ApplicationStatus::Invited => C::InvitedAt,
        ApplicationStatus::Accepted => C::AcceptedAt,
        ApplicationStatus::Declined => C::DeclinedAt,
        ApplicationStatus::Withdrawn => C::WithdrawnAt,
        ApplicationStatus::Expired => C::ExpiredAt,
        ApplicationStatus::Completed => C::CompletedAt,
    };
    if to == ApplicationStatus::Invited {
        // Within the volunteer's weekly cap, checked before anything is written (the caller may go on after a
        // CONFLICT, as a waitlist does to the next in line).
        super::caps::admit(db, get(db, id).await?.volunteer_id, now).await?;
    }
    let offered_from_waitlist = to == ApplicationStatus::Invited && from == [ApplicationStatus::Waitlisted];
    let mut update = application::Entity::update_many();
    if to == ApplicationStatus::Applied || (to == ApplicationStatus::Invited && !offered_from_waitlist) {
        update = update.col_expr(C::WaitlistedAt, Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None));
    }
    let result = update
        .col_expr(C::Status, Expr::value(to.as_db()))
        .col_expr(stamp, Expr::value(now))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .filter(C::Id.eq(id))
        .filter(C::Status.is_in(from.iter().map(|s| s.as_db())))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        let current = get(db, id).await?;
        return Err(AppError::conflict(format!(
            "this application is {} and cannot become {}",
            current.status.to_lowercase(),
            to.as_db().to_lowercase()
        )));
    }
    let changed = get(db, id).await?;
    super::caps::record(db, &changed).await?;
    // Every caller moves from one status it read, so that one is the previous status.
    let previous = if let [was] = from { Some(*was) } else { None };
    outbox::application_event(db, WebhookEvent::ApplicationStatusChanged, &changed, previous).await?;
    crate::live::signal(db, crate::live::Signal::Application(changed.id)).await?;
    crate::notifications::events::application_changed(db, &changed, previous).await?;
    Ok(changed)
}

/// Reads the application and its need, and checks the actor may decide for the need's organisation.
async fn for_organisation(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    id: Uuid,
) -> AppResult<(application::Model, need::Model)> {
    let application = get(db, id).await?;
    let need = needs::get(db, application.need_id).await?;
    policy::require_coordinator(db, actor, need.organisation_id).await?;
    Ok((application, need))
}

#[tracing::instrument(skip_all, fields(actor = %actor.id, application = %id))]
pub async fn accept(db: &(impl ConnectionTrait + TransactionTrait), actor: &AuthUser, id: Uuid) -> AppResult<Decided> {
    let (application, need) = for_organisation(db, actor, id).await?;
    crate::volunteers::verification::require_for(db, &need, application.volunteer_id).await?;
    let volunteer = volunteer_user(db, &application).await?;
    // Writes first: on SQLite a transaction that reads before writing can fail to upgrade its lock.
    let txn = db.begin().await?;
    transition(&txn, id, &[ApplicationStatus::Applied], ApplicationStatus::Accepted).await?;
    needs::take_place(&txn, need.id).await?;
    audit_decision(&txn, actor, volunteer, &need, ApplicationStatus::Accepted).await?;
    txn.commit().await?;
    Ok((get(db, id).await?, needs::get(db, need.id).await?))
}

#[tracing::instrument(skip_all, fields(actor = %actor.id, application = %id))]
pub async fn decline(db: &(impl ConnectionTrait + TransactionTrait), actor: &AuthUser, id: Uuid) -> AppResult<Decided> {
    let (application, need) = for_organisation(db, actor, id).await?;
    let volunteer = volunteer_user(db, &application).await?;
    let txn = db.begin().await?;
    release(&txn, &application, &ApplicationStatus::LIVE, ApplicationStatus::Declined).await?;
    if application.status == ApplicationStatus::Invited.as_db() {
        crate::notifications::events::invitation_withdrawn(&txn, &application).await?;
    }
    audit_decision(&txn, actor, volunteer, &need, ApplicationStatus::Declined).await?;
    txn.commit().await?;
    Ok((get(db, id).await?, needs::get(db, need.id).await?))
}

#[tracing::instrument(skip_all, fields(actor = %actor.id, application = %id))]
pub async fn withdraw(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
) -> AppResult<Decided> {
    let application = get(db, id).await?;
    let own = crate::volunteers::find_for_user(db, actor.id).await?;
    if own.is_none_or(|p| p.id != application.volunteer_id) && !actor.is_admin() {
        return Err(AppError::forbidden("only the volunteer who applied may withdraw"));
    }
    release(db, &application, &ApplicationStatus::LIVE, ApplicationStatus::Withdrawn).await?;
    Ok((get(db, id).await?, needs::get(db, application.need_id).await?))
}

/// Ends an application; if it held a place (ACCEPTED or INVITED), gives the place back in the same transaction,
/// and offers it to the first on the need's waitlist.
async fn release(
    db: &(impl ConnectionTrait + TransactionTrait),
    application: &application::Model,
    from: &[ApplicationStatus],
    to: ApplicationStatus,
) -> AppResult<()> {
    let was = ApplicationStatus::from_db(&application.status);
    if !was.is_some_and(|s| from.contains(&s)) {
        return Err(AppError::conflict(format!(
            "this application is {} and cannot become {}",
            application.status.to_lowercase(),
            to.as_db().to_lowercase()
        )));
    }
    let txn = db.begin().await?;
    // Conditional on the status we read, so a concurrent change makes this a CONFLICT, not a double release.
    let Some(was) = was else { return Err(AppError::internal("unknown application status")) };
    transition(&txn, application.id, &[was], to).await?;
    // Accepted volunteers and invitations awaiting an answer both hold a place, but for an urgent dispatch's
    // invitations (the first to accept take the places).
    let held = ApplicationStatus::HOLDING_A_PLACE.contains(&was)
        && !(was == ApplicationStatus::Invited
            && crate::matching::dispatch::current_invitation(&txn, application).await?.is_some());
    if held {
        needs::free_place(&txn, application.need_id).await?;
        waitlist::offer_places(&txn, application.need_id).await?;
        crate::needs::signups::drop_coming(&txn, application.need_id, application.volunteer_id).await?;
    }
    txn.commit().await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(actor = %actor.id, application = %id))]
pub async fn complete(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
) -> AppResult<Decided> {
    let (application, need) = for_organisation(db, actor, id).await?;
    let volunteer = volunteer_user(db, &application).await?;
    let txn = db.begin().await?;
    let application = transition(&txn, id, &[ApplicationStatus::Accepted], ApplicationStatus::Completed).await?;
    // Done with the need: their sign-ups for its sessions to come go.
    crate::needs::signups::drop_coming(&txn, application.need_id, application.volunteer_id).await?;
    audit_decision(&txn, actor, volunteer, &need, ApplicationStatus::Completed).await?;
    txn.commit().await?;
    Ok((application, needs::get(db, need.id).await?))
}

/// The account of the volunteer an application is from.
async fn volunteer_user(db: &impl ConnectionTrait, application: &application::Model) -> AppResult<Uuid> {
    let profile = entity::volunteer_profile::Entity::find_by_id(application.volunteer_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("volunteer"))?;
    Ok(profile.user_id)
}

/// An organisation's decision on someone's application goes in the audit log, in the decision's transaction.
async fn audit_decision(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    volunteer_user_id: Uuid,
    need: &need::Model,
    to: ApplicationStatus,
) -> AppResult<()> {
    let detail = format!("application to \"{}\" {}", need.title, to.as_db().to_lowercase());
    crate::audit::record_changes(
        db,
        crate::audit::Actor::user(actor.id),
        &["application.status"],
        [(volunteer_user_id, detail)],
    )
    .await
}

/// An invitation accepted, in the caller's transaction (whose place the caller took).
pub async fn accept_invitation(db: &impl ConnectionTrait, id: Uuid) -> AppResult<()> {
    transition(db, id, &[ApplicationStatus::Invited], ApplicationStatus::Accepted).await.map(|_| ())
}

/// An invitation that held no place (an urgent dispatch's) lapses unanswered: INVITED to EXPIRED, nothing to give
/// back. CONFLICT if it was answered meanwhile.
pub async fn lapse_invitation(db: &impl ConnectionTrait, id: Uuid) -> AppResult<()> {
    transition(db, id, &[ApplicationStatus::Invited], ApplicationStatus::Expired).await.map(|_| ())
}

/// Moves an application from exactly `from` to `to` (CONFLICT if it is no longer `from`), with its webhooks'
/// outbox rows in one transaction.
pub async fn transition_once(
    db: &(impl ConnectionTrait + TransactionTrait),
    id: Uuid,
    from: ApplicationStatus,
    to: ApplicationStatus,
) -> AppResult<application::Model> {
    let txn = db.begin().await?;
    let changed = transition(&txn, id, &[from], to).await?;
    txn.commit().await?;
    Ok(changed)
}

/// Ends an application as `to` from whatever live status it is in, giving back any place it held.
pub async fn end(
    db: &(impl ConnectionTrait + TransactionTrait),
    application: &application::Model,
    to: ApplicationStatus,
) -> AppResult<()> {
    release(db, application, &ApplicationStatus::LIVE, to).await
}
