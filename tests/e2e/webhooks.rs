//! Partners' webhooks: endpoints managed by platform admins and the key's organisation's admins, events written
//! with their change, deliveries signed per Standard Webhooks (checked by PyPI's `standardwebhooks`), retried,
//! never sent twice for one attempt by two servers, surviving a restart, given up after a day, and never to an
//! internal address.
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::Settings;
use api::webhooks::sender::Dispatcher;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, data, error_code};
use crate::standards;

const ISSUE: &str = "mutation($input: IssueApiKeyInput!) { issueApiKey(input: $input) { key apiKey { id } } }";
const CREATE: &str = "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret webhookEndpoint { id url events enabled } } }";
const ENDPOINTS: &str =
    "query($key: ID!) { webhookEndpoints(apiKeyId: $key) { id url events enabled disabledReason } }";
const DELIVERIES: &str = "query($id: ID!) { webhookDeliveries(endpointId: $id, first: 50) { totalCount edges { node { id messageId event status attempts lastStatusCode lastError body nextAttemptAt deliveredAt } } } }";

/// What a receiver was sent.
#[derive(Clone, Debug)]
struct Received {
    headers: HashMap<String, String>,
    body: String,
}

impl Received {
    fn id(&self) -> &str {
        &self.headers["webhook-id"]
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Inbox {
    got: Mutex<Vec<Received>>,
    /// Statuses to answer with, in turn; 200 once they run out.
    answers: Mutex<VecDeque<u16>>,
    /// How long to take before answering.
    delay: Mutex<Duration>,
    /// Requests answered (those still being held are in `got` but not counted here).
    answered: std::sync::atomic::AtomicUsize,
}

/// A partner's receiver on a loopback port.
struct Receiver {
    url: String,
    inbox: Arc<Inbox>,
}

impl Receiver {
    async fn start(answers: &[u16]) -> Self {
        let inbox = Arc::new(Inbox::default());
        inbox.answers.lock().expect("lock").extend(answers);
        async fn hook(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: String) -> StatusCode {
            let headers = headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
                .collect();
            inbox.got.lock().expect("lock").push(Received { headers, body });
            let delay = *inbox.delay.lock().expect("lock");
            tokio::time::sleep(delay).await;
            let status = inbox.answers.lock().expect("lock").pop_front().unwrap_or(200);
            inbox.answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            StatusCode::from_u16(status).expect("as the test set up")
        }
        let router = axum::Router::new().route("/hook", axum::routing::post(hook)).with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("as the test set up");
        let url = format!("http://{}/hook", listener.local_addr().expect("as the test set up"));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, inbox }
    }

    fn got(&self) -> Vec<Received> {
        self.inbox.got.lock().expect("lock").clone()
    }
}

/// A dispatcher as a server runs one, with quick retries (50 ms, then 200 ms, …) so tests need not wait.
fn dispatcher(app: &TestApp) -> Dispatcher {
    dispatcher_with(app, 50, 2_000)
}

fn dispatcher_with(app: &TestApp, retry_ms: u64, timeout_ms: u64) -> Dispatcher {
    let mut settings = Settings::for_database("sqlite::memory:");
    settings.webhook_retry_ms = retry_ms;
    settings.webhook_timeout_ms = timeout_ms;
    Dispatcher::new(app.db.clone(), &settings).expect("a dispatcher")
}

/// Runs `dispatcher` until `done` holds (at most 10 s).
async fn deliver_until(dispatcher: &Dispatcher, mut done: impl FnMut() -> bool) {
    for _ in 0..400 {
        dispatcher.deliver_due().await.expect("deliveries");
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("deliveries did not finish in time");
}

/// A key (as the platform admin issues it) and an endpoint on it; returns the key's id, endpoint's id and secret.
async fn endpoint(app: &TestApp, admin: &Session, key: Value, url: &str, events: &[&str]) -> (String, String, String) {
    let resp = app.gql_as(Some(&admin.token), ISSUE, json!({ "input": key })).await;
    let key_id = data(&resp)["issueApiKey"]["apiKey"]["id"].as_str().expect("as the test set up").to_owned();
    let resp = app
        .gql_as(Some(&admin.token), CREATE, json!({ "input": { "apiKeyId": key_id, "url": url, "events": events } }))
        .await;
    let created = &data(&resp)["createWebhookEndpoint"];
    assert_eq!(created["webhookEndpoint"]["enabled"], true);
    let secret = created["secret"].as_str().expect("as the test set up").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (key_id, created["webhookEndpoint"]["id"].as_str().expect("as the test set up").to_owned(), secret)
}

fn public_key() -> Value {
    json!({ "name": "Local paper", "scopes": ["READ_PUBLIC_LISTINGS"] })
}

/// Checks every delivery's signature with the reference library; returns the payloads it parsed.
fn verified(secret: &str, got: &[Received]) -> Vec<Value> {
    let deliveries: Vec<Value> = got.iter().map(|r| json!({ "headers": r.headers, "body": r.body })).collect();
    let file = standards::file("webhooks.json", &json!({ "secret": secret, "deliveries": deliveries }).to_string());
    let out = standards::python("webhook_verify.py", &[file.to_str().expect("as the test set up")]);
    out["verified"].as_array().expect("verified payloads").clone()
}

/// Points the (only) endpoint somewhere else behind the API's back, as a later DNS change or rule change would.
async fn move_endpoint(app: &TestApp, url: impl Into<String>) {
    let row = entity::webhook_endpoint::Entity::find()
        .one(&app.db)
        .await
        .expect("as the test set up")
        .expect("as the test set up");
    let mut row = row.into_active_model();
    row.url = Set(url.into());
    row.update(&app.db).await.expect("as the test set up");
}

async fn deliveries(app: &TestApp, admin: &Session, endpoint_id: &str) -> Vec<Value> {
    let resp = app.gql_as(Some(&admin.token), DELIVERIES, json!({ "id": endpoint_id })).await;
    data(&resp)["webhookDeliveries"]["edges"]
        .as_array()
        .expect("as the test set up")
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test]
async fn a_delivery_fails_twice_then_succeeds_signed_as_the_standard_says() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let receiver = Receiver::start(&[500, 503]).await;
    // By name, so that every attempt goes through the checking resolver (development lets it reach loopback).
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let (_, endpoint_id, secret) = endpoint(&app, &admin, public_key(), &by_name, &["NEED_PUBLISHED"]).await;
    let owner = app.register("owner@hooks.example", "Owner").await;
    let organisation = app.organisation(&owner, "Roehampton ESOL").await;
    let need = app.open_need(&owner, &organisation, "Tuesday English class", json!({})).await;

    let dispatcher = dispatcher(&app);
    deliver_until(&dispatcher, || receiver.got().len() >= 3).await;
    dispatcher.deliver_due().await.expect("as the test set up");
    let got = receiver.got();
    assert_eq!(got.len(), 3, "three attempts, one event: {got:?}");
    assert!(got.iter().all(|r| r.id() == got[0].id()), "the same webhook-id on every attempt");
    assert_eq!(got[0].headers["content-type"], "application/json");

    // The reference implementation verifies every attempt's signature, id and timestamp.
    let payloads = verified(&secret, &got);
    assert_eq!(payloads.len(), 3);
    let body = &payloads[2];
    assert_eq!(body["type"], "need.published");
    assert_eq!(body["data"]["id"], need.as_str());
    assert_eq!(body["data"]["organisationId"], organisation.as_str());
    assert_eq!(body["data"]["title"], "Tuesday English class");
    assert_eq!(body["data"]["status"], "OPEN");
    assert_eq!(body["data"]["placesLeft"], 2);
    assert_eq!(body["data"]["url"], format!("http://localhost:8000/needs/{need}"));
    // A signature made with another secret does not verify.
    let forged = standards::file(
        "forged.json",
        &json!({ "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "deliveries": [{ "headers": got[0].headers, "body": got[0].body }] })
            .to_string(),
    );
    let refused = std::process::Command::new("python3")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/standards/webhook_verify.py"))
        .arg(&forged)
        .env("PYTHONPATH", standards::python_path())
        .output()
        .expect("as the test set up");
    assert!(!refused.status.success(), "a wrong secret must not verify");

    let listed = deliveries(&app, &admin, &endpoint_id).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["event"], "NEED_PUBLISHED");
    assert_eq!(listed[0]["status"], "DELIVERED");
    assert_eq!(listed[0]["attempts"], 3);
    assert_eq!(listed[0]["lastStatusCode"], 200);
    assert_eq!(listed[0]["messageId"], got[0].id());
    assert_eq!(listed[0]["body"].as_str().expect("as the test set up"), got[2].body, "the body as sent");
    assert!(listed[0]["nextAttemptAt"].is_null());
}

#[tokio::test]
async fn a_restart_mid_retry_loses_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let receiver = Receiver::start(&[500]).await;
    let (_, endpoint_id, _) = endpoint(&app, &admin, public_key(), &receiver.url, &["NEED_PUBLISHED"]).await;
    let owner = app.register("owner@restart.example", "Owner").await;
    let organisation = app.organisation(&owner, "Jobs Club").await;
    app.open_need(&owner, &organisation, "CV mentor", json!({})).await;

    // The first server tries once, fails, and stops; its retry is a minute away.
    let first = dispatcher_with(&app, 60_000, 2_000);
    deliver_until(&first, || receiver.got().len() == 1).await;
    drop(first);
    // Another need, claimed by a server that dies before sending it: its claim lapses, nobody records it.
    app.open_need(&owner, &organisation, "Interview practice", json!({})).await;
    let claimed = domain::webhooks::outbox::claim(&app.db, 16, chrono::TimeDelta::milliseconds(300))
        .await
        .expect("as the test set up");
    assert_eq!(claimed.len(), 1, "the second need's delivery (the first waits for its retry)");
    // The minute passes.
    entity::webhook_delivery::Entity::update_many()
        .col_expr(entity::webhook_delivery::Column::NextAttemptAt, sea_orm::sea_query::Expr::value(domain::now()))
        .filter(entity::webhook_delivery::Column::Attempts.eq(1))
        .filter(entity::webhook_delivery::Column::ClaimedUntil.is_null())
        .exec(&app.db)
        .await
        .expect("as the test set up");

    // A new server on the same database finishes both: the retry, and the attempt that died.
    let second = dispatcher(&app);
    deliver_until(&second, || {
        let got = receiver.got();
        got.len() >= 3
    })
    .await;
    let got = receiver.got();
    let titles: Vec<String> =
        got.iter().map(|r| r.json()["data"]["title"].as_str().expect("as the test set up").to_owned()).collect();
    assert_eq!(titles.iter().filter(|t| *t == "CV mentor").count(), 2, "{titles:?}");
    assert_eq!(titles.iter().filter(|t| *t == "Interview practice").count(), 1, "{titles:?}");
    let listed = deliveries(&app, &admin, &endpoint_id).await;
    assert!(listed.iter().all(|d| d["status"] == "DELIVERED"), "{listed:?}");
    let attempts: Vec<i64> = listed.iter().map(|d| d["attempts"].as_i64().expect("as the test set up")).collect();
    assert_eq!(attempts, [2, 2], "newest first: the died attempt counts, the retry counts");
}

#[tokio::test]
async fn two_servers_never_send_the_same_attempt_twice() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let receiver = Receiver::start(&[]).await;
    *receiver.inbox.delay.lock().expect("lock") = Duration::from_millis(20);
    endpoint(&app, &admin, public_key(), &receiver.url, &["NEED_PUBLISHED"]).await;
    let owner = app.register("owner@twice.example", "Owner").await;
    let organisation = app.organisation(&owner, "Youth Club").await;
    let needs = 24;
    for n in 0..needs {
        app.open_need(&owner, &organisation, &format!("Youth worker {n}"), json!({})).await;
    }
    let (a, b) = (dispatcher(&app), dispatcher(&app));
    let run = |d: Dispatcher| async move {
        for _ in 0..10 {
            d.deliver_due().await.expect("deliveries");
        }
    };
    tokio::join!(run(a), run(b));
    let got = receiver.got();
    let mut ids: Vec<&str> = got.iter().map(Received::id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(got.len(), needs, "each delivery sent once: {} sends", got.len());
    assert_eq!(ids.len(), needs);
}

#[tokio::test]
async fn giving_up_disables_the_endpoint_and_a_delivery_can_be_sent_again() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let receiver = Receiver::start(&[500, 500]).await;
    let (key_id, endpoint_id, _) =
        endpoint(&app, &admin, public_key(), &receiver.url, &["NEED_PUBLISHED", "NEED_CLOSED"]).await;
    let owner = app.register("owner@giveup.example", "Owner").await;
    let organisation = app.organisation(&owner, "Befrienders").await;
    app.open_need(&owner, &organisation, "Befriender", json!({})).await;
    let dispatcher = dispatcher(&app);
    deliver_until(&dispatcher, || receiver.got().len() == 1).await;

