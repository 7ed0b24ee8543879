//! Urgent dispatches through the service, the clock an argument: waves of invitations that hold no place, the next
//! wave when one is all declined or lapsed, the first to accept taking the places (never more than there are, also
//! when they accept at once), the rest lapsing, rotation and caps, and who may dispatch.
use std::collections::HashSet;

use chrono::{TimeDelta, Utc};
use domain::applications::ApplicationStatus;
use domain::error::AppError;
use domain::matching::dispatch::{self, DispatchStatus, StartDispatch};
use domain::matching::index::MatchingIndex;
use domain::matching::plans;
use domain::needs::service as needs;
use domain::needs::{NeedCategory, NeedId};
use domain::volunteers::service as volunteers;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::helpers::{TestDb, asked_at, remote_need};
use crate::offers::profile;

const OFFER: TimeDelta = TimeDelta::hours(48);

struct City {
    t: TestDb,
    coordinator: domain::access::AuthUser,
    need: Uuid,
    /// (account, profile id), in the order they were made.
    volunteers: Vec<(domain::access::AuthUser, Uuid)>,
}

async fn city(places: i32, volunteers_count: usize) -> City {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let org = t.organisation(&coordinator).await;
    let need =
        needs::create(&t.db, &coordinator, remote_need(org, "Prescription pick-ups", NeedCategory::Other, places))
            .await
            .expect("a need");
    needs::publish(&t.db, &coordinator, NeedId(need.id)).await.expect("published");
    let mut volunteers_made = Vec::new();
    for i in 0..volunteers_count {
        let person = t.person(&format!("Volunteer{i}")).await;
        let id = volunteers::upsert(&t.db, &person, profile()).await.expect("a profile").id;
        volunteers_made.push((person, id));
    }
    City { t, coordinator, need: need.id, volunteers: volunteers_made }
}

/// The dispatch's invitations (application id, volunteer id, status), in one read.
async fn invitations(t: &TestDb, need: Uuid) -> Vec<(Uuid, Uuid, String)> {
    let ids: HashSet<Uuid> = entity::dispatch_invitation::Entity::find()
        .all(&t.db)
        .await
        .expect("read")
        .into_iter()
        .map(|i| i.application_id)
        .collect();
    entity::application::Entity::find()
        .filter(entity::application::Column::NeedId.eq(need))
        .all(&t.db)
        .await
        .expect("read")
        .into_iter()
        .filter(|a| ids.contains(&a.id))
        .map(|a| (a.id, a.volunteer_id, a.status))
        .collect()
}

fn invited(rows: &[(Uuid, Uuid, String)]) -> Vec<&(Uuid, Uuid, String)> {
    rows.iter().filter(|r| r.2 == ApplicationStatus::Invited.as_db()).collect()
}

fn person_of(c: &City, volunteer: Uuid) -> &domain::access::AuthUser {
    &c.volunteers.iter().find(|(_, id)| *id == volunteer).expect("one of ours").0
}

