//! Live signals: heard once their transaction commits, never when it rolls back; and a subscription's filter
//! admits exactly the needs the listing with that filter shows.
use std::sync::Arc;
use std::time::Duration;

use domain::access::Viewer;
use domain::live::{Event, Hub, NeedWatch, Signal};
use domain::matching::index::MatchingIndex;
use domain::needs::service::{self, NeedFilter, NewNeed};
use domain::needs::{NeedCategory, NeedId, NeedOrder};
use domain::organisations::OrganisationId;
use domain::store::Reads;
use domain::store::page::Page;
use domain::store::rows::Shown;
use domain::values::{Coordinates, RadiusKm};
use sea_orm::{ConnectionTrait, DatabaseBackend, TransactionTrait};
use tokio::sync::broadcast::Receiver;

use crate::helpers::{TestDb, remote_need};

fn hub(t: &TestDb) -> Arc<Hub> {
    let listen = (t.db.get_database_backend() == DatabaseBackend::Postgres).then(|| t.url.clone());
    Hub::new(t.db.clone(), listen, Arc::new(MatchingIndex::new()))
}

async fn quiet(events: &mut Receiver<Arc<Event>>) {
    if let Ok(event) = tokio::time::timeout(Duration::from_millis(500), events.recv()).await {
        panic!("expected nothing, heard {event:?}");
    }
}

#[tokio::test]
async fn a_signal_is_heard_once_its_transaction_commits_and_never_if_it_rolls_back() {
    let t = TestDb::new().await;
    let hub = hub(&t);
    let mut events = hub.subscribe().await;
    let coordinator = t.person("Coordinator").await;
    let organisation = t.organisation(&coordinator).await;
    let need =
        service::create(&t.db, &coordinator, remote_need(organisation, "Befriender", NeedCategory::Befriending, 2))
            .await
            .expect("a draft");

    let txn = t.db.begin().await.expect("a transaction");
    domain::live::signal(&txn, Signal::NeedUpdated(need.id)).await.expect("signalled");
    txn.rollback().await.expect("rolled back");
    quiet(&mut events).await;

    let txn = t.db.begin().await.expect("a transaction");
    domain::live::signal(&txn, Signal::NeedPublished(need.id)).await.expect("signalled");
    // Written, not committed: nothing yet.
    txn.execute_unprepared("SELECT 1").await.expect("still open");
    quiet(&mut events).await;
    txn.commit().await.expect("committed");
    let heard = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.expect("heard").expect("an event");
    match &*heard {
        Event::Need { published: true, need: heard, matches: None } => assert_eq!(heard.id, need.id),
        other => panic!("not the publication: {other:?}"),
    }
    quiet(&mut events).await;

    // A service's own transaction signals with its change: publishing the need is heard once.
    service::publish(&t.db, &coordinator, NeedId(need.id)).await.expect("published");
    let heard = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.expect("heard").expect("an event");
    assert!(matches!(&*heard, Event::Need { published: true, need: n, .. } if n.id == need.id), "{heard:?}");
    quiet(&mut events).await;
}

/// Needs of every kind the filter tells apart, all published.
async fn needs_of_every_kind(t: &TestDb) -> (OrganisationId, OrganisationId) {
    let coordinator = t.person("Coordinator").await;
    let (first, second) = (t.organisation(&coordinator).await, t.organisation(&coordinator).await);
    let putney =
        |dlat: f64, dlng: f64| Some(Coordinates::new("location", 51.4613 + dlat, -0.2391 + dlng).expect("a place"));
    let made = [
        ("English Conversation club", NeedCategory::EnglishClasses, vec!["teaching english"], putney(0.0, 0.0), first),
        ("conversation café", NeedCategory::Befriending, vec![], putney(0.01, 0.01), first),
        ("Jobs club mentor", NeedCategory::JobsClub, vec!["cv writing", "mentoring"], putney(0.02, -0.03), second),
        ("IT class helper", NeedCategory::ItSkills, vec!["it support"], putney(0.2, 0.0), second),
        ("Conversation by phone", NeedCategory::Befriending, vec!["listening"], None, first),
        ("Far English class", NeedCategory::EnglishClasses, vec!["teaching english"], putney(1.5, 0.5), first),
        ("Edge of the circle", NeedCategory::EnglishClasses, vec![], putney(0.0268, 0.0), second),
        ("ÉCOLE DU SOIR", NeedCategory::EnglishClasses, vec![], putney(0.0, 0.01), second),
    ];
    for (title, category, skills, location, organisation) in made {
        let mut new = remote_need(organisation, title, category, 2);
        new = NewNeed {
            description: format!("{title}: help wanted"),
            required_skills: skills.into_iter().map(str::to_owned).collect(),
            remote: location.is_none(),
            location,
            ..new
        };
        let need = service::create(&t.db, &coordinator, new).await.expect("created");
        service::publish(&t.db, &coordinator, NeedId(need.id)).await.expect("published");
    }
    (first, second)
}

