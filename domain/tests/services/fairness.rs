//! Fair invitations through the services: nobody is asked more than their weekly cap (3, or fewer by their
//! preference) by plans or waitlists; among volunteers as good as each other, plans ask whoever was asked least
//! recently; and an organisation's outreach says how evenly it asked.
use chrono::{TimeDelta, Utc};
use domain::applications::service as applications;
use domain::applications::{ApplicationStatus, caps};
use domain::error::AppError;
use domain::matching::index::MatchingIndex;
use domain::matching::outreach;
use domain::matching::plans::{self, PlanScope};
use domain::needs::service as needs;
use domain::needs::{NeedCategory, NeedId};
use domain::notifications::preferences::{self, Change};
use domain::organisations::OrganisationId;
use domain::volunteers::service as volunteers;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use uuid::Uuid;

use crate::helpers::{TestDb, asked_at, remote_need};
use crate::offers::profile;

async fn open_need(t: &TestDb, coordinator: &domain::access::AuthUser, org: OrganisationId, title: &str) -> Uuid {
    let need =
        needs::create(&t.db, coordinator, remote_need(org, title, NeedCategory::Befriending, 1)).await.expect("a need");
    needs::publish(&t.db, coordinator, NeedId(need.id)).await.expect("published");
    need.id
}

/// A need with one place, taken by `holder`, and a waitlist of up to five.
async fn full_need(
    t: &TestDb,
    coordinator: &domain::access::AuthUser,
    org: OrganisationId,
    holder: &domain::access::AuthUser,
) -> (Uuid, entity::application::Model) {
    let input =
        needs::NewNeed { waitlist_cap: Some(5), ..remote_need(org, "Befriending calls", NeedCategory::Befriending, 1) };
    let need = needs::create(&t.db, coordinator, input).await.expect("a need").id;
    needs::publish(&t.db, coordinator, NeedId(need)).await.expect("published");
    let (held, _) = applications::apply(&t.db, holder, need, "").await.expect("applied");
    applications::accept(&t.db, coordinator, held.id).await.expect("accepted");
    (need, held)
}

#[tokio::test]
async fn nobody_is_proposed_or_invited_past_their_weekly_cap() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let kwame = t.person("Kwame").await;
    let ife = t.person("Ife").await;
    let org = t.organisation(&coordinator).await;
    let kwame_profile = volunteers::upsert(&t.db, &kwame, profile()).await.expect("a profile").id;
    let ife_profile = volunteers::upsert(&t.db, &ife, profile()).await.expect("a profile").id;
    // Ife will take one invitation a week at most.
    preferences::update(&t.db, ife.id, Change { invitations_per_week: Some(Some(1)), ..Change::default() })
        .await
        .expect("a lower cap");
    let mut need_ids = Vec::new();
    for i in 0..6 {
        need_ids.push(open_need(&t, &coordinator, org, &format!("Befriending calls {i}")).await);
    }
    let index = MatchingIndex::new();

    // Six needs, each volunteer free for up to ten: Kwame is proposed for three, Ife for one.
    let plan = plans::propose(&t.db, &index, &coordinator, PlanScope::Organisation(org.0), 10).await.expect("a plan");
    let count = |id: Uuid| plan.proposals.iter().filter(|p| p.volunteer.id == id).count();
    assert_eq!((count(kwame_profile), count(ife_profile)), (3, 1));
    let pairs: Vec<(Uuid, Uuid)> = plan.proposals.iter().map(|p| (p.need.id, p.volunteer.id)).collect();
    plans::confirm(&t.db, &coordinator, &pairs).await.expect("confirmed");
    let asked = caps::asked(&t.db, &[kwame_profile, ife_profile], domain::now()).await.expect("read");
    assert_eq!((asked[&kwame_profile].left(), asked[&ife_profile].left()), (0, 0));

    // The week's cap is reached: no more proposals, and a plan that asks anyway is refused whole.
    let again = plans::propose(&t.db, &index, &coordinator, PlanScope::Organisation(org.0), 10).await.expect("a plan");
    assert!(again.proposals.is_empty(), "{:?}", again.proposals.iter().map(|p| &p.need.title).collect::<Vec<_>>());
    let free = need_ids.iter().find(|id| !pairs.iter().any(|p| p.0 == **id)).copied().expect("a need left");
    let refused = plans::confirm(&t.db, &coordinator, &[(free, kwame_profile)]).await;
    assert!(matches!(refused, Err(AppError::Conflict(ref m)) if m.contains("this week")), "{refused:?}");
    // A week on, they may be asked again.
    let later = caps::asked(&t.db, &[kwame_profile], domain::now() + TimeDelta::days(8)).await.expect("read");
    assert_eq!(later[&kwame_profile].left(), 3);
}

