//! Webhooks' outbox: events commit with their change or not at all, each attempt is claimed by one sender, and
//! only the holder of a claim records its outcome.
use chrono::TimeDelta;
use domain::access::AuthUser;
use domain::api_keys::ApiKeyScope;
use domain::api_keys::service::{self as keys, NewApiKey};
use domain::applications::ApplicationStatus;
use domain::applications::service as applications;
use domain::audit::Actor;
use domain::error::AppError;
use domain::needs::NeedCategory;
use domain::needs::service as needs;
use domain::users::PlatformRole;
use domain::webhooks::outbox::{self, Backoff, Outcome, Recorded};
use domain::webhooks::service::{self, NewEndpoint};
use domain::webhooks::targets::{Target, TargetPolicy};
use domain::webhooks::{DeliveryStatus, WebhookEvent};
use sea_orm::EntityTrait;

use crate::helpers::{TestDb, remote_need};

/// A platform admin, a listings key with one endpoint for need events, and a coordinator's organisation.
async fn setting_up(t: &TestDb) -> (AuthUser, domain::organisations::OrganisationId) {
    let admin = AuthUser { id: t.person("Admin").await.id, role: PlatformRole::Admin };
    let key = NewApiKey {
        name: "Local paper".into(),
        scopes: vec![ApiKeyScope::ReadPublicListings],
        organisation_id: None,
        rate_limit_per_minute: None,
        partner: Default::default(),
    };
    let (key, _) = keys::issue(&t.db, Actor::user(admin.id), key).await.expect("a key");
    let url = Target::parse("url", "http://127.0.0.1:9/hook", TargetPolicy::DEVELOPMENT).expect("a loopback address");
    let events = vec![WebhookEvent::NeedPublished, WebhookEvent::NeedUpdated];
    service::create(&t.db, &admin, NewEndpoint { api_key_id: key.id, url, events }).await.expect("an endpoint");
    let coordinator = t.person("Coordinator").await;
    let organisation = t.organisation(&coordinator).await;
    let need =
        needs::create(&t.db, &coordinator, remote_need(organisation, "Befriender", NeedCategory::Befriending, 2))
            .await
            .expect("a need");
    needs::publish(&t.db, &coordinator, domain::needs::NeedId(need.id)).await.expect("published");
    (coordinator, organisation)
}

async fn deliveries(t: &TestDb) -> Vec<entity::webhook_delivery::Model> {
    entity::webhook_delivery::Entity::find().all(&t.db).await.expect("deliveries")
}

#[tokio::test]
async fn an_event_commits_with_its_change_or_not_at_all() {
    let t = TestDb::new().await;
    let (coordinator, organisation) = setting_up(&t).await;
    let written = deliveries(&t).await;
    assert_eq!(written.len(), 1, "publishing wrote one delivery");
    assert_eq!(written[0].event, WebhookEvent::NeedPublished.as_db());
    assert_eq!(written[0].status, DeliveryStatus::Pending.as_db());

    // The organisation's own key hears its applications. A need with one place and two applicants: accepting the
    // second moves its application (and writes that event) before it finds no place left, and all of it rolls back.
    let admin = AuthUser { id: t.person("Root").await.id, role: PlatformRole::Admin };
    let key = NewApiKey {
        name: "CRM".into(),
        scopes: vec![ApiKeyScope::ReadOrganisationMatches],
        organisation_id: Some(organisation.0),
        rate_limit_per_minute: None,
        partner: Default::default(),
    };
    let (key, _) = keys::issue(&t.db, Actor::user(admin.id), key).await.expect("a key");
    let url = Target::parse("url", "http://127.0.0.1:9/crm", TargetPolicy::DEVELOPMENT).expect("an address");
    let events = vec![WebhookEvent::ApplicationCreated, WebhookEvent::ApplicationStatusChanged];
    service::create(&t.db, &admin, NewEndpoint { api_key_id: key.id, url, events }).await.expect("an endpoint");
    let need = needs::create(&t.db, &coordinator, remote_need(organisation, "Mentor", NeedCategory::Mentoring, 1))
        .await
        .expect("a need");
    needs::publish(&t.db, &coordinator, domain::needs::NeedId(need.id)).await.expect("published");
    let mut applications = Vec::new();
    for name in ["Ali", "Bea"] {
        let volunteer = t.person(name).await;
        crate::applications::volunteer_profile(&t, &volunteer).await;
        let (application, _) = applications::apply(&t.db, &volunteer, need.id, "").await.expect("applied");
        applications.push(application);
    }
    let count = |event: WebhookEvent| {
        let t = &t;
        async move { deliveries(t).await.iter().filter(|d| d.event == event.as_db()).count() }
    };
    assert_eq!(count(WebhookEvent::ApplicationCreated).await, 2);
    applications::accept(&t.db, &coordinator, applications[0].id).await.expect("accepted");
    assert_eq!(count(WebhookEvent::ApplicationStatusChanged).await, 1);
    let refused = applications::accept(&t.db, &coordinator, applications[1].id).await;
    assert!(matches!(refused, Err(AppError::Conflict(_))), "{refused:?}");
    assert_eq!(count(WebhookEvent::ApplicationStatusChanged).await, 1, "no event for an acceptance rolled back");
    let second = applications::get(&t.db, applications[1].id).await.expect("read");
    assert_eq!(second.status, ApplicationStatus::Applied.as_db());
}

