//! Three servers on one PostgreSQL (and one Redis, with `PITCHIN_REDIS_URL`), as a deployment of more than one
//! runs them (issue 21 §7):
//! - `subscribers` live connections (graphql-transport-ws) spread over the three, each subscribed to `needPublished`;
//! - a mixed load at `connections` keep-alive connections, spread alike: the public listing, volunteers'
//!   recommendations and coordinators' new drafts;
//! - meanwhile, `publications` needs published through the servers in turn, one every quarter second: each
//!   subscriber's delivery of each is timed from the moment its `publishNeed` was sent (publication to delivery);
//! - then one user's requests sent as fast as the three answer them, against a limit of `per_user_limit` a minute:
//!   with Redis the three together allow the limit and what it refills meanwhile, no more.
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api::Settings;
use api::auth::AuthUser;
use domain::users::PlatformRole;
use futures::{SinkExt, StreamExt};
use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use uuid::Uuid;

use crate::capacity::{CREATE_NEED, draft, owners, volunteer_users};
use crate::matching::{Client, Server, Timing, sustain};

pub struct ServersOptions {
    pub seconds: u64,
    pub connections: usize,
    pub subscribers: usize,
    pub publications: usize,
    pub per_user_limit: u32,
}

pub struct ServersReport {
    pub servers: usize,
    pub seconds: u64,
    pub load: Timing,
    pub load_rate: f64,
    pub subscribers: usize,
    pub publications: usize,
    pub delivered: usize,
    pub delivery: Timing,
    pub publish_errors: usize,
    pub subscriber_errors: usize,
    pub limits: Option<LimitCheck>,
    pub memory: Vec<Option<(f64, f64)>>,
}

/// One user's requests across the three servers against a shared limit.
pub struct LimitCheck {
    pub limit: u32,
    pub sent: usize,
    pub allowed: usize,
    pub refused: usize,
    pub other: usize,
    pub seconds: f64,
}

impl LimitCheck {
    /// The most a shared limit may allow: the burst, and what it refills while the requests run.
    pub fn most(&self) -> f64 {
        f64::from(self.limit) * (1.0 + self.seconds / 60.0)
    }

    pub fn coherent(&self) -> bool {
        self.other == 0 && self.allowed >= self.limit as usize && (self.allowed as f64) <= self.most() + 1.0
    }
}

const SERVERS: usize = 3;
const PUBLISH: &str = "mutation($id: ID!) { publishNeed(input: {needId: $id}) { need { id } } }";
const SUBSCRIBE: &str = "subscription { needPublished { id } }";