    // A day of failures later: the delivery is on its last attempt.
    let row = entity::webhook_delivery::Entity::find()
        .one(&app.db)
        .await
        .expect("as the test set up")
        .expect("as the test set up");
    let mut row = row.into_active_model();
    row.attempts = Set(domain::webhooks::outbox::MAX_ATTEMPTS - 1);
    row.next_attempt_at = Set(domain::now());
    row.update(&app.db).await.expect("as the test set up");
    deliver_until(&dispatcher, || receiver.got().len() == 2).await;

    let resp = app.gql_as(Some(&admin.token), ENDPOINTS, json!({ "key": key_id })).await;
    let listed = &data(&resp)["webhookEndpoints"][0];
    assert_eq!(listed["enabled"], false);
    let reason = listed["disabledReason"].as_str().expect("as the test set up");
    assert!(reason.contains("10 failed attempts") && reason.contains("HTTP 500"), "{reason}");
    let delivery = &deliveries(&app, &admin, &endpoint_id).await[0];
    assert_eq!(delivery["status"], "FAILED");
    assert_eq!(delivery["attempts"], 10);
    // A disabled endpoint hears nothing new, and nothing is sent again until it is enabled.
    app.open_need(&owner, &organisation, "Another befriender", json!({})).await;
    assert_eq!(deliveries(&app, &admin, &endpoint_id).await.len(), 1);
    let redeliver = "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { status attempts messageId } }";
    let resp = app.gql_as(Some(&admin.token), redeliver, json!({ "id": delivery["id"] })).await;
    assert_eq!(error_code(&resp), "CONFLICT");
    let enable =
        "mutation($id: ID!) { updateWebhookEndpoint(input: {id: $id, enabled: true}) { enabled disabledReason } }";
    let resp = app.gql_as(Some(&admin.token), enable, json!({ "id": endpoint_id })).await;
    assert_eq!(data(&resp)["updateWebhookEndpoint"], json!({ "enabled": true, "disabledReason": null }));
    let resp = app.gql_as(Some(&admin.token), redeliver, json!({ "id": delivery["id"] })).await;
    assert_eq!(data(&resp)["redeliverWebhook"]["status"], "PENDING");
    assert_eq!(data(&resp)["redeliverWebhook"]["attempts"], 0);
    deliver_until(&dispatcher, || receiver.got().len() == 3).await;
    let got = receiver.got();
    assert_eq!(
        got[2].id(),
        delivery["messageId"].as_str().expect("as the test set up"),
        "sent again with the same webhook-id"
    );
    assert_eq!(deliveries(&app, &admin, &endpoint_id).await[0]["status"], "DELIVERED");
    // Sending a delivered one again is allowed; one still pending is not.
    let resp = app.gql_as(Some(&admin.token), redeliver, json!({ "id": delivery["id"] })).await;
    assert_eq!(data(&resp)["redeliverWebhook"]["status"], "PENDING");
    let resp = app.gql_as(Some(&admin.token), redeliver, json!({ "id": delivery["id"] })).await;
    assert_eq!(error_code(&resp), "CONFLICT");
}