#[tokio::test]
async fn waves_of_five_go_until_the_place_is_taken_and_the_rest_lapse() {
    let c = city(1, 12).await;
    let index = MatchingIndex::new();
    let now = Utc::now();
    let start = StartDispatch { need_id: c.need, wave_size: None, offer_minutes: Some(30) };
    let started = dispatch::start(&c.t.db, &index, &c.coordinator, start.clone(), now).await.expect("dispatched");
    assert_eq!((started.waves, started.status.as_str()), (1, "ACTIVE"));
    let first = invitations(&c.t, c.need).await;
    assert_eq!(invited(&first).len(), 5, "a wave of five for one place");
    let need = needs::get(&c.t.db, c.need).await.expect("read");
    assert_eq!((need.places_taken, need.status.as_str()), (0, "OPEN"), "the invitations hold no place");
    // One dispatch at a time.
    let again = dispatch::start(&c.t.db, &index, &c.coordinator, start, now).await;
    assert!(matches!(again, Err(AppError::Conflict(_))), "{again:?}");

    // All five decline: the next minute sends the next five, none of them asked before.
    for (id, volunteer, _) in &first {
        plans::respond(&c.t.db, person_of(&c, *volunteer), *id, false, OFFER).await.expect("declined");
    }
    let need = needs::get(&c.t.db, c.need).await.expect("read");
    assert_eq!(need.places_taken, 0, "declining gave back nothing: nothing was held");
    assert_eq!(dispatch::advance(&c.t.db, &index, now + TimeDelta::minutes(1)).await.expect("advanced"), 1);
    let second = invitations(&c.t, c.need).await;
    let asked_first: HashSet<Uuid> = first.iter().map(|r| r.1).collect();
    let wave_two: Vec<&(Uuid, Uuid, String)> = invited(&second);
    assert_eq!(wave_two.len(), 5);
    assert!(wave_two.iter().all(|r| !asked_first.contains(&r.1)), "nobody asked twice");

    // Two of the wave accept at once: one takes the place, the other is told it went.
    let (a, b) = (wave_two[0], wave_two[1]);
    let (ra, rb) = tokio::join!(
        plans::respond(&c.t.db, person_of(&c, a.1), a.0, true, OFFER),
        plans::respond(&c.t.db, person_of(&c, b.1), b.0, true, OFFER),
    );
    assert_eq!([ra.is_ok(), rb.is_ok()].iter().filter(|ok| **ok).count(), 1, "{ra:?} {rb:?}");
    let loser = if ra.is_ok() { rb } else { ra };
    assert!(matches!(loser, Err(AppError::Conflict(_))), "{loser:?}");
    let need = needs::get(&c.t.db, c.need).await.expect("read");
    assert_eq!((need.places_taken, need.status.as_str()), (1, "FILLED"));
    // The rest of the wave lapsed with it; the dispatch ends FILLED at the next minute, sending nothing more.
    let after = invitations(&c.t, c.need).await;
    assert!(invited(&after).is_empty(), "{after:?}");
    assert_eq!(dispatch::advance(&c.t.db, &index, now + TimeDelta::minutes(2)).await.expect("advanced"), 0);
    let ended = dispatch::get(&c.t.db, started.id).await.expect("read");
    assert_eq!((ended.status.as_str(), ended.waves), (DispatchStatus::Filled.as_db(), 2));
}

#[tokio::test]
async fn an_unanswered_wave_lapses_after_its_time_and_the_next_goes_until_nobody_is_left() {
    let c = city(2, 7).await;
    let index = MatchingIndex::new();
    let now = Utc::now();
    let start = StartDispatch { need_id: c.need, wave_size: Some(4), offer_minutes: Some(30) };
    let started = dispatch::start(&c.t.db, &index, &c.coordinator, start, now).await.expect("dispatched");
    // Not before its time.
    assert_eq!(dispatch::advance(&c.t.db, &index, now + TimeDelta::minutes(29)).await.expect("advanced"), 0);
    assert_eq!(invited(&invitations(&c.t, c.need).await).len(), 4);
    let rows = invitations(&c.t, c.need).await;
    // At its time (30 minutes after the invitations, stamped just after `now`) the wave lapses and the next goes:
    // the three left.
    assert_eq!(dispatch::advance(&c.t.db, &index, now + TimeDelta::minutes(31)).await.expect("advanced"), 1);
    let rows_after = invitations(&c.t, c.need).await;
    let lapsed = rows.iter().filter(|r| rows_after.iter().any(|a| a.0 == r.0 && a.2 == "EXPIRED")).count();
    assert_eq!((lapsed, invited(&rows_after).len()), (4, 3));
    // That wave lapses too, and nobody is left: EXHAUSTED.
    assert_eq!(dispatch::advance(&c.t.db, &index, now + TimeDelta::minutes(62)).await.expect("advanced"), 0);
    let ended = dispatch::get(&c.t.db, started.id).await.expect("read");
    assert_eq!(
        (ended.status.as_str(), ended.waves),
        (DispatchStatus::Exhausted.as_db(), 2),
        "the empty third is no wave"
    );
}

