//! Needs: drafting, publishing, closing, editing, places and the listing's visibility, through the service alone.
use domain::access::Viewer;
use domain::error::AppError;
use domain::needs::service::{self, NeedFilter, NeedPatch, NewNeed, Schedule};
use domain::needs::{NeedCategory, NeedId, NeedOrder, NeedStatus};
use domain::organisations::OrganisationId;
use domain::store::Reads;
use domain::store::page::Page;
use domain::store::rows::Shown;
use domain::values::{Coordinates, Patch, Postcode};
use domain::volunteers::DbsLevel;

use crate::helpers::TestDb;

fn english_classes(organisation_id: OrganisationId) -> NewNeed {
    NewNeed {
        organisation_id,
        title: "Tuesday English classes".into(),
        description: "Conversation practice for newly arrived families.".into(),
        category: NeedCategory::EnglishClasses,
        required_skills: vec!["Teaching".into()],
        languages: vec![],
        safeguarding: DbsLevel::Basic,
        schedule: Schedule::default(),
        location: Some(Coordinates::new("location", 51.4571, -0.2420).expect("a place in London")),
        postcode: Some(Postcode::parse("postcode", "sw15 5pu").expect("a postcode")),
        remote: false,
        volunteers_needed: 2,
        project_id: None,
        priority_ids: vec![],
        waitlist_cap: None,
        signup_mode: domain::needs::SignupMode::Ongoing,
        session_capacity: None,
        safeguarding_verified: false,
    }
}

fn status(need: &entity::need::Model) -> Option<NeedStatus> {
    NeedStatus::from_db(&need.status)
}

#[tokio::test]
async fn a_member_drafts_publishes_and_closes_a_need() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let org = t.organisation(&coordinator).await;
    let need = service::create(&t.db, &coordinator, english_classes(org)).await.expect("created");
    assert_eq!(status(&need), Some(NeedStatus::Draft));
    assert_eq!(need.postcode.as_deref(), Some("SW15 5PU"));
    assert_eq!(need.required_skills, serde_json::json!(["teaching"]), "skills are normalised tags");
    let id = NeedId(need.id);
    let published = service::publish(&t.db, &coordinator, id).await.expect("published");
    assert_eq!(status(&published), Some(NeedStatus::Open));
    assert!(published.published_at.is_some());
    let closed = service::close(&t.db, &coordinator, id).await.expect("closed");
    assert_eq!(status(&closed), Some(NeedStatus::Closed));
}

#[tokio::test]
async fn only_members_post_and_change_needs() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let stranger = t.person("Sam").await;
    let org = t.organisation(&coordinator).await;
    let refused = service::create(&t.db, &stranger, english_classes(org)).await;
    assert!(matches!(refused, Err(AppError::Forbidden(_))), "{refused:?}");
    let need = service::create(&t.db, &coordinator, english_classes(org)).await.expect("created");
    let id = NeedId(need.id);
    assert!(matches!(service::publish(&t.db, &stranger, id).await, Err(AppError::Forbidden(_))));
    let patch = NeedPatch { title: Some("Hijacked".into()), ..NeedPatch::default() };
    assert!(matches!(service::update(&t.db, &stranger, id, patch).await, Err(AppError::Forbidden(_))));
    assert_eq!(service::get(&t.db, need.id).await.expect("still there").title, "Tuesday English classes");
}

