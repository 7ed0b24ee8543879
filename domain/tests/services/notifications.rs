//! Notifications through their services, the clock an argument: what changes write to the outbox (and in their
//! transaction), claims that hand each message to one sender, the screening by preferences, cap and address, the
//! outcomes with their retries, the scheduled jobs that run once across servers, and the sweeps' reminders,
//! recheck notices and digests, each written once.
use std::collections::HashSet;

use chrono::{DateTime, Months, TimeDelta, Utc};
use domain::applications::service as applications;
use domain::needs::service::{self as needs, Schedule};
use domain::needs::{NeedCategory, NeedId, sessions};
use domain::notifications::outbox::{self, Outcome, Recorded, Verdict};
use domain::notifications::preferences::{self, Change};
use domain::notifications::schedule::{self, Job};
use domain::notifications::{Notice, NotificationKind, NotificationStatus, sweeps};
use domain::volunteers::DbsLevel;
use domain::volunteers::verification::{self, CheckMethod, VerifyDbsCheck};
use domain::webhooks::outbox::Backoff;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set, TransactionTrait};
use uuid::Uuid;

use crate::applications::volunteer_profile;
use crate::helpers::{TestDb, every_day, remote_need};

const LEASE: TimeDelta = TimeDelta::seconds(40);

/// Every day 18:00–20:00 from two weeks ago.
fn evenings() -> Schedule {
    every_day(18 * 60, 20 * 60)
}

async fn kinds_for(t: &TestDb, user: Uuid) -> Vec<String> {
    let mut kinds: Vec<String> =
        outbox::of_user(&t.db, user, 100).await.expect("read").into_iter().map(|n| n.kind).collect();
    kinds.sort();
    kinds
}

#[tokio::test]
async fn decisions_offers_and_hours_reach_the_volunteer_and_their_own_moves_do_not() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let volunteer = t.person("Kwame").await;
    let org = t.organisation(&coordinator).await;
    let input = needs::NewNeed { schedule: evenings(), ..remote_need(org, "Jobs club", NeedCategory::JobsClub, 1) };
    let need = needs::create(&t.db, &coordinator, input).await.expect("a need");
    needs::publish(&t.db, &coordinator, NeedId(need.id)).await.expect("published");
    volunteer_profile(&t, &volunteer).await;

    // Applying is the volunteer's own move: nothing to them.
    let (application, _) = applications::apply(&t.db, &volunteer, need.id, "").await.expect("applied");
    assert!(kinds_for(&t, volunteer.id).await.is_empty());
    applications::accept(&t.db, &coordinator, application.id).await.expect("accepted");
    assert_eq!(kinds_for(&t, volunteer.id).await, ["APPLICATION_DECISION"]);
    let written = outbox::of_user(&t.db, volunteer.id, 1).await.expect("read");
    let notice: Notice = serde_json::from_str(&written[0].payload).expect("a notice");
    assert_eq!(
        notice,
        Notice::ApplicationDecision { application_id: application.id, need_id: need.id, accepted: true }
    );

    // Hours decided by the organisation reach the volunteer too.
    let today = domain::hours::service::today();
    let logged = domain::hours::service::log(&t.db, &volunteer, application.id, today, 90, "").await.expect("logged");
    domain::hours::service::reject(&t.db, &coordinator, logged.id, "Not our session").await.expect("rejected");
    assert_eq!(kinds_for(&t, volunteer.id).await, ["APPLICATION_DECISION", "HOURS_DECISION"]);

    // Withdrawing is theirs again: nothing more.
    applications::withdraw(&t.db, &volunteer, application.id).await.expect("withdrawn");
    assert_eq!(kinds_for(&t, volunteer.id).await.len(), 2);
    // The coordinator heard nothing by message (their digest comes from the sweep).
    assert!(kinds_for(&t, coordinator.id).await.is_empty());
}