#[tokio::test]
async fn plans_ask_whoever_was_asked_least_recently_among_equally_good_volunteers() {
    for asked_recently in ["Kwame", "Ife"] {
        let t = TestDb::new().await;
        let coordinator = t.person("Amara").await;
        let kwame = t.person("Kwame").await;
        let ife = t.person("Ife").await;
        let org = t.organisation(&coordinator).await;
        // The same profile: the same score for the need.
        let kwame_profile = volunteers::upsert(&t.db, &kwame, profile()).await.expect("a profile").id;
        let ife_profile = volunteers::upsert(&t.db, &ife, profile()).await.expect("a profile").id;
        let (recent, other) = if asked_recently == "Kwame" {
            ((&kwame, kwame_profile), ife_profile)
        } else {
            ((&ife, ife_profile), kwame_profile)
        };
        // Both were asked before; one of them yesterday, the other a month ago.
        asked_at(&t, recent.0, Utc::now() - TimeDelta::days(1)).await;
        let other_user = if other == kwame_profile { &kwame } else { &ife };
        asked_at(&t, other_user, Utc::now() - TimeDelta::days(30)).await;
        let need = open_need(&t, &coordinator, org, "Befriending calls").await;
        let index = MatchingIndex::new();
        let plan = plans::propose(&t.db, &index, &coordinator, PlanScope::Needs(vec![need]), 1).await.expect("a plan");
        let chosen: Vec<Uuid> = plan.proposals.iter().map(|p| p.volunteer.id).collect();
        assert_eq!(chosen, [other], "{asked_recently} was asked yesterday: the other is asked now");
        assert!(plan.total_score > 0.0 && plan.total_score <= 1.0, "the true score, not the rotated one");
    }
}

async fn status_of(t: &TestDb, id: Uuid) -> String {
    entity::application::Entity::find_by_id(id).one(&t.db).await.expect("read").expect("an application").status
}

#[tokio::test]
async fn a_waitlist_passes_over_someone_at_their_cap_who_keeps_their_place() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let holder = t.person("Bea").await;
    let kwame = t.person("Kwame").await;
    let ife = t.person("Ife").await;
    let org = t.organisation(&coordinator).await;
    for p in [&holder, &kwame, &ife] {
        volunteers::upsert(&t.db, p, profile()).await.expect("a profile");
    }
    let (need, held) = full_need(&t, &coordinator, org, &holder).await;
    let (first, _) = applications::apply(&t.db, &kwame, need, "").await.expect("waitlisted");
    let (second, _) = applications::apply(&t.db, &ife, need, "").await.expect("waitlisted");
    assert_eq!(first.status, ApplicationStatus::Waitlisted.as_db());
    // Kwame, first in line, was asked three times this week elsewhere.
    for days in 1..=3 {
        asked_at(&t, &kwame, Utc::now() - TimeDelta::days(days)).await;
    }
    applications::withdraw(&t.db, &holder, held.id).await.expect("withdrawn");
    assert_eq!(
        status_of(&t, second.id).await,
        ApplicationStatus::Invited.as_db(),
        "the next in line is offered the place"
    );
    assert_eq!(status_of(&t, first.id).await, ApplicationStatus::Waitlisted.as_db(), "Kwame waits on, first in line");

    // Ife declines: the place is free again, and Kwame, still at his cap, still waits (nobody else does).
    plans::respond(&t.db, &ife, second.id, false, TimeDelta::hours(48)).await.expect("declined");
    let waitlist = domain::applications::waitlist::offer_waiting(&t.db).await.expect("swept");
    assert_eq!(waitlist, 0, "nobody in line may be asked yet");
    assert_eq!(status_of(&t, first.id).await, ApplicationStatus::Waitlisted.as_db());
    // A week on (his invitations are eight days old now), the minute's sweep offers him the free place.
    entity::invitation::Entity::update_many()
        .col_expr(
            entity::invitation::Column::InvitedAt,
            sea_orm::sea_query::Expr::value(Utc::now() - TimeDelta::days(8)),
        )
        .filter(entity::invitation::Column::VolunteerId.eq(first.volunteer_id))
        .exec(&t.db)
        .await
        .expect("aged");
    let offered = domain::applications::waitlist::offer_waiting(&t.db).await.expect("swept");
    assert_eq!(offered, 1);
    assert_eq!(status_of(&t, first.id).await, ApplicationStatus::Invited.as_db(), "Kwame is offered the place");
}

