//! Attendance and hours through their services, with the clock as an argument: check-in windows, check-outs that
//! propose hours, coordinators' attendance records, hours decided once and only by someone else, and the totals.
use chrono::{TimeDelta, Utc};
use domain::applications::service as applications;
use domain::error::AppError;
use domain::hours::{HoursStatus, attendance, service as hours};
use domain::needs::service::{self as needs, Schedule};
use domain::needs::{NeedCategory, NeedId, sessions};

use sea_orm::ActiveModelTrait;

use crate::applications::volunteer_profile;
use crate::helpers::{TestDb, every_day, remote_need};

/// Every day 10:00–12:00 from two weeks ago: sessions behind and ahead.
fn daily() -> Schedule {
    every_day(600, 720)
}

#[tokio::test]
async fn check_in_opens_shortly_before_a_session_and_check_out_proposes_its_hours() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let volunteer = t.person("Kwame").await;
    let outsider = t.person("Olu").await;
    let org = t.organisation(&coordinator).await;
    let input = needs::NewNeed { schedule: daily(), ..remote_need(org, "Jobs club", NeedCategory::JobsClub, 3) };
    let need = needs::create(&t.db, &coordinator, input).await.expect("a need");
    needs::publish(&t.db, &coordinator, NeedId(need.id)).await.expect("published");
    let profile = volunteer_profile(&t, &volunteer).await;
    volunteer_profile(&t, &outsider).await;
    let (application, _) = applications::apply(&t.db, &volunteer, need.id, "").await.expect("applied");
    applications::accept(&t.db, &coordinator, application.id).await.expect("accepted");
    let now = Utc::now();
    let coming = sessions::list(&t.db, &need, now, now + TimeDelta::days(8)).await.expect("sessions");
    let session = &coming[1];
    let early = TimeDelta::minutes(30);

    // Before the window and after the session: refused, the session named.
    for at in [session.starts_at - TimeDelta::minutes(31), session.ends_at + TimeDelta::minutes(1)] {
        let refused = attendance::check_in(&t.db, &volunteer, need.id, session.starts_at, at, early).await;
        assert!(matches!(refused, Err(AppError::BadInput { ref field, .. }) if field == "input.sessionId"), "{at}");
    }
    // Someone not accepted on the need cannot check in at all.
    let at = session.starts_at - TimeDelta::minutes(30);
    let stranger = attendance::check_in(&t.db, &outsider, need.id, session.starts_at, at, early).await;
    assert!(matches!(stranger, Err(AppError::Forbidden(_))));
    // Thirty minutes early is in; twice is once.
    let checked = attendance::check_in(&t.db, &volunteer, need.id, session.starts_at, at, early).await.expect("in");
    assert_eq!((checked.checked_in_at, checked.status.as_str()), (Some(at), "ATTENDED"));
    let twice = attendance::check_in(&t.db, &volunteer, need.id, session.starts_at, at, early).await;
    assert!(matches!(twice, Err(AppError::Conflict(_))));

    // Out after 90 minutes of the session: 90 minutes proposed (the early half hour is not session time).
    let out = session.starts_at + TimeDelta::minutes(90);
    let (row, proposed) = attendance::check_out(&t.db, &volunteer, need.id, session.starts_at, out).await.expect("out");
    assert_eq!(row.checked_out_at, Some(out));
    let proposed = proposed.expect("hours proposed");
    assert_eq!((proposed.minutes, proposed.status.as_str(), proposed.source.as_str()), (90, "PENDING", "CHECK_OUT"));
    assert!(attendance::check_out(&t.db, &volunteer, need.id, session.starts_at, out).await.is_err(), "once");
    // Staying past the end counts to the end only; checking out without checking in is refused.
    let next = &coming[2];
    let in_at = next.starts_at;
    attendance::check_in(&t.db, &volunteer, need.id, next.starts_at, in_at, early).await.expect("in");
    let (_, proposed) =
        attendance::check_out(&t.db, &volunteer, need.id, next.starts_at, next.ends_at + TimeDelta::hours(3))
            .await
            .expect("out");
    assert_eq!(proposed.map(|p| p.minutes), Some(120));
    let never_in = attendance::check_out(&t.db, &volunteer, need.id, coming[3].starts_at, coming[3].ends_at).await;
    assert!(matches!(never_in, Err(AppError::Conflict(_))));
    let _ = profile;
}