#[tokio::test]
async fn a_cancelled_session_tells_those_who_come_and_is_rolled_back_with_its_change() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let coming = t.person("Kwame").await;
    let applied = t.person("Ife").await;
    let org = t.organisation(&coordinator).await;
    let input = needs::NewNeed { schedule: evenings(), ..remote_need(org, "Youth club", NeedCategory::YouthClub, 3) };
    let need = needs::create(&t.db, &coordinator, input).await.expect("a need");
    needs::publish(&t.db, &coordinator, NeedId(need.id)).await.expect("published");
    volunteer_profile(&t, &coming).await;
    volunteer_profile(&t, &applied).await;
    let (a, _) = applications::apply(&t.db, &coming, need.id, "").await.expect("applied");
    applications::accept(&t.db, &coordinator, a.id).await.expect("accepted");
    applications::apply(&t.db, &applied, need.id, "").await.expect("applied");
    let now = Utc::now();
    let next = sessions::list(&t.db, &need, now, now + TimeDelta::days(3)).await.expect("sessions")[1].clone();
    sessions::cancel(&t.db, &coordinator, need.id, next.starts_at, "The hall is flooded").await.expect("cancelled");
    assert_eq!(kinds_for(&t, coming.id).await, ["APPLICATION_DECISION", "SESSION_CANCELLED"]);
    assert!(kinds_for(&t, applied.id).await.is_empty(), "only those who come are told");
    // Cancelling again is refused, and writes nothing.
    assert!(sessions::cancel(&t.db, &coordinator, need.id, next.starts_at, "Again").await.is_err());
    assert_eq!(kinds_for(&t, coming.id).await.len(), 2);
}

#[tokio::test]
async fn claims_hand_each_message_to_one_sender_and_screening_applies_preferences_cap_and_address() {
    let t = TestDb::new().await;
    let verified = t.person("Kwame").await;
    let capped = t.person("Ife").await;
    let unconfirmed = t.person("Olu").await;
    let mut row = entity::user::Entity::find_by_id(unconfirmed.id).one(&t.db).await.expect("read").expect("a user");
    row.email_verified_at = None;
    let mut active = row.into_active_model();
    active.email_verified_at = Set(None);
    active.update(&t.db).await.expect("unconfirmed");

    let need_id = Uuid::now_v7();
    let reminder = |i: i64| Notice::SessionReminder {
        need_id,
        starts_at: Utc::now() + TimeDelta::hours(i),
        ends_at: Utc::now() + TimeDelta::hours(i + 1),
    };
    // Kwame turned reminders off; Ife set a cap of two a week; Olu never confirmed the address.
    preferences::turn_off(&t.db, verified.id, NotificationKind::SessionReminder).await.expect("off");
    preferences::update(&t.db, capped.id, Change { weekly_cap: Some(Some(2)), ..Change::default() })
        .await
        .expect("cap");
    for i in 0..3 {
        outbox::enqueue(&t.db, verified.id, reminder(i)).await.expect("written");
        outbox::enqueue(&t.db, capped.id, reminder(i)).await.expect("written");
        outbox::enqueue(&t.db, unconfirmed.id, reminder(i)).await.expect("written");
    }
    // Account messages pass every rule.
    outbox::enqueue(&t.db, verified.id, Notice::SignIn { at: Utc::now() }).await.expect("written");
    outbox::enqueue(&t.db, unconfirmed.id, Notice::EmailVerification { token: "code".into() }).await.expect("written");

    let now = domain::now();
    let claimed = outbox::claim(&t.db, 20, LEASE, now).await.expect("claimed");
    assert_eq!(claimed.len(), 11);
    assert!(outbox::claim(&t.db, 10, LEASE, now).await.expect("none left").is_empty(), "claimed ones wait");

    let verdicts = |user: Uuid| -> Vec<(String, Verdict)> {
        let mut v: Vec<_> = claimed
            .iter()
            .filter(|(c, _)| c.user.id == user)
            .map(|(c, v)| (c.notification.kind.clone(), v.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0).then(format!("{:?}", a.1).cmp(&format!("{:?}", b.1))));
        v
    };
    let off = Verdict::Suppress("turned off by the recipient");
    let reminder_off = ("SESSION_REMINDER".to_owned(), off);
    assert_eq!(
        verdicts(verified.id),
        [reminder_off.clone(), reminder_off.clone(), reminder_off, ("SIGN_IN".to_owned(), Verdict::Send)]
    );
    let capped_verdicts: Vec<Verdict> = verdicts(capped.id).into_iter().map(|(_, v)| v).collect();
    assert_eq!(capped_verdicts.iter().filter(|v| **v == Verdict::Send).count(), 2, "{capped_verdicts:?}");
    assert!(capped_verdicts.contains(&Verdict::Suppress("the recipient's weekly cap was reached")));
    let unconfirmed_verdicts = verdicts(unconfirmed.id);
    assert_eq!(unconfirmed_verdicts[0], ("EMAIL_VERIFICATION".to_owned(), Verdict::Send), "a code goes anyway");
    assert!(unconfirmed_verdicts[1..].iter().all(|(_, v)| *v == Verdict::Suppress("the address is not confirmed")));

    // Sent ones count towards the cap next time: two sent, so a third this week is held back.
    for (c, v) in &claimed {
        let outcome = match v {
            Verdict::Send => Outcome::Sent,
            Verdict::Suppress(why) => Outcome::Suppressed(why),
        };
        outbox::record(&t.db, c, outcome, Backoff::DEFAULT, 0.0).await.expect("recorded");
    }
    outbox::enqueue(&t.db, capped.id, reminder(9)).await.expect("written");
    let later = outbox::claim(&t.db, 10, LEASE, domain::now()).await.expect("claimed");
    assert_eq!(later[0].1, Verdict::Suppress("the recipient's weekly cap was reached"));
    // A code, once sent, is forgotten.
    let code = outbox::of_user(&t.db, unconfirmed.id, 10).await.expect("read");
    let code = code.iter().find(|n| n.kind == "EMAIL_VERIFICATION").expect("the code's message");
    assert_eq!(code.status, NotificationStatus::Sent.as_db());
    assert!(!code.payload.contains("\"code\""), "{}", code.payload);

    // Four senders claim at once: forty messages, each claimed by one of them.
    for _ in 0..40 {
        outbox::enqueue(&t.db, verified.id, Notice::SignIn { at: Utc::now() }).await.expect("written");
    }
    let now = domain::now();
    let claims = futures::future::join_all((0..4).map(|_| outbox::claim(&t.db, 12, LEASE, now))).await;
    let claimed: Vec<_> = claims.into_iter().flat_map(|c| c.expect("claimed")).collect();
    let ids: HashSet<Uuid> = claimed.iter().map(|(c, _)| c.notification.id).collect();
    assert_eq!((claimed.len(), ids.len()), (40, 40), "each message once");
}

