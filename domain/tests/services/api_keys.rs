//! Partner API keys: issued with scopes (the matches scope only with an organisation), known only by their hash,
//! refused once revoked, and every issue and revocation in the audit log.
use domain::api_keys::ApiKeyScope;
use domain::api_keys::service::{self, NewApiKey};
use domain::audit::{Actor, AuditAction, AuditFilter};
use domain::error::AppError;
use domain::store::page::Page;

use crate::helpers::TestDb;

fn listings_key() -> NewApiKey {
    NewApiKey {
        name: "Bristol Volunteer Centre website".into(),
        scopes: vec![ApiKeyScope::ReadPublicListings],
        organisation_id: None,
        rate_limit_per_minute: None,
        partner: Default::default(),
    }
}

#[tokio::test]
async fn a_key_works_until_it_is_revoked_and_the_log_says_who_did_what() {
    let t = TestDb::new().await;
    let admin = t.person("Admin").await;
    let by = Actor::user(admin.id);
    let matches_without_org = NewApiKey { scopes: vec![ApiKeyScope::ReadOrganisationMatches], ..listings_key() };
    let refused = service::issue(&t.db, by, matches_without_org).await;
    assert!(matches!(refused, Err(AppError::BadInput { ref field, .. }) if field == "input.organisationId"));

    let (row, key) = service::issue(&t.db, by, listings_key()).await.expect("issued");
    assert!(!row.key_hash.contains(&key) && key.starts_with(&row.key_prefix), "only a hash and a prefix are kept");
    let caller = service::authenticate(&t.db, &key).await.expect("the key works");
    assert_eq!((caller.id, caller.scopes.clone()), (row.id, vec![ApiKeyScope::ReadPublicListings]));
    assert!(service::authenticate(&t.db, "pk_not-a-key").await.is_err());

    service::revoke(&t.db, by, row.id).await.expect("revoked");
    assert!(matches!(service::authenticate(&t.db, &key).await, Err(AppError::Unauthenticated(_))));

    let (log, _) = domain::audit::list(
        &t.db,
        &AuditFilter { actor_user_id: Some(admin.id), ..AuditFilter::default() },
        &Page::first(10),
    )
    .await
    .expect("the log");
    let actions: Vec<_> = log.rows.iter().map(|(_, e)| AuditAction::from_db(&e.action)).collect();
    assert_eq!(actions, vec![Some(AuditAction::KeyRevoked), Some(AuditAction::KeyIssued)], "newest first");
}

#[tokio::test]
async fn a_partner_names_its_origins_and_apply_page_and_bad_ones_are_refused() {
    use domain::api_keys::service::{PartnerSettings, allowed_origins, apply_url_for, update_partner};
    let t = TestDb::new().await;
    let field = |result: Result<_, AppError>| match result {
        Err(AppError::BadInput { field, .. }) => field,
        other => panic!("{:?}", other.map(|_: entity::api_key::Model| ())),
    };
    let partner = |origins: &[&str], apply: Option<&str>| PartnerSettings {
        allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
        apply_url: apply.map(str::to_owned),
    };
    let bad = NewApiKey { partner: partner(&["https://library.example/volunteer"], None), ..listings_key() };
    assert_eq!(field(service::issue(&t.db, Actor::PLATFORM, bad).await.map(|(k, _)| k)), "input.allowedOrigins[0]");
    let bad = NewApiKey { partner: partner(&[], Some("javascript:alert(1)")), ..listings_key() };
    assert_eq!(field(service::issue(&t.db, Actor::PLATFORM, bad).await.map(|(k, _)| k)), "input.applyUrl");

    let good = NewApiKey {
        partner: partner(
            &["HTTPS://Library.example/", "http://localhost:8301"],
            Some("https://library.example/help?id={needId}"),
        ),
        ..listings_key()
    };
    let (key, _) = service::issue(&t.db, Actor::PLATFORM, good).await.expect("issued");
    assert_eq!(allowed_origins(&key), ["http://localhost:8301", "https://library.example"]);
    assert_eq!(apply_url_for(&key, "TmVlZDp4").as_deref(), Some("https://library.example/help?id=TmVlZDp4"));

    let key = update_partner(&t.db, Actor::PLATFORM, key.id, partner(&[], Some("https://library.example/help")))
        .await
        .expect("updated");
    assert!(allowed_origins(&key).is_empty(), "any site again");
    assert_eq!(apply_url_for(&key, "x").as_deref(), Some("https://library.example/help?need=x"));
}

#[tokio::test]
async fn partners_counts_from_several_servers_add_up_by_day() {
    use domain::api_keys::stats::{self, Counted, Tally};
    let t = TestDb::new().await;
    let admin = t.person("Admin").await;
    let (key, _) = service::issue(&t.db, Actor::user(admin.id), listings_key()).await.expect("issued");
    // Two servers count for the same key on the same day; each adds its own counts, twice over for one of them.
    let (one, two) = (Tally::default(), Tally::default());
    for _ in 0..3 {
        one.count(key.id, Counted::View);
    }
    one.count(key.id, Counted::Click);
    two.count(key.id, Counted::View);
    two.count(key.id, Counted::Application);
    one.flush(&t.db).await.expect("written");
    two.flush(&t.db).await.expect("written");
    one.count(key.id, Counted::View);
    one.flush(&t.db).await.expect("written again");
    one.flush(&t.db).await.expect("nothing left to write");
    let today = stats::today();
    let days = stats::days(&t.db, key.id, today, today).await.expect("read");
    assert_eq!(
        (days[0].widget_views, days[0].clicks, days[0].applications),
        (5, 1, 1),
        "each count once, whichever server made it"
    );
    assert!(stats::days(&t.db, key.id, today, today - chrono::Days::new(1)).await.is_err(), "a backwards range");
    let year_on = today + chrono::Days::new(stats::MAX_DAYS);
    assert!(stats::days(&t.db, key.id, today, year_on).await.is_err(), "more than 366 days");
}