#[tokio::test]
async fn application_events_reach_only_the_organisations_keys_and_name_no_one() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.register("owner@apps.example", "Owner").await;
    let organisation = app.organisation(&owner, "Digital Skills Hub").await;
    let other_owner = app.register("owner@other.example", "Other").await;
    let other = app.organisation(&other_owner, "Other Club").await;
    let ours = Receiver::start(&[]).await;
    let theirs = Receiver::start(&[]).await;
    let listings = Receiver::start(&[]).await;
    let org_key = |org: &str| json!({ "name": "CRM", "scopes": ["READ_ORGANISATION_MATCHES"], "organisationId": org });
    let events = ["APPLICATION_CREATED", "APPLICATION_STATUS_CHANGED", "NEED_PUBLISHED"];
    endpoint(&app, &admin, org_key(&organisation), &ours.url, &events).await;
    endpoint(&app, &admin, org_key(&other), &theirs.url, &events).await;
    endpoint(&app, &admin, public_key(), &listings.url, &["NEED_UPDATED"]).await;

    let need = app.open_need(&owner, &organisation, "IT class helper", json!({})).await;
    let (volunteer, _) = app.volunteer("sam@apps.example", "Sam Volunteer", json!({})).await;
    let application = app.apply(&volunteer, &need).await;
    let accept = "mutation($id: ID!) { acceptApplication(input: {applicationId: $id}) { application { status } } }";
    data(&app.gql_as(Some(&owner.token), accept, json!({ "id": application })).await);

    let dispatcher = dispatcher(&app);
    deliver_until(&dispatcher, || ours.got().len() == 3 && listings.got().len() == 1).await;
    // Deliveries are sent concurrently, so they may arrive out of order: each says when its event happened.
    let mut bodies: Vec<Value> = ours.got().iter().map(Received::json).collect();
    bodies.sort_by_key(|b| b["timestamp"].as_str().expect("as the test set up").to_owned());
    let types: Vec<&str> = bodies.iter().map(|b| b["type"].as_str().expect("as the test set up")).collect();
    assert_eq!(types, ["need.published", "application.created", "application.status_changed"], "{bodies:?}");
    assert_eq!(bodies[1]["data"]["id"], application.as_str());
    assert_eq!(bodies[1]["data"]["needId"], need.as_str());
    assert_eq!(bodies[1]["data"]["status"], "APPLIED");
    assert_eq!(bodies[2]["data"]["status"], "ACCEPTED");
    assert_eq!(bodies[2]["data"]["previousStatus"], "APPLIED");
    for received in ours.got() {
        for personal in ["sam@apps.example", "Sam Volunteer", "SW15 5PU", "ENHANCED"] {
            assert!(!received.body.contains(personal), "{personal} in {}", received.body);
        }
    }
    // Another organisation's key hears nothing of this one's needs; the public key hears the place taken.
    assert!(theirs.got().is_empty(), "{:?}", theirs.got());
    let update = listings.got()[0].json();
    assert_eq!(update["type"], "need.updated");
    assert_eq!(update["data"]["placesLeft"], 1);
}