#[tokio::test]
async fn failed_sends_retry_with_backoff_give_up_in_the_end_and_a_lapsed_claim_is_not_recorded() {
    let t = TestDb::new().await;
    let person = t.person("Kwame").await;
    outbox::enqueue(&t.db, person.id, Notice::SignIn { at: Utc::now() }).await.expect("written");
    let failed = || Outcome::Failed { error: "could not connect: refused".into(), permanent: false };
    let mut now = domain::now();
    for attempt in 1..=outbox::MAX_ATTEMPTS {
        let claimed = outbox::claim(&t.db, 1, LEASE, now).await.expect("claimed");
        assert_eq!(claimed.len(), 1, "attempt {attempt} is due");
        let (c, _) = &claimed[0];
        assert_eq!(c.notification.attempts, attempt);
        let recorded = outbox::record(&t.db, c, failed(), Backoff::DEFAULT, 0.0).await.expect("recorded");
        if attempt < outbox::MAX_ATTEMPTS {
            let Recorded::Retrying(next) = recorded else { panic!("attempt {attempt}: {recorded:?}") };
            // Not due again before its backoff: 5 s, then four times longer each time.
            let wait = Backoff::DEFAULT.delay(attempt, 0.0);
            assert!((next - domain::now() - wait).num_seconds().abs() <= 1, "attempt {attempt}");
            assert!(outbox::claim(&t.db, 1, LEASE, next - TimeDelta::seconds(2)).await.expect("read").is_empty());
            now = next + TimeDelta::seconds(1);
        } else {
            assert_eq!(recorded, Recorded::GaveUp);
        }
    }
    assert!(outbox::claim(&t.db, 1, LEASE, now + TimeDelta::days(2)).await.expect("read").is_empty(), "given up");

    // A permanent refusal is not retried; an outcome from a claim that lapsed (another server took it) is not kept.
    outbox::enqueue(&t.db, person.id, Notice::SignIn { at: Utc::now() }).await.expect("written");
    let first = outbox::claim(&t.db, 1, LEASE, domain::now()).await.expect("claimed").remove(0).0;
    let lapsed = domain::now() + LEASE + TimeDelta::seconds(1);
    let second = outbox::claim(&t.db, 1, LEASE, lapsed).await.expect("claimed again").remove(0).0;
    assert_eq!(outbox::record(&t.db, &first, Outcome::Sent, Backoff::DEFAULT, 0.0).await.expect("ok"), Recorded::Stale);
    let refused = Outcome::Failed { error: "refused: 550 no such mailbox".into(), permanent: true };
    assert_eq!(outbox::record(&t.db, &second, refused, Backoff::DEFAULT, 0.0).await.expect("ok"), Recorded::GaveUp);
}