#[tokio::test]
async fn outreach_says_how_evenly_an_organisation_asked_and_whom_it_never_asked() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let outsider = t.person("Sam").await;
    let org = t.organisation(&coordinator).await;
    let mut profiles = Vec::new();
    for name in ["Kwame", "Ife", "Bea"] {
        let p = t.person(name).await;
        profiles.push(volunteers::upsert(&t.db, &p, profile()).await.expect("a profile").id);
    }
    let needs_ids = [
        open_need(&t, &coordinator, org, "Calls one").await,
        open_need(&t, &coordinator, org, "Calls two").await,
        open_need(&t, &coordinator, org, "Calls three").await,
    ];
    // Kwame is invited to two needs, Ife to one; Bea never.
    let pairs = [(needs_ids[0], profiles[0]), (needs_ids[1], profiles[0]), (needs_ids[2], profiles[1])];
    plans::confirm(&t.db, &coordinator, &pairs).await.expect("invited");
    let index = MatchingIndex::new();
    let today = Utc::now().date_naive();
    let report = outreach::outreach(&t.db, &index, &coordinator, org.0, today - TimeDelta::days(7), today)
        .await
        .expect("a report");
    assert_eq!(
        (
            report.invitations,
            report.volunteers_invited,
            report.volunteers_asked_more_than_once,
            report.most_invitations_to_one_volunteer
        ),
        (3, 2, 1, 2)
    );
    // Its needs are full now (each holds its invitation); a new open one makes Bea a match it never asked.
    open_need(&t, &coordinator, org, "Calls four").await;
    let report = outreach::outreach(&t.db, &index, &coordinator, org.0, today, today).await.expect("a report");
    assert_eq!(report.matching_volunteers_never_asked, 1, "{report:?}");
    // A span before the invitations counts none of them; another organisation's member sees nothing.
    let before =
        outreach::outreach(&t.db, &index, &coordinator, org.0, today - TimeDelta::days(30), today - TimeDelta::days(1))
            .await
            .expect("a report");
    assert_eq!(before.invitations, 0);
    let refused = outreach::outreach(&t.db, &index, &outsider, org.0, today, today).await;
    assert!(matches!(refused, Err(AppError::Forbidden(_))), "{refused:?}");
}

#[tokio::test]
async fn each_invitation_counts_also_when_the_same_application_is_invited_again() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let holder = t.person("Bea").await;
    let kwame = t.person("Kwame").await;
    let org = t.organisation(&coordinator).await;
    volunteers::upsert(&t.db, &holder, profile()).await.expect("a profile");
    let kwame_profile = volunteers::upsert(&t.db, &kwame, profile()).await.expect("a profile").id;
    let (need, held) = full_need(&t, &coordinator, org, &holder).await;
    let (waiting, _) = applications::apply(&t.db, &kwame, need, "").await.expect("waitlisted");
    // First invitation: the freed place offered from the waitlist; it lapses unanswered.
    applications::withdraw(&t.db, &holder, held.id).await.expect("withdrawn");
    assert_eq!(status_of(&t, waiting.id).await, ApplicationStatus::Invited.as_db());
    let offer_for = TimeDelta::hours(48);
    let lapsed = domain::applications::waitlist::expire_offers(&t.db, Utc::now() + TimeDelta::hours(49), offer_for)
        .await
        .expect("swept");
    assert_eq!(lapsed, 1);
    // Second invitation through the same application row: a plan confirmed for the place it gave back.
    plans::confirm(&t.db, &coordinator, &[(need, kwame_profile)]).await.expect("invited again");
    let again = status_of(&t, waiting.id).await;
    assert_eq!(again, ApplicationStatus::Invited.as_db());
    let asked = caps::asked(&t.db, &[kwame_profile], domain::now()).await.expect("read");
    assert_eq!((asked[&kwame_profile].this_week, asked[&kwame_profile].left()), (2, 1));
    let today = Utc::now().date_naive();
    let index = MatchingIndex::new();
    let report = outreach::outreach(&t.db, &index, &coordinator, org.0, today, today).await.expect("a report");
    assert_eq!((report.invitations, report.volunteers_asked_more_than_once), (2, 1), "{report:?}");
}