#[tokio::test]
async fn bad_commands_name_the_field_and_write_nothing() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let org = t.organisation(&coordinator).await;
    let cases = [
        (NewNeed { location: None, ..english_classes(org) }, "input.location"),
        (NewNeed { volunteers_needed: 0, ..english_classes(org) }, "input.volunteersNeeded"),
        (NewNeed { title: "x".into(), ..english_classes(org) }, "input.title"),
        (
            NewNeed {
                schedule: Schedule {
                    weekly: vec![],
                    start_date: chrono::NaiveDate::from_ymd_opt(2030, 2, 1),
                    end_date: chrono::NaiveDate::from_ymd_opt(2030, 1, 1),
                },
                ..english_classes(org)
            },
            "input.schedule.endDate",
        ),
    ];
    for (command, field) in cases {
        match service::create(&t.db, &coordinator, command).await {
            Err(AppError::BadInput { field: got, .. }) => assert_eq!(got, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(entity::need::Entity::find().count(&t.db).await.expect("counted"), 0);
}

#[tokio::test]
async fn places_fill_a_need_and_free_up_again() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let org = t.organisation(&coordinator).await;
    let need = service::create(&t.db, &coordinator, english_classes(org)).await.expect("created");
    // A draft takes no one.
    assert!(matches!(service::take_place(&t.db, need.id).await, Err(AppError::Conflict(_))));
    service::publish(&t.db, &coordinator, NeedId(need.id)).await.expect("published");
    service::take_place(&t.db, need.id).await.expect("first place");
    service::take_place(&t.db, need.id).await.expect("second place");
    let full = service::get(&t.db, need.id).await.expect("read");
    assert_eq!((full.places_taken, status(&full)), (2, Some(NeedStatus::Filled)));
    assert!(matches!(service::take_place(&t.db, need.id).await, Err(AppError::Conflict(_))), "never overbooked");
    // Fewer places than are taken is refused; more reopens it.
    let fewer = NeedPatch { volunteers_needed: Some(1), ..NeedPatch::default() };
    assert!(matches!(service::update(&t.db, &coordinator, NeedId(need.id), fewer).await, Err(AppError::Conflict(_))));
    let more = NeedPatch { volunteers_needed: Some(3), ..NeedPatch::default() };
    let reopened = service::update(&t.db, &coordinator, NeedId(need.id), more).await.expect("more places");
    assert_eq!(status(&reopened), Some(NeedStatus::Open));
    service::take_place(&t.db, need.id).await.expect("the new place");
    service::free_place(&t.db, need.id).await.expect("a place freed");
    let freed = service::get(&t.db, need.id).await.expect("read");
    assert_eq!((freed.places_taken, status(&freed)), (2, Some(NeedStatus::Open)));
}

#[tokio::test]
async fn a_patch_keeps_clears_or_sets_each_field() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let org = t.organisation(&coordinator).await;
    let need = service::create(&t.db, &coordinator, english_classes(org)).await.expect("created");
    let id = NeedId(need.id);
    let kept = service::update(&t.db, &coordinator, id, NeedPatch::default()).await.expect("nothing changed");
    assert_eq!((kept.postcode.as_deref(), kept.lat.is_some()), (Some("SW15 5PU"), true));
    // In person, a need must keep a place: clearing it alone is refused.
    let unplaced = NeedPatch { location: Patch::Clear, ..NeedPatch::default() };
    assert!(matches!(service::update(&t.db, &coordinator, id, unplaced).await, Err(AppError::BadInput { .. })));
    let remote =
        NeedPatch { location: Patch::Clear, postcode: Patch::Clear, remote: Some(true), ..NeedPatch::default() };
    let moved = service::update(&t.db, &coordinator, id, remote).await.expect("now remote");
    assert_eq!((moved.postcode, moved.lat, moved.remote), (None, None, true));
    assert_eq!(moved.title, "Tuesday English classes", "fields left out are unchanged");
}

#[tokio::test]
async fn drafts_are_listed_only_for_their_organisation() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let outsider = t.person("Sam").await;
    let org = t.organisation(&coordinator).await;
    let draft = service::create(&t.db, &coordinator, english_classes(org)).await.expect("created");
    let open = service::create(&t.db, &coordinator, NewNeed { title: "Jobs club".into(), ..english_classes(org) })
        .await
        .expect("created");
    service::publish(&t.db, &coordinator, NeedId(open.id)).await.expect("published");
    let reads = Reads::new(&t.db, 0, std::time::Duration::from_secs(5));
    let listed = |viewer: Viewer| {
        let reads = reads.clone();
        async move {
            let page = Page::first(10);
            let listed =
                service::list(&reads, &viewer, NeedFilter::default(), NeedOrder::Newest, &page, false, &Shown::ALL)
                    .await
                    .expect("listed");
            listed.rows.rows.into_iter().map(|r| *r.need.id()).collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(Viewer::anonymous()).await, vec![open.id]);
    assert_eq!(listed(Viewer::new(Some(outsider))).await, vec![open.id]);
    assert_eq!(listed(Viewer::new(Some(coordinator))).await, vec![open.id, draft.id], "newest first");
    let drafts = NeedFilter { status: Some(NeedStatus::Draft), ..NeedFilter::default() };
    let page = Page::first(10);
    let anonymous = service::list(&reads, &Viewer::anonymous(), drafts, NeedOrder::Newest, &page, false, &Shown::ALL)
        .await
        .expect("listed");
    assert!(anonymous.rows.rows.is_empty(), "asking for drafts does not show them");
}
