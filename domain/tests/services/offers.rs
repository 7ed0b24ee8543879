//! Offers: a volunteer's place is stored only to about a kilometre; paused offers are listed only to their owners.
use domain::access::Viewer;
use domain::error::AppError;
use domain::offers::service::{self, NewOffer, OfferFilter, OfferId, OfferPatch};
use domain::offers::{OfferKind, OfferStatus};
use domain::store::page::Page;
use domain::values::Coordinates;
use domain::volunteers::service::{self as volunteers, VolunteerProfileDraft};

use crate::helpers::TestDb;

fn saturday_mornings(location: Option<Coordinates>) -> NewOffer {
    NewOffer {
        organisation_id: None,
        kind: OfferKind::Time,
        title: "Saturday mornings".into(),
        description: String::new(),
        category: None,
        postcode: None,
        location,
        remote: false,
        availability: vec![],
    }
}

pub fn profile() -> VolunteerProfileDraft {
    VolunteerProfileDraft {
        display_name: "Kwame".into(),
        bio: String::new(),
        skills: vec![],
        interests: vec![],
        languages: vec![],
        postcode: None,
        location: None,
        travel_radius_km: 10.0,
        availability: vec![],
        dbs_check: None,
    }
}

#[tokio::test]
async fn a_volunteers_offer_never_pinpoints_their_home() {
    let t = TestDb::new().await;
    let volunteer = t.person("Kwame").await;
    let home = Coordinates::new("location", 51.456_789, -0.245_678).expect("a place");
    let refused = service::create(&t.db, &volunteer, saturday_mornings(Some(home))).await;
    assert!(matches!(refused, Err(AppError::Forbidden(_))), "a profile comes first: {refused:?}");
    volunteers::upsert(&t.db, &volunteer, profile()).await.expect("a profile");
    let offer = service::create(&t.db, &volunteer, saturday_mornings(Some(home))).await.expect("offered");
    assert_eq!((offer.lat, offer.lng), (Some(51.46), Some(-0.25)));
    let coordinator = t.person("Amara").await;
    let org = t.organisation(&coordinator).await;
    let organisation_offer =
        NewOffer { organisation_id: Some(org), kind: OfferKind::Space, ..saturday_mornings(Some(home)) };
    let room = service::create(&t.db, &coordinator, organisation_offer).await.expect("offered");
    assert_eq!((room.lat, room.lng), (Some(51.456_789), Some(-0.245_678)), "an organisation's place is public");
}

#[tokio::test]
async fn paused_offers_are_listed_only_to_their_owner() {
    let t = TestDb::new().await;
    let volunteer = t.person("Kwame").await;
    let stranger = t.person("Sam").await;
    volunteers::upsert(&t.db, &volunteer, profile()).await.expect("a profile");
    let offer = service::create(&t.db, &volunteer, NewOffer { remote: true, ..saturday_mornings(None) })
        .await
        .expect("offered");
    let pause = OfferPatch { status: Some(OfferStatus::Paused), ..OfferPatch::default() };
    assert!(matches!(
        service::update(&t.db, &stranger, OfferId(offer.id), pause.clone()).await,
        Err(AppError::Forbidden(_))
    ));
    service::update(&t.db, &volunteer, OfferId(offer.id), pause).await.expect("paused");
    let paused = OfferFilter { status: Some(OfferStatus::Paused), ..OfferFilter::default() };
    let listed = |viewer: Viewer| {
        let (db, filter) = (t.db.clone(), paused.clone());
        async move {
            let (rows, _) = service::list(&db, &viewer, filter, &Page::first(10)).await.expect("listed");
            rows.rows.into_iter().map(|(_, o)| o.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(Viewer::new(Some(volunteer))).await, vec![offer.id]);
    assert!(listed(Viewer::new(Some(stranger))).await.is_empty());
    assert!(listed(Viewer::anonymous()).await.is_empty());
    let active =
        service::list(&t.db, &Viewer::anonymous(), OfferFilter::default(), &Page::first(10)).await.expect("listed");
    assert!(active.0.rows.is_empty(), "no longer among the active offers");
}