#[tokio::test]
async fn hours_are_decided_once_by_someone_else_in_the_organisation_and_only_approved_ones_count() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let second = t.person("Bea").await;
    let volunteer = t.person("Kwame").await;
    let org = t.organisation(&coordinator).await;
    let other_org_lead = t.person("Other").await;
    t.organisation(&other_org_lead).await;
    let input = needs::NewNeed { schedule: daily(), ..remote_need(org, "Jobs club", NeedCategory::JobsClub, 3) };
    let need = needs::create(&t.db, &coordinator, input).await.expect("a need");
    needs::publish(&t.db, &coordinator, NeedId(need.id)).await.expect("published");
    let profile = volunteer_profile(&t, &volunteer).await;
    let (application, _) = applications::apply(&t.db, &volunteer, need.id, "").await.expect("applied");

    // Not yet accepted: nothing to log against.
    let today = hours::today();
    let early = hours::log(&t.db, &volunteer, application.id, today, 60, "").await;
    assert!(matches!(early, Err(AppError::Conflict(_))));
    applications::accept(&t.db, &coordinator, application.id).await.expect("accepted");
    for (minutes, day, field) in
        [(0, today, "input.minutes"), (1441, today, "input.minutes"), (60, today + TimeDelta::days(1), "input.date")]
    {
        let refused = hours::log(&t.db, &volunteer, application.id, day, minutes, "").await;
        assert!(matches!(refused, Err(AppError::BadInput { field: ref f, .. }) if f == field), "{minutes} {day}");
    }
    // Someone else's application is not found to them.
    assert!(matches!(hours::log(&t.db, &second, application.id, today, 60, "").await, Err(AppError::NotFound(_))));
    let logged = hours::log(&t.db, &volunteer, application.id, today, 150, "CV workshop").await.expect("logged");
    let other = hours::log(&t.db, &volunteer, application.id, today, 45, "Follow-up calls").await.expect("logged");
    assert_eq!(logged.status, HoursStatus::Pending.as_db());

    // Only the organisation decides; another organisation's lead may not.
    assert!(matches!(hours::approve(&t.db, &other_org_lead, logged.id).await, Err(AppError::Forbidden(_))));
    assert!(matches!(hours::approve(&t.db, &volunteer, logged.id).await, Err(AppError::Forbidden(_))));
    let approved = hours::approve(&t.db, &coordinator, logged.id).await.expect("approved");
    assert_eq!(approved.decided_by, Some(coordinator.id));
    // Decided once: approving again or rejecting after is a conflict.
    assert!(matches!(hours::approve(&t.db, &coordinator, logged.id).await, Err(AppError::Conflict(_))));
    assert!(matches!(
        hours::reject(&t.db, &coordinator, logged.id, "Not on the rota").await,
        Err(AppError::Conflict(_))
    ));
    assert!(matches!(
        hours::reject(&t.db, &coordinator, other.id, "").await,
        Err(AppError::BadInput { ref field, .. }) if field == "input.reason"
    ));
    let rejected = hours::reject(&t.db, &coordinator, other.id, "That was another project").await.expect("rejected");
    assert_eq!(rejected.rejection_reason.as_deref(), Some("That was another project"));

    let totals = hours::totals_for_volunteer(&t.db, profile).await.expect("totals");
    assert_eq!((totals.approved_minutes, totals.pending_minutes), (150, 0));
    assert_eq!(totals.by_need, vec![(need.id, 150)]);
    let impact = hours::impact(&t.db, org.0, today - TimeDelta::days(30), today).await.expect("impact");
    assert_eq!((impact.approved_minutes, impact.active_volunteers), (150, 1));
    let before =
        hours::impact(&t.db, org.0, today - TimeDelta::days(30), today - TimeDelta::days(1)).await.expect("impact");
    assert_eq!(before.approved_minutes, 0, "the span's days bound it");
    assert!(matches!(
        hours::impact(&t.db, org.0, today, today - TimeDelta::days(1)).await,
        Err(AppError::BadInput { .. })
    ));
}

#[tokio::test]
async fn a_coordinator_recording_their_own_attendance_leaves_their_hours_for_someone_else() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let org = t.organisation(&coordinator).await;
    let input = needs::NewNeed { schedule: daily(), ..remote_need(org, "Jobs club", NeedCategory::JobsClub, 3) };
    let need = needs::create(&t.db, &coordinator, input).await.expect("a need");
    needs::publish(&t.db, &coordinator, NeedId(need.id)).await.expect("published");
    // The coordinator volunteers on their own organisation's need too.
    let own = volunteer_profile(&t, &coordinator).await;
    let (application, _) = applications::apply(&t.db, &coordinator, need.id, "").await.expect("applied");
    applications::accept(&t.db, &coordinator, application.id).await.expect("accepted");
    let now = Utc::now();
    let past =
        sessions::list(&t.db, &need, now - TimeDelta::days(5), now - TimeDelta::days(1)).await.expect("sessions");
    attendance::record(&t.db, &coordinator, need.id, past[0].starts_at, &[own], &[]).await.expect("recorded");
    let totals = hours::totals_for_volunteer(&t.db, own).await.expect("totals");
    assert_eq!((totals.approved_minutes, totals.pending_minutes), (0, 120), "pending, for someone else to approve");
}