#[tokio::test]
async fn two_invitations_at_once_cannot_take_a_volunteer_past_their_cap() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let kwame = t.person("Kwame").await;
    let org = t.organisation(&coordinator).await;
    let kwame_profile = volunteers::upsert(&t.db, &kwame, profile()).await.expect("a profile").id;
    // One invitation left this week.
    preferences::update(&t.db, kwame.id, Change { invitations_per_week: Some(Some(1)), ..Change::default() })
        .await
        .expect("a lower cap");
    let first = open_need(&t, &coordinator, org, "Befriending calls").await;
    let second = open_need(&t, &coordinator, org, "Shopping trips").await;
    // One invitation made in a transaction still open; a second one at the same time waits for it, then counts it.
    let txn = t.db.begin().await.expect("a transaction");
    applications::open(&txn, None, first, kwame_profile, applications::Opening::Invited).await.expect("invited");
    let db = t.db.clone();
    let racing = tokio::spawn(async move {
        let txn = db.begin().await.expect("a transaction");
        let outcome = applications::open(&txn, None, second, kwame_profile, applications::Opening::Invited).await;
        txn.commit().await.expect("committed");
        outcome.map(|a| a.id)
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    txn.commit().await.expect("committed");
    let refused = racing.await.expect("the second invitation");
    assert!(matches!(refused, Err(AppError::Conflict(ref m)) if m.contains("seven days")), "{refused:?}");
    let asked = caps::asked(&t.db, &[kwame_profile], domain::now()).await.expect("read");
    assert_eq!(asked[&kwame_profile].this_week, 1);
    // And a plan read before is refused whole for the same reason.
    let late = plans::confirm(&t.db, &coordinator, &[(second, kwame_profile)]).await;
    assert!(matches!(late, Err(AppError::Conflict(_))), "{late:?}");
}

#[tokio::test]
async fn the_weekly_digest_tells_of_a_need_those_asked_least_recently_among_the_equally_good() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let org = t.organisation(&coordinator).await;
    // Twelve volunteers as good as each other for a need with one place: the digest tells ten of it.
    let mut people = Vec::new();
    for i in 0..12 {
        let p = t.person(&format!("Volunteer{i}")).await;
        volunteers::upsert(&t.db, &p, profile()).await.expect("a profile");
        people.push(p);
    }
    // Two of them were asked yesterday (elsewhere); the rest never.
    for p in &people[..2] {
        asked_at(&t, p, Utc::now() - TimeDelta::days(1)).await;
    }
    let need = open_need(&t, &coordinator, org, "Befriending calls").await;
    let index = MatchingIndex::new();
    domain::notifications::sweeps::weekly_digest(&t.db, &index, domain::now() + TimeDelta::minutes(1))
        .await
        .expect("swept");
    let mut told = Vec::new();
    for (i, p) in people.iter().enumerate() {
        let notices = domain::notifications::outbox::of_user(&t.db, p.id, 10).await.expect("read");
        if notices.iter().any(|n| n.kind == "WEEKLY_DIGEST" && n.payload.contains(&need.to_string())) {
            told.push(i);
        }
    }
    assert_eq!(told, (2..12).collect::<Vec<_>>(), "the two asked yesterday are left out this week");
}