#[tokio::test]
async fn a_scheduled_job_runs_once_across_servers_and_again_at_its_next_time() {
    let t = TestDb::new().await;
    let now = domain::now();
    schedule::ensure(&t.db, now).await.expect("rows");
    schedule::ensure(&t.db, now).await.expect("idempotent");
    // Reminders are due at once; the weekly digest is not (a new deployment sends none at once).
    assert!(schedule::claim(&t.db, Job::WeeklyDigest, now).await.expect("read").is_none());
    // Three servers claim the same run at once: one wins.
    let claims = futures::future::join_all((0..3).map(|_| schedule::claim(&t.db, Job::SessionReminders, now))).await;
    let won: Vec<schedule::Run> = claims.into_iter().filter_map(|c| c.expect("claimed")).collect();
    assert_eq!(won.len(), 1);
    assert!(schedule::claim(&t.db, Job::SessionReminders, now).await.expect("read").is_none(), "held");
    assert!(schedule::finish(&t.db, &won[0], now, None).await.expect("finished"));
    // Not due again until its next time, and then due once more.
    let next = Job::SessionReminders.next_after(now);
    assert!(schedule::claim(&t.db, Job::SessionReminders, next - TimeDelta::seconds(1)).await.expect("read").is_none());
    let again = schedule::claim(&t.db, Job::SessionReminders, next).await.expect("read").expect("due");
    assert_eq!(again.previous_start, Some(now));
    // A server that died mid-run: its claim lapses and another takes the run; the dead one's finish is ignored.
    let taken = schedule::claim(&t.db, Job::SessionReminders, next + schedule::LEASE + TimeDelta::seconds(1))
        .await
        .expect("read")
        .expect("taken over");
    assert!(!schedule::finish(&t.db, &again, next, None).await.expect("ignored"));
    // A failed run comes back after five minutes, not at its next time.
    let failed_at = next + schedule::LEASE + TimeDelta::seconds(2);
    assert!(schedule::finish(&t.db, &taken, failed_at, Some("the database went away".into())).await.expect("ok"));
    let retry = failed_at + schedule::RETRY;
    assert!(schedule::claim(&t.db, Job::SessionReminders, retry - TimeDelta::seconds(1)).await.expect("r").is_none());
    let retried = schedule::claim(&t.db, Job::SessionReminders, retry).await.expect("read").expect("due");
    // The failed run did not move the cursor: the retry picks up where the last run that succeeded started.
    assert_eq!(retried.previous_start, Some(now));
    assert!(schedule::finish(&t.db, &retried, retry, None).await.expect("finished"));
    let after = Job::SessionReminders.next_after(retry);
    let next_run = schedule::claim(&t.db, Job::SessionReminders, after).await.expect("read").expect("due");
    assert_eq!(next_run.previous_start, Some(retry));
}

async fn reminded(t: &TestDb, user: Uuid) -> Vec<Notice> {
    outbox::of_user(&t.db, user, 50)
        .await
        .expect("read")
        .into_iter()
        .filter(|n| n.kind == "SESSION_REMINDER")
        .map(|n| serde_json::from_str::<Notice>(&n.payload).expect("a notice"))
        .collect()
}