#[tokio::test]
async fn events_are_written_only_for_changes_that_happen() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let receiver = Receiver::start(&[]).await;
    let events = ["NEED_PUBLISHED", "NEED_UPDATED", "NEED_CLOSED"];
    let (_, endpoint_id, _) = endpoint(&app, &admin, public_key(), &receiver.url, &events).await;
    let owner = app.register("owner@changes.example", "Owner").await;
    let organisation = app.organisation(&owner, "Pavilion Friends").await;
    let draft = app.draft_need(&owner, &organisation, "Pavilion painter", json!({})).await;
    let update =
        "mutation($id: ID!, $title: String!) { updateNeed(input: {needId: $id, title: $title}) { need { title } } }";
    // A draft is nobody's business but its organisation's.
    data(&app.gql_as(Some(&owner.token), update, json!({ "id": draft, "title": "Pavilion painters" })).await);
    assert!(deliveries(&app, &admin, &endpoint_id).await.is_empty());
    let publish = "mutation($id: ID!) { publishNeed(input: {needId: $id}) { need { status } } }";
    data(&app.gql_as(Some(&owner.token), publish, json!({ "id": draft })).await);
    // Publishing it again changes nothing and says nothing.
    data(&app.gql_as(Some(&owner.token), publish, json!({ "id": draft })).await);
    data(&app.gql_as(Some(&owner.token), update, json!({ "id": draft, "title": "Pavilion repaint" })).await);
    let close = "mutation($id: ID!) { closeNeed(input: {needId: $id}) { need { status } } }";
    // Closing it twice closes it once.
    data(&app.gql_as(Some(&owner.token), close, json!({ "id": draft })).await);
    data(&app.gql_as(Some(&owner.token), close, json!({ "id": draft })).await);
    let listed: Vec<String> = deliveries(&app, &admin, &endpoint_id)
        .await
        .iter()
        .map(|d| d["event"].as_str().expect("as the test set up").to_owned())
        .collect();
    assert_eq!(listed, ["NEED_CLOSED", "NEED_UPDATED", "NEED_PUBLISHED"], "newest first");
}