#[tokio::test]
async fn a_coordinators_attendance_record_approves_the_sessions_hours_once_and_counts_sessions_held() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let org = t.organisation(&coordinator).await;
    let input = needs::NewNeed { schedule: daily(), ..remote_need(org, "Jobs club", NeedCategory::JobsClub, 3) };
    let need = needs::create(&t.db, &coordinator, input).await.expect("a need");
    needs::publish(&t.db, &coordinator, NeedId(need.id)).await.expect("published");
    let (mut profiles, mut people) = (Vec::new(), Vec::new());
    for name in ["Kwame", "Lola", "Musa"] {
        let person = t.person(name).await;
        people.push(person.id);
        profiles.push(volunteer_profile(&t, &person).await);
        let (application, _) = applications::apply(&t.db, &person, need.id, "").await.expect("applied");
        applications::accept(&t.db, &coordinator, application.id).await.expect("accepted");
    }
    let now = Utc::now();
    let past =
        sessions::list(&t.db, &need, now - TimeDelta::days(10), now - TimeDelta::days(1)).await.expect("sessions");
    let (first, second) = (&past[0], &past[1]);

    let recorded = attendance::record(&t.db, &coordinator, need.id, first.starts_at, &profiles[..2], &profiles[2..])
        .await
        .expect("recorded");
    assert_eq!(recorded.len(), 3);
    // Recording again changes statuses but adds no second hours.
    attendance::record(&t.db, &coordinator, need.id, first.starts_at, &profiles[..2], &profiles[2..])
        .await
        .expect("again");
    // Those who came are told of their approved hours, once; the one absent hears nothing.
    for (person, told) in people.iter().zip([1, 1, 0]) {
        let notices = domain::notifications::outbox::of_user(&t.db, *person, 20).await.expect("read");
        assert_eq!(notices.iter().filter(|n| n.kind == "HOURS_DECISION").count(), told);
    }
    attendance::record(&t.db, &coordinator, need.id, second.starts_at, &profiles[..1], &[]).await.expect("recorded");
    let today = now.date_naive();
    let impact = hours::impact(&t.db, org.0, today - TimeDelta::days(30), today).await.expect("impact");
    assert_eq!((impact.approved_minutes, impact.active_volunteers, impact.sessions_held), (3 * 120, 2, 2));

    // Recorded absent after all: the hours the record gave go, and the session no longer counts as held by them.
    attendance::record(&t.db, &coordinator, need.id, second.starts_at, &[], &profiles[..1]).await.expect("absent");
    let impact = hours::impact(&t.db, org.0, today - TimeDelta::days(30), today).await.expect("impact");
    assert_eq!((impact.approved_minutes, impact.sessions_held), (2 * 120, 1));
    // A cancelled session had nobody to record.
    let cancelled = &past[2];
    let reason = "Hall flooded";
    let called_off = sessions::cancel(&t.db, &coordinator, need.id, cancelled.starts_at, reason).await;
    // Past sessions cannot be called off now; the record of one called off beforehand is refused: write it directly.
    assert!(called_off.is_err());
    entity::session_cancellation::ActiveModel {
        need_id: sea_orm::Set(need.id),
        starts_at: sea_orm::Set(cancelled.starts_at),
        reason: sea_orm::Set(reason.into()),
        cancelled_by: sea_orm::Set(Some(coordinator.id)),
        cancelled_at: sea_orm::Set(cancelled.starts_at - TimeDelta::days(2)),
    }
    .insert(&t.db)
    .await
    .expect("a cancellation");
    let refused = attendance::record(&t.db, &coordinator, need.id, cancelled.starts_at, &profiles[..1], &[]).await;
    assert!(matches!(refused, Err(AppError::Conflict(_))), "{refused:?}");

    // A future session, someone not on the need, or the same person twice: refused with the field.
    let coming =
        sessions::list(&t.db, &need, now + TimeDelta::days(1), now + TimeDelta::days(3)).await.expect("sessions");
    let future = attendance::record(&t.db, &coordinator, need.id, coming[0].starts_at, &profiles[..1], &[]).await;
    assert!(matches!(future, Err(AppError::BadInput { ref field, .. }) if field == "input.sessionId"));
    let nobody = uuid::Uuid::now_v7();
    let stranger = attendance::record(&t.db, &coordinator, need.id, first.starts_at, &[nobody], &[]).await;
    assert!(matches!(stranger, Err(AppError::BadInput { ref field, .. }) if field == "input.attended[0]"));
    let both = attendance::record(&t.db, &coordinator, need.id, first.starts_at, &profiles[..1], &profiles[..1]).await;
    assert!(matches!(both, Err(AppError::BadInput { ref field, .. }) if field == "input.absent[0]"));
    // Only the organisation records.
    let volunteer = t.person("Nosy").await;
    let denied = attendance::record(&t.db, &volunteer, need.id, first.starts_at, &profiles[..1], &[]).await;
    assert!(matches!(denied, Err(AppError::Forbidden(_))));
}