#[tokio::test]
async fn reminders_go_once_to_those_who_come_to_sessions_in_the_next_day() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let ongoing = t.person("Kwame").await;
    let quiet = t.person("Ife").await;
    let rota = t.person("Olu").await;
    let off_rota = t.person("Bea").await;
    let org = t.organisation(&coordinator).await;
    for p in [&ongoing, &quiet, &rota, &off_rota] {
        volunteer_profile(&t, p).await;
    }
    let club = needs::create(
        &t.db,
        &coordinator,
        needs::NewNeed { schedule: evenings(), ..remote_need(org, "Youth club", NeedCategory::YouthClub, 3) },
    )
    .await
    .expect("a need");
    needs::publish(&t.db, &coordinator, NeedId(club.id)).await.expect("published");
    let mut per_session = remote_need(org, "Food bank rota", NeedCategory::Other, 3);
    per_session.schedule = evenings();
    per_session.signup_mode = domain::needs::SignupMode::PerSession;
    let rota_need = needs::create(&t.db, &coordinator, per_session).await.expect("a need");
    needs::publish(&t.db, &coordinator, NeedId(rota_need.id)).await.expect("published");
    for (p, need) in [(&ongoing, club.id), (&quiet, club.id), (&rota, rota_need.id), (&off_rota, rota_need.id)] {
        let (a, _) = applications::apply(&t.db, p, need, "").await.expect("applied");
        applications::accept(&t.db, &coordinator, a.id).await.expect("accepted");
    }
    preferences::turn_off(&t.db, quiet.id, NotificationKind::SessionReminder).await.expect("off");

    // Now is an hour before the next-but-one evening session: within the coming day, the next evening's session.
    let now: DateTime<Utc> = Utc::now();
    let coming = sessions::list(&t.db, &club, now, now + TimeDelta::days(3)).await.expect("sessions");
    let first = coming.iter().find(|s| s.starts_at > now + TimeDelta::hours(2)).expect("a coming session").clone();
    let at = first.starts_at - TimeDelta::hours(1);
    // Olu signs up for that evening's rota session; Bea does not.
    domain::needs::signups::sign_up(&t.db, &rota, rota_need.id, first.starts_at).await.expect("signed up");

    let lead = TimeDelta::hours(24);
    let swept = sweeps::session_reminders(&t.db, at, lead).await.expect("swept");
    let kwame = reminded(&t, ongoing.id).await;
    assert!(
        kwame.iter().any(|n| matches!(n, Notice::SessionReminder { need_id, starts_at, .. } if *need_id == club.id && *starts_at == first.starts_at)),
        "{kwame:?}"
    );
    assert!(reminded(&t, quiet.id).await.is_empty(), "reminders turned off");
    assert_eq!(reminded(&t, rota.id).await.len(), 1, "the one rota session signed up for");
    assert!(reminded(&t, off_rota.id).await.is_empty(), "not signed up for any");
    assert!(swept.written >= 2, "{swept:?}");
    // Run again (another server, or the next quarter hour): nothing new.
    let again = sweeps::session_reminders(&t.db, at + TimeDelta::minutes(15), lead).await.expect("swept");
    assert_eq!(again.written, 0, "{again:?}");

    // A session called off is not reminded of.
    let later = coming.iter().find(|s| s.starts_at > first.starts_at).expect("a later session").clone();
    sessions::cancel(&t.db, &coordinator, club.id, later.starts_at, "Half term").await.expect("cancelled");
    sweeps::session_reminders(&t.db, later.starts_at - TimeDelta::hours(2), lead).await.expect("swept");
    let kwame = reminded(&t, ongoing.id).await;
    assert!(
        !kwame.iter().any(|n| matches!(n, Notice::SessionReminder { starts_at, .. } if *starts_at == later.starts_at))
    );
}