#[tokio::test]
async fn only_admins_of_the_platform_or_the_keys_organisation_manage_webhooks() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.register("owner@manage.example", "Owner").await;
    let organisation = app.organisation(&owner, "Neighbourhood Watch").await;
    let coordinator = app.register("coordinator@manage.example", "Coordinator").await;
    let add = "mutation($input: AddOrganisationMemberInput!) { addOrganisationMember(input: $input) { __typename } }";
    let input = json!({ "input": { "organisationId": organisation, "email": "coordinator@manage.example", "role": "COORDINATOR" } });
    data(&app.gql_as(Some(&owner.token), add, input).await);
    let stranger = app.register("stranger@manage.example", "Stranger").await;
    let receiver = Receiver::start(&[]).await;

    let resp = app.gql_as(Some(&admin.token), ISSUE, json!({ "input": public_key() })).await;
    let platform_key = data(&resp)["issueApiKey"]["apiKey"]["id"].as_str().expect("as the test set up").to_owned();
    let org_key_input =
        json!({ "name": "CRM", "scopes": ["READ_ORGANISATION_MATCHES"], "organisationId": organisation });
    let resp = app.gql_as(Some(&admin.token), ISSUE, json!({ "input": org_key_input })).await;
    let org_key = data(&resp)["issueApiKey"]["apiKey"]["id"].as_str().expect("as the test set up").to_owned();
    let key_secret = data(&resp)["issueApiKey"]["key"].as_str().expect("as the test set up").to_owned();
    let create =
        |key: &str, url: &str, events: Value| json!({ "input": { "apiKeyId": key, "url": url, "events": events } });

    // Nobody but the platform's admins and the key's organisation's owners and admins.
    let ok = create(&org_key, &receiver.url, json!(["APPLICATION_CREATED"]));
    assert_eq!(error_code(&app.gql(CREATE, ok.clone()).await), "UNAUTHENTICATED");
    assert_eq!(error_code(&app.gql_as(Some(&stranger.token), CREATE, ok.clone()).await), "FORBIDDEN");
    assert_eq!(error_code(&app.gql_as(Some(&coordinator.token), CREATE, ok.clone()).await), "FORBIDDEN");
    let platform = create(&platform_key, &receiver.url, json!(["NEED_PUBLISHED"]));
    assert_eq!(error_code(&app.gql_as(Some(&owner.token), CREATE, platform).await), "FORBIDDEN");
    let resp = app.gql_as(Some(&owner.token), CREATE, ok).await;
    let secret = data(&resp)["createWebhookEndpoint"]["secret"].as_str().expect("as the test set up").to_owned();
    let endpoint_id =
        data(&resp)["createWebhookEndpoint"]["webhookEndpoint"]["id"].as_str().expect("as the test set up").to_owned();
    for (who, expected) in [(&stranger, "FORBIDDEN"), (&coordinator, "FORBIDDEN")] {
        let resp = app.gql_as(Some(&who.token), ENDPOINTS, json!({ "key": org_key })).await;
        assert_eq!(error_code(&resp), expected);
        let resp = app.gql_as(Some(&who.token), DELIVERIES, json!({ "id": endpoint_id })).await;
        assert_eq!(error_code(&resp), expected);
    }
    // The secret is shown once: no listing carries it.
    for reader in [&owner, &admin] {
        let listed = app.gql_as(Some(&reader.token), ENDPOINTS, json!({ "key": org_key })).await;
        assert_eq!(data(&listed)["webhookEndpoints"].as_array().map(Vec::len), Some(1));
        assert!(!listed.to_string().contains(&secret));
    }
    // The key itself never manages its webhooks, nor reads them.
    for (query, variables) in
        [(CREATE, create(&org_key, &receiver.url, json!(["NEED_PUBLISHED"]))), (ENDPOINTS, json!({ "key": org_key }))]
    {
        let request = axum::http::Request::post("/graphql")
            .header("content-type", "application/json")
            .header("x-api-key", &key_secret)
            .body(axum::body::Body::from(json!({ "query": query, "variables": variables }).to_string()))
            .expect("as the test set up");
        let (status, body) = app.raw(request).await;
        assert!(status == 403 || body.contains("FORBIDDEN") || body.contains("UNAUTHENTICATED"), "{status} {body}");
        assert!(!body.contains(&receiver.url), "{body}");
    }
    // Application events are only for keys scoped to an organisation.
    let resp = app
        .gql_as(Some(&admin.token), CREATE, create(&platform_key, &receiver.url, json!(["APPLICATION_CREATED"])))
        .await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    assert_eq!(resp["errors"][0]["extensions"]["field"], "input.events");
    // Removing: the same people.
    let delete = "mutation($id: ID!) { deleteWebhookEndpoint(input: {id: $id}) { deletedId } }";
    assert_eq!(
        error_code(&app.gql_as(Some(&coordinator.token), delete, json!({ "id": endpoint_id })).await),
        "FORBIDDEN"
    );
    let resp = app.gql_as(Some(&owner.token), delete, json!({ "id": endpoint_id })).await;
    assert_eq!(data(&resp)["deleteWebhookEndpoint"]["deletedId"], endpoint_id.as_str());
    assert_eq!(error_code(&app.gql_as(Some(&owner.token), delete, json!({ "id": endpoint_id })).await), "NOT_FOUND");
    // Every change is in the audit log.
    let audit = app
        .gql_as(Some(&admin.token), "{ auditEvents(filter: {action: WEBHOOK_CHANGED}) { totalCount } }", json!({}))
        .await;
    assert_eq!(data(&audit)["auditEvents"]["totalCount"], 2, "made and removed");
}

