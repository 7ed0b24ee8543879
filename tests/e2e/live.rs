//! Subscriptions over `/graphql/ws` (graphql-transport-ws), as an app's client speaks it: who hears what, after
//! commit and once; the connection's rules and close codes; sessions that end; a server that stops.
use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{Session, TestApp, data};

/// Long enough for an event to arrive on a loaded machine; a test waits this long only to see that nothing came.
const QUIET: Duration = Duration::from_millis(700);
const PATIENCE: Duration = Duration::from_secs(10);

async fn served(app: &TestApp) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("an address");
    app.serve(listener);
    addr
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the server did with a connection attempt.
enum Opened {
    Socket(Box<Socket>),
    /// Refused before the upgrade: the HTTP status and body.
    Refused(u16, String),
}

async fn open(addr: SocketAddr, protocol: Option<&str>) -> Opened {
    let mut request = format!("ws://{addr}/graphql/ws").into_client_request().expect("a request");
    if let Some(protocol) = protocol {
        request.headers_mut().insert("sec-websocket-protocol", protocol.parse().expect("a header"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, response)) => {
            let socket = Box::new(socket);
            assert_eq!(
                response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()),
                Some("graphql-transport-ws")
            );
            Opened::Socket(socket)
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response.body().as_ref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
            Opened::Refused(response.status().as_u16(), body)
        }
        Err(err) => panic!("the WebSocket did not open: {err}"),
    }
}

struct Client {
    socket: Box<Socket>,
}

impl Client {
    /// Connects and sends `connection_init` with `payload`, expecting `connection_ack`.
    async fn connect(addr: SocketAddr, payload: Value) -> Self {
        let mut client = Self::raw(addr).await;
        client.send(json!({ "type": "connection_init", "payload": payload })).await;
        let ack = client.next_message(PATIENCE).await.expect("an answer to connection_init");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        client
    }

    async fn signed_in(addr: SocketAddr, session: &Session) -> Self {
        Self::connect(addr, json!({ "authorization": format!("Bearer {}", session.token) })).await
    }

    async fn raw(addr: SocketAddr) -> Self {
        match open(addr, Some("graphql-transport-ws")).await {
            Opened::Socket(socket) => Self { socket },
            Opened::Refused(status, body) => panic!("refused with {status}: {body}"),
        }
    }

    async fn send(&mut self, message: Value) {
        self.socket.send(Message::text(message.to_string())).await.expect("sent");
    }