#[tokio::test]
async fn a_dbs_recheck_notice_comes_at_each_stage_once_and_not_after_a_newer_check() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let volunteer = t.person("Kwame").await;
    let renewed = t.person("Ife").await;
    let org = t.organisation(&coordinator).await;
    let need = needs::create(&t.db, &coordinator, remote_need(org, "Mentoring", NeedCategory::Mentoring, 3))
        .await
        .expect("a need");
    needs::publish(&t.db, &coordinator, NeedId(need.id)).await.expect("published");
    let today = Utc::now().date_naive();
    // Checked so that its three years end in 45 days.
    let checked_on = (today + TimeDelta::days(45)).checked_sub_months(Months::new(36)).expect("a date");
    let mut profiles = Vec::new();
    for p in [&volunteer, &renewed] {
        let profile = volunteer_profile(&t, p).await;
        applications::apply(&t.db, p, need.id, "").await.expect("applied");
        let check = VerifyDbsCheck {
            volunteer_id: profile,
            organisation_id: Some(org.0),
            level: DbsLevel::Enhanced,
            checked_on,
            method: CheckMethod::CertificateSeen,
        };
        verification::verify(&t.db, &coordinator, check).await.expect("verified");
        profiles.push(profile);
    }
    // Ife's was checked again since (on the Update Service): her old check needs no notice.
    let newer = VerifyDbsCheck {
        volunteer_id: profiles[1],
        organisation_id: Some(org.0),
        level: DbsLevel::Enhanced,
        checked_on: today,
        method: CheckMethod::UpdateService,
    };
    verification::verify(&t.db, &coordinator, newer).await.expect("verified again");

    let swept = sweeps::dbs_rechecks(&t.db, today).await.expect("swept");
    assert_eq!(swept.written, 1, "{swept:?}");
    let notices = outbox::of_user(&t.db, volunteer.id, 10).await.expect("read");
    let notice: Notice = serde_json::from_str(&notices[0].payload).expect("a notice");
    assert!(matches!(notice, Notice::DbsRecheck { days_left: 45, .. }), "{notice:?}");
    assert!(outbox::of_user(&t.db, renewed.id, 10).await.expect("read").is_empty());
    // The next days' runs write nothing until the 30-day stage, then once.
    assert_eq!(sweeps::dbs_rechecks(&t.db, today + TimeDelta::days(1)).await.expect("swept").written, 0);
    assert_eq!(sweeps::dbs_rechecks(&t.db, today + TimeDelta::days(15)).await.expect("swept").written, 1);
    assert_eq!(sweeps::dbs_rechecks(&t.db, today + TimeDelta::days(16)).await.expect("swept").written, 0);
    assert_eq!(sweeps::dbs_rechecks(&t.db, today + TimeDelta::days(38)).await.expect("swept").written, 1);
    assert_eq!(sweeps::dbs_rechecks(&t.db, today + TimeDelta::days(46)).await.expect("swept").written, 0, "ended");
}

#[tokio::test]
async fn coordinators_get_one_digest_of_the_hours_new_applications() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let org = t.organisation(&coordinator).await;
    let input = needs::NewNeed { waitlist_cap: Some(5), ..remote_need(org, "Mentoring", NeedCategory::Mentoring, 1) };
    let need = needs::create(&t.db, &coordinator, input).await.expect("a need");
    needs::publish(&t.db, &coordinator, NeedId(need.id)).await.expect("published");
    // Kwame applied last hour and was taken; the place is full since.
    let kwame = t.person("Kwame").await;
    volunteer_profile(&t, &kwame).await;
    let (taken, _) = applications::apply(&t.db, &kwame, need.id, "").await.expect("applied");
    applications::accept(&t.db, &coordinator, taken.id).await.expect("accepted");
    let open = needs::create(&t.db, &coordinator, remote_need(org, "IT class", NeedCategory::ItSkills, 2))
        .await
        .expect("a need");
    needs::publish(&t.db, &coordinator, NeedId(open.id)).await.expect("published");
    let since = domain::now();
    for name in ["Ife", "Olu"] {
        let p = t.person(name).await;
        volunteer_profile(&t, &p).await;
        applications::apply(&t.db, &p, need.id, "").await.expect("waitlisted");
        applications::apply(&t.db, &p, open.id, "").await.expect("applied");
    }
    let until = domain::now() + TimeDelta::seconds(1);
    let swept = sweeps::application_digests(&t.db, since, until).await.expect("swept");
    assert_eq!((swept.considered, swept.written), (1, 1));
    let digest = outbox::of_user(&t.db, coordinator.id, 10).await.expect("read");
    let notice: Notice = serde_json::from_str(&digest[0].payload).expect("a notice");
    let Notice::NewApplications { needs, .. } = notice else { panic!("{notice:?}") };
    // Two on the full need's waitlist, two new on the open one; Kwame's (decided, and before) is not news.
    let count = |id: Uuid| needs.iter().find(|n| n.need_id == id).map(|n| (n.applied, n.waitlisted));
    assert_eq!((needs.len(), count(need.id), count(open.id)), (2, Some((0, 2)), Some((2, 0))));
    assert_eq!(sweeps::application_digests(&t.db, since, until).await.expect("again").written, 0, "once");
    assert_eq!(sweeps::application_digests(&t.db, until, until + TimeDelta::hours(1)).await.expect("next").written, 0);
}