/// Tries to register each of `urls` as an endpoint; each must be refused as a bad `input.url`.
async fn refused_addresses(app: &TestApp, urls: &[&str]) {
    let admin = app.admin().await;
    let resp = app.gql_as(Some(&admin.token), ISSUE, json!({ "input": public_key() })).await;
    let key = data(&resp)["issueApiKey"]["apiKey"]["id"].as_str().expect("as the test set up").to_owned();
    for url in urls {
        let input = json!({ "input": { "apiKeyId": key, "url": url, "events": ["NEED_PUBLISHED"] } });
        let resp = app.gql_as(Some(&admin.token), CREATE, input).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{url}: {resp}");
        assert_eq!(resp["errors"][0]["extensions"]["field"], "input.url", "{url}");
    }
}

#[tokio::test]
async fn no_endpoint_may_point_inside_the_network() {
    // Development allows loopback (so tests can receive) and plain HTTP, and nothing else internal.
    let development = TestApp::spawn().await;
    let internal = [
        "http://10.0.0.7/hook",
        "http://192.168.1.20/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://0x0a000001/hook",
        "ftp://127.0.0.1/hook",
        "http://user:password@127.0.0.1/hook",
        "not a url",
    ];
    refused_addresses(&development, &internal).await;
    // Production: HTTPS only, and not even loopback, whether written as an address or a name.
    let production = TestApp::spawn_with(|s| s.environment = api::config::Environment::Production).await;
    let loopback =
        ["http://partner.example/hook", "https://127.0.0.1/hook", "https://localhost/hook", "https://[::1]/hook"];
    refused_addresses(&production, &loopback).await;
}