#[tokio::test]
async fn a_dispatch_skips_those_at_their_cap_and_asks_the_least_recently_asked_first() {
    let c = city(1, 7).await;
    // The first two were asked recently elsewhere: one three times this week (at the cap), one once yesterday.
    for (who, days) in [(0, 1), (0, 2), (0, 3), (1, 1)] {
        asked_at(&c.t, &c.volunteers[who].0, Utc::now() - TimeDelta::days(days)).await;
    }
    let index = MatchingIndex::new();
    let start = StartDispatch { need_id: c.need, wave_size: Some(5), offer_minutes: None };
    dispatch::start(&c.t.db, &index, &c.coordinator, start, Utc::now()).await.expect("dispatched");
    let asked: HashSet<Uuid> = invitations(&c.t, c.need).await.into_iter().map(|r| r.1).collect();
    assert!(!asked.contains(&c.volunteers[0].1), "at the cap: not asked");
    assert!(!asked.contains(&c.volunteers[1].1), "asked yesterday: the never-asked go first");
    assert_eq!(asked.len(), 5);
}

#[tokio::test]
async fn only_the_needs_coordinators_dispatch_and_only_an_open_need_with_places() {
    let c = city(1, 2).await;
    let index = MatchingIndex::new();
    let stranger = c.t.person("Sam").await;
    let start = StartDispatch { need_id: c.need, wave_size: None, offer_minutes: None };
    let refused = dispatch::start(&c.t.db, &index, &stranger, start.clone(), Utc::now()).await;
    assert!(matches!(refused, Err(AppError::Forbidden(_))), "{refused:?}");
    for (wave_size, offer_minutes, field) in
        [(Some(0), None, "input.waveSize"), (Some(51), None, "input.waveSize"), (None, Some(4), "input.offerMinutes")]
    {
        let bad = StartDispatch { need_id: c.need, wave_size, offer_minutes };
        let refused = dispatch::start(&c.t.db, &index, &c.coordinator, bad, Utc::now()).await;
        assert!(matches!(refused, Err(AppError::BadInput { field: ref f, .. }) if f == field), "{refused:?}");
    }
    needs::close(&c.t.db, &c.coordinator, NeedId(c.need)).await.expect("closed");
    let closed = dispatch::start(&c.t.db, &index, &c.coordinator, start, Utc::now()).await;
    assert!(matches!(closed, Err(AppError::Conflict(_))), "{closed:?}");
}

#[tokio::test]
async fn a_row_reopened_after_a_dispatch_holds_its_place_again_and_a_later_dispatch_may_ask_again() {
    let c = city(1, 3).await;
    let index = MatchingIndex::new();
    let now = Utc::now();
    let start = StartDispatch { need_id: c.need, wave_size: None, offer_minutes: Some(30) };
    let first = dispatch::start(&c.t.db, &index, &c.coordinator, start.clone(), now).await.expect("dispatched");
    // Nobody answers: the wave lapses and nobody is left.
    dispatch::advance(&c.t.db, &index, now + TimeDelta::minutes(31)).await.expect("advanced");
    assert_eq!(dispatch::get(&c.t.db, first.id).await.expect("read").status, DispatchStatus::Exhausted.as_db());
    // A second dispatch asks the same people again, through the same application rows.
    dispatch::start(&c.t.db, &index, &c.coordinator, start, now + TimeDelta::minutes(32)).await.expect("again");
    assert_eq!(invited(&invitations(&c.t, c.need).await).len(), 3);
    dispatch::advance(&c.t.db, &index, now + TimeDelta::minutes(62)).await.expect("advanced");
    assert!(invited(&invitations(&c.t, c.need).await).is_empty());
    // Now a coordinator's plan invites one of them through the same row: that invitation holds the place, and
    // declining it gives the place back.
    let volunteer = c.volunteers[0].1;
    let invited_by_plan = plans::confirm(&c.t.db, &c.coordinator, &[(c.need, volunteer)]).await.expect("invited");
    assert_eq!(needs::get(&c.t.db, c.need).await.expect("read").places_taken, 1);
    plans::respond(&c.t.db, person_of(&c, volunteer), invited_by_plan[0].id, false, OFFER).await.expect("declined");
    let need = needs::get(&c.t.db, c.need).await.expect("read");
    assert_eq!((need.places_taken, need.status.as_str()), (0, "OPEN"), "the place is given back");
}