    /// Subscribes as `id`, and waits until the server has started the subscription (the app's hub counts one more):
    /// what is published after this returns is heard.
    async fn subscribe(&mut self, app: &TestApp, id: &str, query: &str, variables: Value) {
        let before = app.live.subscriptions();
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
        let started = tokio::time::Instant::now();
        while app.live.subscriptions() <= before {
            assert!(started.elapsed() < PATIENCE, "the subscription {id} never started");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The next protocol message within `within`, answering the server's pings as a client library does.
    async fn next_message(&mut self, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next()).await.ok()??.ok()?;
            match message {
                Message::Text(text) => return Some(serde_json::from_str(text.as_str()).expect("JSON")),
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The next event's data (a `next` message for subscription `id`), within `within`.
    async fn event(&mut self, id: &str, within: Duration) -> Option<Value> {
        let message = self.next_message(within).await?;
        assert_eq!(message["id"], id, "{message}");
        assert_eq!(message["type"], "next", "{message}");
        Some(message["payload"].clone())
    }

    async fn expect_event(&mut self, id: &str) -> Value {
        let payload = self.event(id, PATIENCE).await.unwrap_or_else(|| panic!("no event for {id}"));
        data(&payload).clone()
    }

    async fn expect_quiet(&mut self) {
        if let Some(message) = self.next_message(QUIET).await {
            panic!("expected nothing, got {message}");
        }
    }

    /// The close code and reason the server ends the connection with.
    async fn closed(&mut self) -> (u16, String) {
        loop {
            match tokio::time::timeout(PATIENCE, self.socket.next()).await.expect("the server closes the connection") {
                Some(Ok(Message::Close(Some(frame)))) => return (u16::from(frame.code), frame.reason.to_string()),
                Some(Ok(Message::Close(None))) | None => return (1005, String::new()),
                Some(Ok(_)) => continue,
                Some(Err(err)) => panic!("the connection failed rather than closed: {err}"),
            }
        }
    }
}

/// The code a subscription was refused with: an `error` message (refused before it ran), or a `next` message with
/// errors (refused by its resolver, as async-graphql sends it).
fn refusal_code(message: &Value) -> Value {
    match message["type"].as_str() {
        Some("error") => message["payload"][0]["extensions"]["code"].clone(),
        Some("next") => {
            assert!(message["payload"]["data"].is_null(), "{message}");
            message["payload"]["errors"][0]["extensions"]["code"].clone()
        }
        _ => panic!("not a refusal: {message}"),
    }
}

const NEED_PUBLISHED: &str =
    "subscription($filter: NeedFilter) { needPublished(filter: $filter) { id title status placesLeft } }";

async fn publish(app: &TestApp, member: &Session, need_id: &str) {
    let resp = app
        .gql_as(
            Some(&member.token),
            "mutation($id: ID!) { publishNeed(input: {needId: $id}) { need { status } } }",
            json!({ "id": need_id }),
        )
        .await;
    assert_eq!(data(&resp)["publishNeed"]["need"]["status"], "OPEN");
}

#[tokio::test]
async fn a_published_need_reaches_exactly_the_subscribers_whose_filter_it_passes() {
    let app = TestApp::spawn().await;
    let addr = served(&app).await;
    let owner = app.register("owner@club.example", "Owner").await;
    let org = app.organisation(&owner, "Putney English Club").await;

    // Anyone may subscribe: one near Putney for English classes, one near Manchester, one for remote needs only.
    let mut putney = Client::connect(addr, json!({})).await;
    putney
        .subscribe(
            &app,
            "1",
            NEED_PUBLISHED,
            json!({ "filter": { "categories": ["ENGLISH_CLASSES"], "text": "conversation",
                "near": { "lat": 51.4613, "lng": -0.2391, "radiusKm": 3 } } }),
        )
        .await;
    let mut manchester = Client::connect(addr, json!({})).await;
    manchester
        .subscribe(
            &app,
            "1",
            NEED_PUBLISHED,
            json!({ "filter": { "near": { "lat": 53.4440, "lng": -2.2200, "radiusKm": 10 } } }),
        )
        .await;
    let mut remote = Client::connect(addr, json!({})).await;
    remote.subscribe(&app, "r", NEED_PUBLISHED, json!({ "filter": { "remote": true } })).await;

    // A draft is nobody's business, and an invalid publication commits nothing: neither is heard.
    let need = app.draft_need(&owner, &org, "Conversation club helper", json!({})).await;
    let stranger = app.register("stranger@x.example", "Stranger").await;
    let refused = app
        .gql_as(
            Some(&stranger.token),
            "mutation($id: ID!) { publishNeed(input: {needId: $id}) { need { id } } }",
            json!({ "id": need }),
        )
        .await;
    assert!(refused["errors"].is_array(), "{refused}");
    putney.expect_quiet().await;

    publish(&app, &owner, &need).await;
    let heard = putney.expect_event("1").await;
    assert_eq!(heard["needPublished"]["id"], need);
    assert_eq!(heard["needPublished"]["title"], "Conversation club helper");
    assert_eq!(heard["needPublished"]["status"], "OPEN");
    assert_eq!(heard["needPublished"]["placesLeft"], 2);
    // Once: nothing more for the same publication.
    putney.expect_quiet().await;
    manchester.expect_quiet().await;
    remote.expect_quiet().await;

    // The same filter as the listing: a need the words do not match is not heard near Putney.
    let other = app.open_need(&owner, &org, "Jobs club mentor", json!({ "category": "ENGLISH_CLASSES" })).await;
    let listed = app
        .gql(
            "query($f: NeedFilter) { needs(filter: $f) { edges { node { id } } } }",
            json!({ "f": { "categories": ["ENGLISH_CLASSES"], "text": "conversation",
                "near": { "lat": 51.4613, "lng": -0.2391, "radiusKm": 3 } } }),
        )
        .await;
    let ids: Vec<&str> = data(&listed)["needs"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["id"].as_str())
        .collect();
    assert_eq!(ids, vec![need.as_str()], "the listing shows the first need and not {other}");
    putney.expect_quiet().await;

    // A remote need reaches the remote subscriber only.
    let online = app
        .open_need(
            &owner,
            &org,
            "Online conversation practice",
            json!({ "remote": true, "location": null, "postcode": null }),
        )
        .await;
    assert_eq!(remote.expect_event("r").await["needPublished"]["id"], online);
    putney.expect_quiet().await;
    manchester.expect_quiet().await;
}

const NEED_UPDATED: &str = "subscription($id: ID!) { needUpdated(needId: $id) { id status placesLeft } }";

#[tokio::test]
async fn a_need_is_followed_through_its_places_and_closing_by_whoever_may_see_it() {
    let app = TestApp::spawn().await;
    let addr = served(&app).await;
    let owner = app.register("owner@club.example", "Owner").await;
    let org = app.organisation(&owner, "Putney English Club").await;
    let need = app.open_need(&owner, &org, "ESOL helper", json!({ "volunteersNeeded": 1 })).await;
    let draft = app.draft_need(&owner, &org, "Not yet", json!({})).await;

    let mut watcher = Client::connect(addr, json!({})).await;
    // A draft is not there for a stranger, as `need(id)` finds nothing.
    watcher
        .send(json!({ "id": "d", "type": "subscribe", "payload": { "query": NEED_UPDATED, "variables": { "id": draft } } }))
        .await;
    let refused = watcher.next_message(PATIENCE).await.expect("an answer");
    assert_eq!(refused["id"], "d");
    assert_eq!(refusal_code(&refused), "NOT_FOUND", "{refused}");
    let done = watcher.next_message(PATIENCE).await.expect("complete");
    assert_eq!(done["type"], "complete");

    watcher.subscribe(&app, "n", NEED_UPDATED, json!({ "id": need })).await;
    let (volunteer, _) = app.volunteer("amira@v.example", "Amira", json!({})).await;
    let application = app.apply(&volunteer, &need).await;
    // An application alone changes nothing public.
    watcher.expect_quiet().await;
    let accepted = app
        .gql_as(
            Some(&owner.token),
            "mutation($id: ID!) { acceptApplication(input: {applicationId: $id}) { application { status } } }",
            json!({ "id": application }),
        )
        .await;
    assert_eq!(data(&accepted)["acceptApplication"]["application"]["status"], "ACCEPTED");
    let filled = watcher.expect_event("n").await;
    assert_eq!(filled["needUpdated"], json!({ "id": need, "status": "FILLED", "placesLeft": 0 }));

    let closed = app
        .gql_as(
            Some(&owner.token),
            "mutation($id: ID!) { closeNeed(input: {needId: $id}) { need { status } } }",
            json!({ "id": need }),
        )
        .await;
    assert_eq!(data(&closed)["closeNeed"]["need"]["status"], "CLOSED");
    assert_eq!(watcher.expect_event("n").await["needUpdated"]["status"], "CLOSED");
    watcher.expect_quiet().await;
}

const APPLICATION_UPDATED: &str =
    "subscription { applicationUpdated { id status need { title } volunteer { displayName email } } }";

#[tokio::test]
async fn applications_are_told_to_their_volunteer_and_the_organisation_and_no_one_else() {
    let app = TestApp::spawn().await;
    let addr = served(&app).await;
    let owner = app.register("owner@club.example", "Owner").await;
    let org = app.organisation(&owner, "Putney English Club").await;
    let need = app.open_need(&owner, &org, "ESOL helper", json!({})).await;
    let (amira, _) = app.volunteer("amira@v.example", "Amira", json!({})).await;
    let (dan, _) = app.volunteer("dan@v.example", "Dan", json!({})).await;
    let other_owner = app.register("other@elsewhere.example", "Other").await;
    app.organisation(&other_owner, "Another Charity").await;

    let mut as_amira = Client::signed_in(addr, &amira).await;
    as_amira.subscribe(&app, "a", APPLICATION_UPDATED, json!({})).await;
    let mut as_owner = Client::signed_in(addr, &owner).await;
    as_owner.subscribe(&app, "o", APPLICATION_UPDATED, json!({})).await;
    let mut as_dan = Client::signed_in(addr, &dan).await;
    as_dan.subscribe(&app, "d", APPLICATION_UPDATED, json!({})).await;
    let mut as_other = Client::signed_in(addr, &other_owner).await;
    as_other.subscribe(&app, "x", APPLICATION_UPDATED, json!({})).await;

    // Signed in only: an anonymous connection is refused the subscription, and keeps its connection.
    let mut anonymous = Client::connect(addr, json!({})).await;
    anonymous.send(json!({ "id": "z", "type": "subscribe", "payload": { "query": APPLICATION_UPDATED } })).await;
    let refused = anonymous.next_message(PATIENCE).await.expect("an answer");
    assert_eq!(refusal_code(&refused), "UNAUTHENTICATED", "{refused}");

    let application = app.apply(&amira, &need).await;
    let mine = as_amira.expect_event("a").await;
    assert_eq!(mine["applicationUpdated"]["id"], application);
    assert_eq!(mine["applicationUpdated"]["status"], "APPLIED");
    let theirs = as_owner.expect_event("o").await;
    assert_eq!(theirs["applicationUpdated"]["status"], "APPLIED");
    assert_eq!(theirs["applicationUpdated"]["need"]["title"], "ESOL helper");
    assert_eq!(theirs["applicationUpdated"]["volunteer"]["displayName"], "Amira");
    assert_eq!(theirs["applicationUpdated"]["volunteer"]["email"], "amira@v.example");
    as_dan.expect_quiet().await;
    as_other.expect_quiet().await;

    // A decision is told to both, once.
    let accepted = app
        .gql_as(
            Some(&owner.token),
            "mutation($id: ID!) { acceptApplication(input: {applicationId: $id}) { application { status } } }",
            json!({ "id": application }),
        )
        .await;
    data(&accepted);
    assert_eq!(as_amira.expect_event("a").await["applicationUpdated"]["status"], "ACCEPTED");
    assert_eq!(as_owner.expect_event("o").await["applicationUpdated"]["status"], "ACCEPTED");
    as_amira.expect_quiet().await;
    as_owner.expect_quiet().await;
    as_dan.expect_quiet().await;

    // What a member saw of the volunteer went to the audit log before it was sent, as for a query.
    let admin = app.admin().await;
    let log = app
        .gql_as(
            Some(&admin.token),
            "query($id: ID!) { auditEvents(first: 20, filter: {subjectId: $id}) { edges { node { action fields actor { id } } } } }",
            json!({ "id": amira.user_id }),
        )
        .await;
    let viewed: Vec<&Value> = data(&log)["auditEvents"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| &e["node"])
        .filter(|n| n["action"] == "VIEWED")
        .collect();
    assert_eq!(viewed.len(), 2, "one entry for each event the owner saw: {log}");
    for entry in viewed {
        assert_eq!(entry["actor"]["id"], owner.user_id.as_str());
        assert_eq!(entry["fields"], json!(["volunteerProfile.email"]));
    }
}

const NEW_MATCHES: &str =
    "subscription($min: Float!) { newMatches(minScore: $min) { score need { id title } reasons { factor } } }";

#[tokio::test]
async fn a_new_need_is_told_to_the_volunteers_it_matches_with_their_scores() {
    let app = TestApp::spawn().await;
    let addr = served(&app).await;
    let owner = app.register("owner@club.example", "Owner").await;
    let org = app.organisation(&owner, "Putney English Club").await;
    let (amira, _) = app.volunteer("amira@v.example", "Amira", json!({ "skills": ["ESOL", "IT support"] })).await;
    let (carl, _) = app
        .volunteer(
            "carl@v.example",
            "Carl",
            json!({ "postcode": "M14 5AA", "location": { "lat": 53.4440, "lng": -2.2200 } }),
        )
        .await;

    let mut as_amira = Client::signed_in(addr, &amira).await;
    as_amira.subscribe(&app, "m", NEW_MATCHES, json!({ "min": 0.1 })).await;
    let mut picky = Client::signed_in(addr, &amira).await;
    picky.subscribe(&app, "p", NEW_MATCHES, json!({ "min": 1.0 })).await;
    let mut as_carl = Client::signed_in(addr, &carl).await;
    as_carl.subscribe(&app, "c", NEW_MATCHES, json!({ "min": 0.0 })).await;

    // Only a volunteer may ask, and only for a score between 0 and 1.
    let mut as_owner = Client::signed_in(addr, &owner).await;
    as_owner
        .send(
            json!({ "id": "o", "type": "subscribe", "payload": { "query": NEW_MATCHES, "variables": { "min": 0.5 } } }),
        )
        .await;
    let refused = as_owner.next_message(PATIENCE).await.expect("an answer");
    assert_eq!(refusal_code(&refused), "FORBIDDEN", "{refused}");
    as_amira
        .send(
            json!({ "id": "bad", "type": "subscribe", "payload": { "query": NEW_MATCHES, "variables": { "min": 2 } } }),
        )
        .await;
    let refused = as_amira.next_message(PATIENCE).await.expect("an answer");
    assert_eq!(refusal_code(&refused), "BAD_USER_INPUT", "{refused}");
    assert_eq!(as_amira.next_message(PATIENCE).await.expect("complete")["type"], "complete");

    let need = app
        .open_need(
            &owner,
            &org,
            "ESOL helper",
            json!({ "safeguarding": "BASIC", "requiredSkills": ["teaching english", "it support"] }),
        )
        .await;
    let heard = as_amira.expect_event("m").await;
    assert_eq!(heard["newMatches"]["need"]["id"], need);
    assert!(!heard["newMatches"]["reasons"].as_array().expect("reasons").is_empty());
    // The score is the one recommendedNeeds gives.
    let recommended = app
        .gql_as(
            Some(&amira.token),
            "query { recommendedNeeds(first: 5) { edges { node { score need { id } } } } }",
            json!({}),
        )
        .await;
    let edge = &data(&recommended)["recommendedNeeds"]["edges"][0]["node"];
    assert_eq!(edge["need"]["id"], need);
    assert_eq!(edge["score"], heard["newMatches"]["score"]);
    assert!(edge["score"].as_f64().expect("a score") < 1.0);
    picky.expect_quiet().await;
    as_carl.expect_quiet().await;
    as_amira.expect_quiet().await;
}

#[tokio::test]
async fn connections_follow_the_protocol_and_its_limits() {
    let app = TestApp::spawn_with(|s| {
        s.ws_init_timeout_ms = 1_000;
        s.ws_subscriptions_per_connection = 2;
        s.ws_connections_per_user = 2;
        s.ws_connections_per_ip = 6;
        s.ws_max_message_bytes = 2048;
    })
    .await;
    let addr = served(&app).await;
    let volunteer = app.register("amira@v.example", "Amira").await;

    // Without the subprotocol, or without an upgrade: refused before it, as JSON with a code.
    match open(addr, None).await {
        Opened::Refused(status, body) => {
            assert_eq!(status, 400);
            assert!(body.contains("BAD_REQUEST"), "{body}");
        }
        Opened::Socket(_) => panic!("opened without the subprotocol"),
    }
    let (status, body) =
        app.raw(axum::http::Request::get("/graphql/ws").body(axum::body::Body::empty()).expect("a request")).await;
    assert_eq!(status, 400, "{body}");

    // No connection_init in time: 4408. A subscribe first: 4401. Bad credentials: 4403. A second init: 4429.
    assert_eq!(Client::raw(addr).await.closed().await.0, 4408);
    let mut early = Client::raw(addr).await;
    early.send(json!({ "id": "1", "type": "subscribe", "payload": { "query": NEED_PUBLISHED } })).await;
    assert_eq!(early.closed().await.0, 4401);
    let mut forged = Client::raw(addr).await;
    forged.send(json!({ "type": "connection_init", "payload": { "authorization": "Bearer not-a-token" } })).await;
    assert_eq!(forged.closed().await.0, 4403);
    let mut twice = Client::connect(addr, json!({})).await;
    twice.send(json!({ "type": "connection_init" })).await;
    assert_eq!(twice.closed().await.0, 4429);
    let mut garbled = Client::connect(addr, json!({})).await;
    garbled.socket.send(Message::text("{not json")).await.expect("sent");
    assert_eq!(garbled.closed().await.0, 4400);

    // Two subscriptions a connection: a third is refused on its own, and the first two still hear.
    let mut client = Client::signed_in(addr, &volunteer).await;
    client.subscribe(&app, "1", NEED_PUBLISHED, json!({})).await;
    client.subscribe(&app, "2", NEED_PUBLISHED, json!({ "filter": { "remote": false } })).await;
    client.send(json!({ "id": "3", "type": "subscribe", "payload": { "query": NEED_PUBLISHED } })).await;
    let refused = client.next_message(PATIENCE).await.expect("an answer");
    assert_eq!(
        refused,
        json!({ "id": "3", "type": "error", "payload": [{
        "message": "at most 2 subscriptions on one connection: complete one first",
        "extensions": { "code": "RATE_LIMITED" } }] })
    );
    // Queries and mutations are for POST /graphql; completing one frees its place.
    client.send(json!({ "type": "complete", "id": "2" })).await;
    client
        .send(json!({ "id": "q", "type": "subscribe", "payload": { "query": "{ needs(first: 1) { totalCount } }" } }))
        .await;
    let refused = loop {
        let message = client.next_message(PATIENCE).await.expect("an answer");
        if message["id"] == "q" {
            break message;
        }
    };
    assert_eq!(refusal_code(&refused), "BAD_USER_INPUT", "{refused}");
    let owner = app.register("owner@club.example", "Owner").await;
    let org = app.organisation(&owner, "Putney English Club").await;
    let need = app.open_need(&owner, &org, "ESOL helper", json!({})).await;
    loop {
        let message = client.next_message(PATIENCE).await.expect("the event");
        if message["type"] == "next" {
            assert_eq!(message["id"], "1");
            assert_eq!(message["payload"]["data"]["needPublished"]["id"], need);
            break;
        }
    }
    // The same id twice: 4409.
    client.send(json!({ "id": "1", "type": "subscribe", "payload": { "query": NEED_PUBLISHED } })).await;
    assert_eq!(client.closed().await.0, 4409);

    // Two connections a user: a third is closed with 4429.
    let _first = Client::signed_in(addr, &volunteer).await;
    let _second = Client::signed_in(addr, &volunteer).await;
    let mut third = Client::raw(addr).await;
    third
        .send(
            json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", volunteer.token) } }),
        )
        .await;
    assert_eq!(third.closed().await.0, 4429);

    // A message over the size limit ends the connection.
    let mut big = Client::connect(addr, json!({})).await;
    big.send(json!({ "id": "b", "type": "subscribe", "payload": { "query": "x".repeat(4096) } })).await;
    let (code, _) = big.closed().await;
    assert!(code == 1009 || code == 1005 || code == 1006, "closed with {code}");

    // Six connections an address, the two above still open among them: the seventh is refused with 429.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(Client::connect(addr, json!({})).await);
    }
    let mut refused = None;
    for _ in 0..4 {
        if let Opened::Refused(status, body) = open(addr, Some("graphql-transport-ws")).await {
            refused = Some((status, body));
            break;
        }
    }
    let (status, body) = refused.expect("a connection over the address's limit is refused");
    assert_eq!(status, 429);
    assert!(body.contains("RATE_LIMITED"), "{body}");
}

#[tokio::test]
async fn a_session_that_ends_closes_its_connections_and_only_those_signed_in_before() {
    let app = TestApp::spawn().await;
    let addr = served(&app).await;
    let amira = app.register("amira@v.example", "Amira").await;
    let dan = app.register("dan@v.example", "Dan").await;

    let mut signed_out = Client::signed_in(addr, &amira).await;
    signed_out.subscribe(&app, "a", APPLICATION_UPDATED, json!({})).await;
    let mut bystander = Client::signed_in(addr, &dan).await;
    bystander.subscribe(&app, "d", APPLICATION_UPDATED, json!({})).await;
    let resp = app.gql_as(Some(&amira.token), "mutation { logoutEverywhere { sessionsEnded } }", json!({})).await;
    data(&resp);
    let (code, reason) = signed_out.closed().await;
    assert_eq!(code, 4403);
    assert!(reason.contains("session has ended"), "{reason}");
    // The token it had no longer opens one; someone else's connection stays.
    let mut again = Client::raw(addr).await;
    again
        .send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", amira.token) } }))
        .await;
    assert_eq!(again.closed().await.0, 4403);
    bystander.expect_quiet().await;

    // A new password ends every session but the one it hands back: a connection made with that token at once,
    // before the sign-out is heard, stays open.
    let changed = app
        .gql_as(
            Some(&dan.token),
            "mutation($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken } }",
            json!({ "input": { "currentPassword": "a long enough passphrase", "newPassword": "another long passphrase" } }),
        )
        .await;
    let token = data(&changed)["changePassword"]["accessToken"].as_str().expect("a token").to_owned();
    let mut renewed = Client::connect(addr, json!({ "authorization": format!("Bearer {token}") })).await;
    let (code, reason) = bystander.closed().await;
    assert_eq!(code, 4403);
    assert!(reason.contains("session has ended"), "{reason}");
    // Subscribed once the closed connections' subscriptions are gone (`subscribe` waits for the hub's count to
    // rise, which a subscription ending at the same moment would hide).
    let started = tokio::time::Instant::now();
    while app.live.subscriptions() > 0 {
        assert!(started.elapsed() < PATIENCE, "the closed connections' subscriptions never ended");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    renewed.subscribe(&app, "n", NEED_PUBLISHED, json!({})).await;
    renewed.expect_quiet().await;
    let owner = app.register("owner@club.example", "Owner").await;
    let org = app.organisation(&owner, "Putney English Club").await;
    let need = app.open_need(&owner, &org, "ESOL helper", json!({})).await;
    assert_eq!(renewed.expect_event("n").await["needPublished"]["id"], need);
}

#[tokio::test]
async fn a_connection_closes_when_its_token_expires() {
    let app = TestApp::spawn_with(|s| s.token_ttl_secs = 4).await;
    let addr = served(&app).await;
    let amira = app.register("amira@v.example", "Amira").await;
    // A token issued now, for a connection made now.
    let fresh = app.login("amira@v.example").await;
    let mut client = Client::signed_in(addr, &fresh).await;
    client.subscribe(&app, "a", APPLICATION_UPDATED, json!({})).await;
    let (code, reason) = client.closed().await;
    assert_eq!(code, 4403);
    assert!(reason.contains("expired"), "{reason}");
    // An expired token does not open one.
    let mut late = Client::raw(addr).await;
    late.send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", amira.token) } }))
        .await;
    assert_eq!(late.closed().await.0, 4403);
}

#[tokio::test]
async fn partners_subscribe_with_an_api_key_within_its_scopes() {
    let app = TestApp::spawn().await;
    let addr = served(&app).await;
    let key = app.listings_key().await;
    let mut partner = Client::connect(addr, json!({ "x-api-key": key })).await;
    partner.subscribe(&app, "p", NEED_PUBLISHED, json!({})).await;
    // A key acts as nobody: no one's applications.
    partner.send(json!({ "id": "a", "type": "subscribe", "payload": { "query": APPLICATION_UPDATED } })).await;
    let refused = partner.next_message(PATIENCE).await.expect("an answer");
    assert_eq!(refusal_code(&refused), "FORBIDDEN", "{refused}");
    assert_eq!(partner.next_message(PATIENCE).await.expect("complete")["type"], "complete");
    let owner = app.register("owner@club.example", "Owner").await;
    let org = app.organisation(&owner, "Putney English Club").await;
    let need = app.open_need(&owner, &org, "ESOL helper", json!({})).await;
    assert_eq!(partner.expect_event("p").await["needPublished"]["id"], need);
    // A key that is not one is refused at connection_init.
    let mut forged = Client::raw(addr).await;
    forged.send(json!({ "type": "connection_init", "payload": { "x-api-key": "pk_not_a_key" } })).await;
    assert_eq!(forged.closed().await.0, 4403);
}

#[tokio::test]
async fn an_erased_account_is_disconnected() {
    let app = TestApp::spawn().await;
    let addr = served(&app).await;
    let amira = app.register("amira@v.example", "Amira").await;
    let mut client = Client::signed_in(addr, &amira).await;
    client.subscribe(&app, "a", APPLICATION_UPDATED, json!({})).await;
    let resp = app
        .gql_as(
            Some(&amira.token),
            "mutation { deleteMyAccount(input: {password: \"a long enough passphrase\"}) { erasedAt } }",
            json!({}),
        )
        .await;
    data(&resp);
    assert_eq!(client.closed().await.0, 4403);
}

#[tokio::test]
async fn a_stopping_server_closes_its_connections_cleanly() {
    let app = TestApp::spawn().await;
    let addr = served(&app).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut client = Client::connect(addr, json!({})).await;
        client.subscribe(&app, "1", NEED_PUBLISHED, json!({})).await;
        clients.push(client);
    }
    let mut waiting = Client::raw(addr).await;
    assert_eq!(app.sockets.open(), 4);
    app.sockets.close_all(Duration::from_secs(5)).await;
    for client in &mut clients {
        assert_eq!(client.closed().await, (1001, "the server is stopping".to_owned()));
    }
    assert_eq!(waiting.closed().await.0, 1001);
    assert_eq!(app.sockets.open(), 0);
}