#[tokio::test]
async fn delivery_checks_the_address_again_and_a_slow_receiver_slows_no_request() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let receiver = Receiver::start(&[]).await;
    *receiver.inbox.delay.lock().expect("lock") = Duration::from_secs(30);
    let (_, endpoint_id, _) = endpoint(&app, &admin, public_key(), &receiver.url, &["NEED_PUBLISHED"]).await;
    let owner = app.register("owner@slow.example", "Owner").await;
    let organisation = app.organisation(&owner, "Defibrillator Fund").await;
    // A server whose attempts may take 20 s, against a receiver that holds each request for 30 s.
    let patient = tokio::spawn(dispatcher_with(&app, 5_000, 20_000).run());
    app.open_need(&owner, &organisation, "Defibrillator trainer", json!({})).await;
    for _ in 0..1_000 {
        if !receiver.got().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(receiver.got().len(), 1, "the delivery is being sent");
    // Requests are answered while it is: had publishing waited for its delivery, the attempt's outcome would be
    // recorded (after 20 s) before the next request could be made.
    app.open_need(&owner, &organisation, "Defibrillator guardian", json!({})).await;
    let listed = deliveries(&app, &admin, &endpoint_id).await;
    let first = listed.iter().find(|d| d["attempts"] == 1).expect("the attempt under way");
    assert!(first["lastError"].is_null() && first["lastStatusCode"].is_null(), "{listed:?}");
    assert_eq!(receiver.inbox.answered.load(std::sync::atomic::Ordering::SeqCst), 0);
    patient.abort();

    // A server with a 300 ms limit takes the other delivery: its attempt times out and is recorded as such.
    let hasty = dispatcher_with(&app, 5_000, 300);
    hasty.deliver_due().await.expect("as the test set up");
    let listed = deliveries(&app, &admin, &endpoint_id).await;
    assert!(listed.iter().any(|d| d["lastError"].as_str().is_some_and(|e| e.contains("timed out"))), "{listed:?}");

    // An endpoint whose address became internal is refused at delivery, before anything is sent.
    move_endpoint(&app, "http://169.254.169.254/latest/meta-data/").await;
    let before = receiver.got().len();
    entity::webhook_delivery::Entity::update_many()
        .col_expr(entity::webhook_delivery::Column::NextAttemptAt, sea_orm::sea_query::Expr::value(domain::now()))
        .exec(&app.db)
        .await
        .expect("as the test set up");
    hasty.deliver_due().await.expect("as the test set up");
    assert_eq!(receiver.got().len(), before);
    let listed = deliveries(&app, &admin, &endpoint_id).await;
    assert!(
        listed.iter().any(|d| d["lastError"].as_str().is_some_and(|e| e.contains("address refused"))),
        "{listed:?}"
    );
}