#[tokio::test]
async fn a_subscriptions_filter_admits_exactly_what_the_listing_shows() {
    let t = TestDb::new().await;
    let (first, _) = needs_of_every_kind(&t).await;
    let everything: Vec<entity::need::Model> =
        <entity::need::Entity as sea_orm::EntityTrait>::find().all(&t.db).await.expect("the needs");
    let reads = Reads::new(&t.db, 0, Duration::from_secs(5));
    let center = Coordinates::new("near", 51.4613, -0.2391).expect("a place");
    let near = |km: f64| Some((center, RadiusKm::new("near", km).expect("a radius")));
    let filters = [
        NeedFilter::default(),
        NeedFilter { text: Some("CONVERSATION".into()), ..NeedFilter::default() },
        NeedFilter { text: Some("english class".into()), ..NeedFilter::default() },
        NeedFilter { text: Some("café".into()), ..NeedFilter::default() },
        // SQLite folds ASCII letters only, PostgreSQL every letter: the listing finds this on PostgreSQL alone.
        NeedFilter { text: Some("école".into()), ..NeedFilter::default() },
        NeedFilter {
            categories: Some(vec![NeedCategory::EnglishClasses, NeedCategory::JobsClub]),
            ..NeedFilter::default()
        },
        NeedFilter { skills: Some(vec!["Teaching_English".into(), "mentoring".into()]), ..NeedFilter::default() },
        NeedFilter { remote: Some(true), ..NeedFilter::default() },
        NeedFilter { remote: Some(false), near: near(3.0), ..NeedFilter::default() },
        NeedFilter { near: near(3.0), ..NeedFilter::default() },
        NeedFilter { near: near(25.0), categories: Some(vec![NeedCategory::EnglishClasses]), ..NeedFilter::default() },
        NeedFilter { organisation_id: Some(first), text: Some("conversation".into()), ..NeedFilter::default() },
        NeedFilter { status: Some(domain::needs::NeedStatus::Closed), ..NeedFilter::default() },
    ];
    for filter in filters {
        let described = format!("{filter:?}");
        let page = Page::first(100);
        let listed =
            service::list(&reads, &Viewer::anonymous(), filter.clone(), NeedOrder::Newest, &page, false, &Shown::ALL)
                .await
                .expect("listed");
        let mut shown: Vec<_> = listed.rows.rows.iter().map(|r| *r.need.id()).collect();
        let watch = NeedWatch::new(filter, t.db.get_database_backend()).expect("a valid filter");
        let mut admitted: Vec<_> = everything.iter().filter(|n| watch.admits(n)).map(|n| n.id).collect();
        shown.sort();
        admitted.sort();
        assert_eq!(admitted, shown, "{described}");
    }
    // Bad input is refused as the listing refuses it.
    let too_long = NeedFilter { text: Some("x".repeat(101)), ..NeedFilter::default() };
    assert!(NeedWatch::new(too_long, DatabaseBackend::Sqlite).is_err());
    let blank_skill = NeedFilter { skills: Some(vec!["  ".into()]), ..NeedFilter::default() };
    assert!(NeedWatch::new(blank_skill, DatabaseBackend::Postgres).is_err());
}