#[tokio::test]
async fn each_attempt_is_claimed_once_and_recorded_only_by_its_holder() {
    let t = TestDb::new().await;
    setting_up(&t).await;
    let minute = TimeDelta::minutes(1);
    let claimed = outbox::claim(&t.db, 16, minute).await.expect("claimed");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].delivery.attempts, 1);
    assert!(outbox::claim(&t.db, 16, minute).await.expect("claimed").is_empty(), "held by the first claim");

    // Someone else's claim (another stamp) cannot record this attempt.
    let mut other = claimed[0].clone();
    other.delivery.claimed_until = other.delivery.claimed_until.map(|t| t + TimeDelta::microseconds(1));
    let failed = Outcome::Failed { status: Some(500), error: "HTTP 500".into() };
    let recorded = outbox::record(&t.db, &other, failed.clone(), Backoff::DEFAULT, 0.0).await.expect("recorded");
    assert_eq!(recorded, Recorded::Stale);
    // The holder's failure schedules the retry 5 s on, and frees the delivery.
    let recorded = outbox::record(&t.db, &claimed[0], failed, Backoff::DEFAULT, 0.0).await.expect("recorded");
    let Recorded::Retrying(next) = recorded else { panic!("{recorded:?}") };
    let waited = next - claimed[0].delivery.last_attempt_at.expect("stamped");
    assert!((TimeDelta::seconds(5)..TimeDelta::seconds(6)).contains(&waited), "{waited}");
    assert!(outbox::claim(&t.db, 16, minute).await.expect("claimed").is_empty(), "not due yet");

    // A claim that lapses (its sender died) is taken again as the next attempt; the dead one's outcome is stale.
    let row = deliveries(&t).await.remove(0);
    let mut due: entity::webhook_delivery::ActiveModel = row.into();
    due.next_attempt_at = sea_orm::Set(domain::now());
    sea_orm::ActiveModelTrait::update(due, &t.db).await.expect("due now");
    let dying = outbox::claim(&t.db, 16, TimeDelta::zero()).await.expect("claimed");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let next = outbox::claim(&t.db, 16, minute).await.expect("claimed");
    assert_eq!((dying.len(), next.len()), (1, 1));
    assert_eq!(next[0].delivery.attempts, 3);
    let late = Outcome::Delivered { status: 200 };
    assert_eq!(
        outbox::record(&t.db, &dying[0], late.clone(), Backoff::DEFAULT, 0.0).await.expect("r"),
        Recorded::Stale
    );
    assert_eq!(outbox::record(&t.db, &next[0], late, Backoff::DEFAULT, 0.0).await.expect("r"), Recorded::Delivered);
    assert_eq!(deliveries(&t).await[0].status, DeliveryStatus::Delivered.as_db());
}