/// A name is checked on the addresses it resolves to, at every connection (so a name that comes to resolve inside
/// the network reaches nothing): here the machine's own name, where it resolves only to loopback, in production.
#[tokio::test]
async fn a_name_that_resolves_inside_the_network_is_refused_at_delivery() {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default().trim().to_owned();
    let resolved: Vec<std::net::SocketAddr> =
        tokio::net::lookup_host((host.as_str(), 443)).await.map(Iterator::collect).unwrap_or_default();
    if host.is_empty() || resolved.is_empty() || !resolved.iter().all(|a| a.ip().is_loopback()) {
        eprintln!("skipped: this machine's name ({host:?}) does not resolve to loopback alone: {resolved:?}");
        return;
    }
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let receiver = Receiver::start(&[]).await;
    let port = receiver.url.rsplit(':').next().and_then(|p| p.split('/').next()).expect("a port").to_owned();
    let (_, endpoint_id, _) = endpoint(&app, &admin, public_key(), &receiver.url, &["NEED_PUBLISHED"]).await;
    // The address as production would take it (HTTPS, a name): only what it resolves to gives it away.
    move_endpoint(&app, format!("https://{host}:{port}/hook")).await;
    let owner = app.register("owner@rebind.example", "Owner").await;
    let organisation = app.organisation(&owner, "Speed Watch").await;
    app.open_need(&owner, &organisation, "Speed gun operator", json!({})).await;
    let mut settings = Settings::for_database("sqlite::memory:");
    settings.environment = api::config::Environment::Production;
    Dispatcher::new(app.db.clone(), &settings).expect("a dispatcher").deliver_due().await.expect("deliveries");
    assert!(receiver.got().is_empty());
    let listed = deliveries(&app, &admin, &endpoint_id).await;
    let error = listed[0]["lastError"].as_str().unwrap_or_default();
    assert!(error.contains("could not connect") && error.contains("loopback"), "{listed:?}");
}

#[tokio::test]
async fn a_revoked_keys_endpoints_send_nothing_more() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let receiver = Receiver::start(&[]).await;
    let (key_id, endpoint_id, _) = endpoint(&app, &admin, public_key(), &receiver.url, &["NEED_PUBLISHED"]).await;
    let owner = app.register("owner@revoked.example", "Owner").await;
    let organisation = app.organisation(&owner, "Village Hall").await;
    app.open_need(&owner, &organisation, "Hall caretaker", json!({})).await;
    let revoke = "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { revokedAt } }";
    data(&app.gql_as(Some(&admin.token), revoke, json!({ "id": key_id })).await);
    // What was waiting stays unsent, and nothing new is written for it.
    dispatcher(&app).deliver_due().await.expect("deliveries");
    assert!(receiver.got().is_empty());
    app.open_need(&owner, &organisation, "Hall gardener", json!({})).await;
    let listed = deliveries(&app, &admin, &endpoint_id).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["status"], "PENDING");
    let disable =
        "mutation($id: ID!, $on: Boolean!) { updateWebhookEndpoint(input: {id: $id, enabled: $on}) { enabled } }";
    data(&app.gql_as(Some(&admin.token), disable, json!({ "id": endpoint_id, "on": false })).await);
    let resp = app.gql_as(Some(&admin.token), disable, json!({ "id": endpoint_id, "on": true })).await;
    assert_eq!(error_code(&resp), "CONFLICT", "a revoked key's endpoint cannot be turned back on");
}