#[tokio::test]
async fn two_unsubscribes_at_once_both_count_and_an_erased_account_keeps_no_preferences() {
    let t = TestDb::new().await;
    let person = t.person("Kwame").await;
    // Two links clicked together, each turning one kind off.
    let (a, b) = tokio::join!(
        preferences::turn_off(&t.db, person.id, NotificationKind::SessionReminder),
        preferences::turn_off(&t.db, person.id, NotificationKind::WeeklyDigest),
    );
    a.expect("off");
    b.expect("off");
    let prefs = preferences::of_user(&t.db, person.id).await.expect("read");
    assert!(!prefs.enabled(NotificationKind::SessionReminder) && !prefs.enabled(NotificationKind::WeeklyDigest));
    // Once the account is erased, an old link changes nothing and brings nothing back.
    domain::privacy::erase(&t.db, person.id, domain::audit::Actor::user(person.id), "test").await.expect("erased");
    let refused = preferences::turn_off(&t.db, person.id, NotificationKind::Invitation).await;
    assert!(matches!(refused, Err(domain::AppError::NotFound(_))), "{refused:?}");
    assert!(
        entity::notification_preference::Entity::find_by_id(person.id).one(&t.db).await.expect("read").is_none(),
        "no preferences kept for an erased account"
    );
}

#[tokio::test]
async fn an_invitation_taken_back_by_the_organisation_is_told_and_one_the_volunteer_declines_is_not() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let kwame = t.person("Kwame").await;
    let ife = t.person("Ife").await;
    let org = t.organisation(&coordinator).await;
    let kwame_profile = volunteer_profile(&t, &kwame).await;
    let ife_profile = volunteer_profile(&t, &ife).await;
    let mut ids = Vec::new();
    for title in ["Jobs club", "Youth club"] {
        let input = needs::NewNeed { schedule: evenings(), ..remote_need(org, title, NeedCategory::JobsClub, 1) };
        let need = needs::create(&t.db, &coordinator, input).await.expect("a need");
        needs::publish(&t.db, &coordinator, NeedId(need.id)).await.expect("published");
        ids.push(need.id);
    }
    // Invited as a confirmed plan invites: the application opened INVITED, holding a place.
    let mut invited = Vec::new();
    for (need_id, profile) in [(ids[0], kwame_profile), (ids[1], ife_profile)] {
        let txn = t.db.begin().await.expect("a transaction");
        let opening = applications::Opening::Invited;
        invited.push(applications::open(&txn, None, need_id, profile, opening).await.expect("invited"));
        needs::take_place(&txn, need_id).await.expect("a place");
        txn.commit().await.expect("committed");
    }
    assert_eq!(kinds_for(&t, kwame.id).await, ["INVITATION"]);
    // The organisation takes Kwame's back: he is told.
    applications::decline(&t.db, &coordinator, invited[0].id).await.expect("taken back");
    assert_eq!(kinds_for(&t, kwame.id).await, ["APPLICATION_DECISION", "INVITATION"]);
    // Ife declines hers herself: nothing more to her.
    domain::matching::plans::respond(&t.db, &ife, invited[1].id, false, TimeDelta::hours(48)).await.expect("declined");
    assert_eq!(kinds_for(&t, ife.id).await, ["INVITATION"]);
}