pub async fn run(settings: &Settings, pitchin: &Path, options: ServersOptions) -> Result<ServersReport, String> {
    if !settings.database_url.starts_with("postgres") {
        return Err("`servers` runs several servers on one database: set DATABASE_URL to a postgres:// URL".into());
    }
    let db = crate::matching::prepared_database(settings).await?;
    let secret = format!("{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>());
    let keys =
        api::auth::token::TokenKeys::from_settings(&Settings { jwt_secret: Some(secret.clone()), ..settings.clone() })?;
    let token = |id: Uuid| {
        keys.issue(&AuthUser { id, role: PlatformRole::Member }).map(|t| t.token).map_err(|e| format!("{e:?}"))
    };
    let prefix = format!("pitchin-bench-{}", Uuid::new_v4().simple());
    let per_ip = (options.subscribers / SERVERS + 10).to_string();
    let mut extra = vec![
        ("PITCHIN_RATE_LIMIT_PER_USER", options.per_user_limit.to_string()),
        ("PITCHIN_WS_CONNECTIONS_PER_IP", per_ip),
        ("PITCHIN_REDIS_PREFIX", prefix),
    ];
    if let Some(redis) = &settings.redis_url {
        extra.push(("PITCHIN_REDIS_URL", redis.clone()));
    }
    let mut servers = Vec::new();
    let mut clients = Vec::new();
    let http = reqwest::Client::builder().pool_max_idle_per_host(4).build().map_err(|e| e.to_string())?;
    for _ in 0..SERVERS {
        let addr =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?;
        let server = Server::start(pitchin, settings, &secret, addr, &extra)?;
        servers.push((server, addr));
    }
    for (server, addr) in &servers {
        server.wait_until_ready(&http, *addr).await?;
        clients.push(Client { http: http.clone(), url: format!("http://{addr}/graphql") });
    }
    eprintln!("{SERVERS} servers ready");

    // The load's requests: the listing, recommendations as sampled volunteers, drafts as sampled owners.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let volunteers = volunteer_users(&db).await?;
    let owners = owners(&db, 600).await?;
    let (publisher, load_owners) = owners.split_first().ok_or("no organisations: is the synthetic data loaded?")?;
    let mut mix = Vec::new();
    for (i, user) in volunteers.choose_multiple(&mut rng, 600).enumerate() {
        mix.push((String::new(), crate::reads::Q1.to_owned(), json!({})));
        mix.push((token(*user)?, crate::matching::RECOMMENDED.to_owned(), json!({})));
        if let Some((owner, organisation)) = load_owners.get(i) {
            mix.push((token(*owner)?, CREATE_NEED.to_owned(), draft(*organisation, "Load draft")));
        }
    }
    let mix = Arc::new(mix);

    // The subscribers, spread over the servers; each delivery is sent to `deliveries` with when it arrived.
    let (deliveries, mut delivered_rx) = mpsc::unbounded_channel::<(String, Instant)>();
    let (failures, mut failures_rx) = mpsc::unbounded_channel::<String>();
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut subscribers = Vec::new();
    for i in 0..options.subscribers {
        let addr = servers[i % SERVERS].1;
        let (deliveries, failures, stop) = (deliveries.clone(), failures.clone(), stop.clone());
        subscribers.push(tokio::spawn(async move {
            if let Err(err) = subscriber(addr, deliveries, stop).await {
                let _ = failures.send(err);
            }
        }));
    }
    drop((deliveries, failures));
    // Every subscription running on its server before anything is published.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut open = 0;
        for (_, addr) in &servers {
            let ready: Value = match http.get(format!("http://{addr}/readyz")).send().await {
                Ok(r) => r.bytes().await.ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null),
                Err(_) => Value::Null,
            };
            open += ready["subscriptions"].as_u64().unwrap_or(0) as usize;
        }
        if open >= options.subscribers {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("only {open} of {} subscriptions started within 60 s", options.subscribers));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("{} subscriptions open; load and publications for {} s", options.subscribers, options.seconds);

    // The load, a third of the connections on each server.
    let duration = Duration::from_secs(options.seconds);
    let started = Instant::now();
    let loads: Vec<_> = clients
        .iter()
        .map(|client| {
            let (url, mix) = (client.url.clone(), mix.clone());
            let connections = (options.connections / SERVERS).max(1);
            tokio::spawn(async move { sustain(&url, mix, connections, duration).await })
        })
        .collect();

    // The publications, through each server in turn.
    let publisher_token = token(publisher.0)?;
    let mut published: HashMap<String, Instant> = HashMap::new();
    let mut publish_errors = 0;
    for n in 0..options.publications {
        let client = &clients[n % SERVERS];
        let made = client.gql(&publisher_token, CREATE_NEED, draft(publisher.1, &format!("Published {n}"))).await;
        let Some(id) = made.ok().and_then(|v| v["data"]["createNeed"]["need"]["id"].as_str().map(str::to_owned)) else {
            publish_errors += 1;
            continue;
        };
        let sent = Instant::now();
        match client.gql(&publisher_token, PUBLISH, json!({ "id": id })).await {
            Ok(_) => {
                published.insert(id, sent);
            }
            Err(err) => {
                publish_errors += 1;
                eprintln!("publishing failed: {}", err.chars().take(200).collect::<String>());
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut load = Timing { name: "mixed load".into(), samples: Vec::new(), errors: 0 };
    for handle in loads {
        let timing = handle.await.map_err(|e| e.to_string())?;
        load.samples.extend(timing.samples);
        load.errors += timing.errors;
    }
    let load_rate = load.samples.len() as f64 / started.elapsed().as_secs_f64();
    // The last deliveries, then the subscribers close.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.notify_waiters();
    for handle in subscribers {
        let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
    }
    let mut delivery = Timing { name: "publication to delivery".into(), samples: Vec::new(), errors: 0 };
    while let Some((id, at)) = delivered_rx.recv().await {
        if let Some(sent) = published.get(&id) {
            delivery.samples.push(at.saturating_duration_since(*sent));
        }
    }
    let mut subscriber_errors = 0;
    while let Some(err) = failures_rx.recv().await {
        subscriber_errors += 1;
        if subscriber_errors == 1 {
            eprintln!("a subscriber failed: {err}");
        }
    }

    let limits = match settings.redis_url {
        Some(_) => Some(
            limit_check(&clients, &token(volunteers.first().copied().ok_or("no volunteers")?)?, options.per_user_limit)
                .await,
        ),
        None => None,
    };
    let memory = servers.iter().map(|(server, _)| server.memory()).collect();
    Ok(ServersReport {
        servers: SERVERS,
        seconds: options.seconds,
        load,
        load_rate,
        subscribers: options.subscribers,
        publications: published.len(),
        delivered: delivery.samples.len(),
        delivery,
        publish_errors,
        subscriber_errors,
        limits,
        memory,
    })
}

/// One subscriber: connects to `addr`, subscribes to `needPublished`, and reports each need's id as it arrives,
/// answering the server's pings, until `stop`.
async fn subscriber(
    addr: std::net::SocketAddr,
    deliveries: mpsc::UnboundedSender<(String, Instant)>,
    stop: Arc<tokio::sync::Notify>,
) -> Result<(), String> {
    let mut request = format!("ws://{addr}/graphql/ws").into_client_request().map_err(|e| e.to_string())?;
    request.headers_mut().insert("sec-websocket-protocol", http_header("graphql-transport-ws")?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.map_err(|e| e.to_string())?;
    let send = |v: Value| Message::text(v.to_string());
    socket.send(send(json!({ "type": "connection_init", "payload": {} }))).await.map_err(|e| e.to_string())?;
    let stopped = stop.notified();
    tokio::pin!(stopped);
    let mut subscribed = false;
    loop {
        let message = tokio::select! {
            () = &mut stopped => break,
            message = socket.next() => message,
        };
        let Some(message) = message else { return Err("the server closed the connection".into()) };
        let text = match message.map_err(|e| e.to_string())? {
            Message::Text(text) => text,
            Message::Close(frame) => return Err(format!("closed: {frame:?}")),
            _ => continue,
        };
        let value: Value = serde_json::from_str(text.as_str()).map_err(|e| e.to_string())?;
        match value["type"].as_str() {
            Some("connection_ack") if !subscribed => {
                subscribed = true;
                let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIBE } });
                socket.send(send(subscribe)).await.map_err(|e| e.to_string())?;
            }
            Some("ping") => socket.send(send(json!({ "type": "pong" }))).await.map_err(|e| e.to_string())?,
            Some("next") => {
                let arrived = Instant::now();
                if let Some(id) = value["payload"]["data"]["needPublished"]["id"].as_str() {
                    let _ = deliveries.send((id.to_owned(), arrived));
                } else {
                    return Err(format!("an event without a need: {value}"));
                }
            }
            Some("error") => return Err(format!("the subscription failed: {value}")),
            _ => {}
        }
    }
    let _ = socket.close(None).await;
    Ok(())
}

fn http_header(value: &str) -> Result<tokio_tungstenite::tungstenite::http::HeaderValue, String> {
    value.parse().map_err(|e| format!("{e:?}"))
}

/// `limit` and a hundred more requests of one user, a connection on each server at once: how many each answer got.
async fn limit_check(clients: &[Client], token: &str, limit: u32) -> LimitCheck {
    let total = limit as usize + 100;
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(i, client)| {
            let (http, url, token) = (client.http.clone(), client.url.clone(), token.to_owned());
            let share = total / clients.len() + usize::from(i < total % clients.len());
            tokio::spawn(async move {
                let (mut allowed, mut refused, mut other) = (0, 0, 0);
                for _ in 0..share {
                    let answer = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("authorization", format!("Bearer {token}"))
                        .body(r#"{"query":"{ me { id } }"}"#)
                        .send()
                        .await;
                    match answer.map(|r| r.status().as_u16()) {
                        Ok(200) => allowed += 1,
                        Ok(429) => refused += 1,
                        _ => other += 1,
                    }
                }
                (allowed, refused, other)
            })
        })
        .collect();
    let mut check = LimitCheck { limit, sent: total, allowed: 0, refused: 0, other: 0, seconds: 0.0 };
    for task in tasks {
        let (allowed, refused, other) = task.await.unwrap_or((0, 0, 1));
        check.allowed += allowed;
        check.refused += refused;
        check.other += other;
    }
    check.seconds = started.elapsed().as_secs_f64();
    check
}

pub fn report(r: &ServersReport) -> String {
    let mut out = format!(
        "\n{} servers on one PostgreSQL database, {} s of mixed load with {} subscribers\n\n",
        r.servers, r.seconds, r.subscribers
    );
    out.push_str("| figure | value |\n| --- | --- |\n");
    out.push_str(&format!(
        "| mixed load (listing, recommendations, drafts) | {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors |\n",
        r.load_rate,
        r.load.quantile(0.5),
        r.load.quantile(0.99),
        r.load.errors
    ));
    let expected = r.subscribers * r.publications;
    out.push_str(&format!(
        "| publications (one every 0.25 s, through each server in turn) | {} published, {} errors |\n",
        r.publications, r.publish_errors
    ));
    out.push_str(&format!(
        "| deliveries (fan-out to {} subscribers) | {} of {} expected, {} subscriber errors |\n",
        r.subscribers, r.delivered, expected, r.subscriber_errors
    ));
    out.push_str(&format!(
        "| publication to delivery | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms |\n",
        r.delivery.quantile(0.5),
        r.delivery.quantile(0.99),
        r.delivery.quantile(1.0)
    ));
    match &r.limits {
        Some(l) => out.push_str(&format!(
            "| one user's limit of {} a minute across the servers | {} of {} allowed in {:.1} s (at most {:.0}), {} refused, {} other: {} |\n",
            l.limit,
            l.allowed,
            l.sent,
            l.seconds,
            l.most(),
            l.refused,
            l.other,
            if l.coherent() { "coherent" } else { "NOT coherent" }
        )),
        None => out.push_str("| shared limits | not checked: no PITCHIN_REDIS_URL |\n"),
    }
    let memory: Vec<String> =
        r.memory.iter().map(|m| m.map_or("?".into(), |(peak, _)| format!("{peak:.0} MB"))).collect();
    out.push_str(&format!("| servers' peak resident memory | {} |\n", memory.join(", ")));
    out
}
