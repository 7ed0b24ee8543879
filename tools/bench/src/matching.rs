//! `pitchin-bench matching`: the matching workload of issue 3, measured end to end over HTTP on loopback.
//!
//! It uses the database in `DATABASE_URL` (loading the default synthetic data set into an empty one), starts
//! `pitchin serve` as a child process on a free loopback port, signs requests with tokens for sampled users (a
//! secret shared with that server for the run; no password hashing in the loop), and sends each query one at a
//! time over one keep-alive connection. It prints the median, p99 and maximum latency per query, and the
//! server process's peak resident memory. The read workload of issue 5, against PostgreSQL's own floor, is in
//! `reads`.
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use rand::SeedableRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand_chacha::ChaCha8Rng;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{Value, json};
use uuid::Uuid;

use std::path::Path;

use api::Settings;
use api::auth::AuthUser;
use api::auth::token::TokenKeys;
use api::kit::ids::{NodeKind, encode};
use api::matching::index::MatchingIndex;
use api::needs::NeedStatus;
use api::values::Coordinates;
use domain::users::PlatformRole;
use entity::{membership, need, volunteer_profile};

pub struct BenchOptions {
    /// Measured requests per query (after a warm-up of a tenth as many).
    pub requests: usize,
    pub seed: u64,
    /// Seconds of sustained mixed load after the one-at-a-time measurements (0: none).
    pub load_seconds: u64,
    /// Concurrent keep-alive connections for the sustained load.
    pub connections: usize,
}

pub struct Timing {
    pub name: String,
    pub samples: Vec<Duration>,
    pub errors: usize,
}

impl Timing {
    pub fn quantile(&self, q: f64) -> f64 {
        let mut sorted = self.samples.clone();
        sorted.sort();
        if sorted.is_empty() {
            return f64::NAN;
        }
        let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
    }
}

pub(crate) struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
}

impl Client {
    /// Sends one GraphQL request, already serialised; `Err` for transport failures and for responses that are not a
    /// GraphQL answer or that carry errors.
    async fn check(&self, token: &str, body: &str) -> Result<(), String> {
        let mut request = self.http.post(&self.url).header("content-type", "application/json").body(body.to_owned());
        if !token.is_empty() {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let bytes = response.bytes().await.map_err(|e| e.to_string())?;
        answered(&bytes)
    }

    /// Sends one GraphQL request; `Err` for transport failures and for responses with errors.
    pub(crate) async fn gql(&self, token: &str, query: &str, variables: Value) -> Result<Value, String> {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let mut request = self.http.post(&self.url).header("content-type", "application/json");
        // An empty token means an anonymous request.
        if !token.is_empty() {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request.body(body).send().await.map_err(|e| e.to_string())?;
        let bytes = response.bytes().await.map_err(|e| e.to_string())?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        match value.get("errors") {
            Some(errors) => Err(errors.to_string()),
            None => Ok(value),
        }
    }
}

pub(crate) async fn measure(
    client: &Client,
    name: &str,
    requests: &[(String, String, Value)],
    warmup: usize,
) -> Timing {
    let mut timing = Timing { name: name.to_owned(), samples: Vec::with_capacity(requests.len()), errors: 0 };
    for (i, (token, body)) in serialised(requests).iter().enumerate() {
        let start = Instant::now();
        let result = client.check(token, body).await;
        let elapsed = start.elapsed();
        if let Err(e) = &result {
            timing.errors += 1;
            if timing.errors == 1 {
                eprintln!("{name}: first error: {}", e.chars().take(300).collect::<String>());
            }
        }
        if i >= warmup {
            timing.samples.push(elapsed);
        }
    }
    timing
}

pub struct Report {
    pub timings: Vec<Timing>,
    /// The server process's peak and current resident memory, in MB.
    pub memory: Option<(f64, f64)>,
}

/// A platform admin to plan as: each signed-in request checks its account, so a made-up id would be refused.
/// Made once in the benchmark's database (with a random password nobody is told).
async fn bench_admin(db: &DatabaseConnection) -> Result<Uuid, String> {
    use api::values::{Email, Password};
    let email = Email::parse("email", "bench-admin@synthetic.example").map_err(|e| format!("{e:?}"))?;
    if let Some(user) = api::users::service::find_by_email(db, &email).await.map_err(|e| format!("{e:?}"))? {
        return Ok(user.id);
    }
    let secret = format!("{:032x}", rand::random::<u128>());
    let password = Password::parse("password", &secret, &email).map_err(|e| format!("{e:?}"))?;
    let user = api::users::service::create_user(db, email, password, "Bench admin".into(), PlatformRole::Admin, true)
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(user.id)
}

/// The benchmark's database, migrated, with the default synthetic data set loaded if it was empty.
pub(crate) async fn prepared_database(settings: &Settings) -> Result<DatabaseConnection, String> {
    let db = api::connect(settings).await.map_err(|e| format!("cannot connect: {e}"))?;
    api::migrate(&db).await.map_err(|e| format!("migrations failed: {e}"))?;
    if fixtures::is_empty(&db).await.map_err(|e| format!("{e:?}"))? {
        eprintln!("empty database: loading the default synthetic data set first");
        fixtures::generate(&db, &fixtures::SyntheticSpec::DEFAULT)
            .await
            .map_err(|e| format!("synthetic data failed: {e:?}"))?;
    }
    Ok(db)
}

/// `pitchin serve` as a child process on a free loopback port, ready, with a client for it and the keys that sign
/// its tokens. The server runs as its own process, so that its memory is measured alone; it signs tokens with a
/// secret made for this run, which the bench shares to sign requests as sampled users.
pub(crate) async fn start_server(settings: &Settings, pitchin: &Path) -> Result<(Server, Client, TokenKeys), String> {
    let secret = format!("{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>());
    let keys = TokenKeys::from_settings(&Settings { jwt_secret: Some(secret.clone()), ..settings.clone() })?;
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        probe.local_addr().map_err(|e| e.to_string())?
    };
    let server = Server::start(pitchin, settings, &secret, addr, &[])?;
    let client = Client {
        http: reqwest::Client::builder().pool_max_idle_per_host(1).build().map_err(|e| e.to_string())?,
        url: format!("http://{addr}/graphql"),
    };
    server.wait_until_ready(&client.http, addr).await?;
    Ok((server, client, keys))
}

pub async fn run(settings: &Settings, pitchin: &Path, options: BenchOptions) -> Result<Report, String> {
    let db = prepared_database(settings).await?;
    let loading = Instant::now();
    let index = MatchingIndex::new();
    index.refresh(&db).await.map_err(|e| format!("loading the matching index failed: {e:?}"))?;
    eprintln!("matching index loads in {:.0} ms (measured here; the server loads its own at start)", ms(loading));
    drop(index);

    let (server, client, keys) = start_server(settings, pitchin).await?;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let n = options.requests;
    let warmup = (n / 10).max(5);
    let token = |id: Uuid, role: PlatformRole| {
        keys.issue(&AuthUser { id, role }).map(|t| t.token).map_err(|e| format!("{e:?}"))
    };

    // matchesForNeed(first: 20), as a member of the need's organisation: in-person needs, and remote needs, the
    // worst case (every volunteer with the DBS level and the times is a candidate).
    let needs = open_needs(&db, false).await?;
    let sample: Vec<&need::Model> = needs.choose_multiple(&mut rng, n + warmup).collect();
    let remote = open_needs(&db, true).await?;
    let remote_sample: Vec<&need::Model> = remote.choose_multiple(&mut rng, n + warmup).collect();
    let org_ids: Vec<Uuid> = sample.iter().chain(&remote_sample).map(|n| n.organisation_id).collect();
    let members: Vec<membership::Model> = membership::Entity::find()
        .filter(membership::Column::OrganisationId.is_in(org_ids))
        .all(&db)
        .await
        .map_err(|e| e.to_string())?;
    let as_member = |sample: &[&need::Model]| -> Result<Vec<(String, String, Value)>, String> {
        let mut requests = Vec::new();
        for need in sample {
            let Some(member) = members.iter().find(|m| m.organisation_id == need.organisation_id) else { continue };
            requests.push((
                token(member.user_id, PlatformRole::Member)?,
                MATCHES.to_owned(),
                json!({ "id": encode(NodeKind::Need, need.id) }),
            ));
        }
        Ok(requests)
    };
    let matches = as_member(&sample)?;
    let remote_matches = as_member(&remote_sample)?;

    // recommendedNeeds(first: 20), as sampled volunteers.
    let volunteers: Vec<(Uuid, Uuid)> = volunteer_profile::Entity::find()
        .select_only()
        .column(volunteer_profile::Column::Id)
        .column(volunteer_profile::Column::UserId)
        .into_tuple()
        .all(&db)
        .await
        .map_err(|e| e.to_string())?;
    let mut recommended = Vec::new();
    for (_, user_id) in volunteers.choose_multiple(&mut rng, n + warmup) {
        recommended.push((token(*user_id, PlatformRole::Member)?, RECOMMENDED.to_owned(), json!({})));
    }

    // proposeAssignments for the 500 open in-person needs nearest Bristol's centre, as a platform admin.
    let bristol = Coordinates::new("bench", 51.4545, -2.5879).map_err(|e| format!("{e:?}"))?;
    let mut near_bristol: Vec<&need::Model> = needs.iter().collect();
    near_bristol.sort_by(|a, b| {
        let d = |n: &need::Model| Coordinates::from_stored(n.lat, n.lng).map_or(f64::MAX, |c| c.distance_km(&bristol));
        d(a).total_cmp(&d(b))
    });
    let plan_ids: Vec<_> = near_bristol.iter().take(500).map(|n| encode(NodeKind::Need, n.id)).collect();
    let admin = token(bench_admin(&db).await?, PlatformRole::Admin)?;
    let plans: Vec<_> = (0..7).map(|_| (admin.clone(), PROPOSE.to_owned(), json!({ "ids": plan_ids }))).collect();

    let mut timings = Vec::new();
    timings.push(measure(&client, "matchesForNeed(first: 20)", &matches, warmup).await);
    timings.push(measure(&client, "matchesForNeed(first: 20), remote needs", &remote_matches, warmup).await);
    timings.push(measure(&client, "recommendedNeeds(first: 20)", &recommended, warmup).await);
    timings.push(measure(&client, "proposeAssignments (500 needs near Bristol)", &plans, 2).await);
    if options.load_seconds > 0 {
        // The three matching queries and the public listing, interleaved.
        let mut mix: Vec<(String, String, Value)> = Vec::new();
        for i in 0..matches.len().max(recommended.len()) {
            mix.extend(matches.get(i).cloned());
            mix.extend(remote_matches.get(i).cloned());
            mix.extend(recommended.get(i).cloned());
            mix.push((String::new(), LISTING.to_owned(), json!({})));
        }
        let duration = Duration::from_secs(options.load_seconds);
        let started = Instant::now();
        let timing = sustain(&client.url, Arc::new(mix), options.connections.max(1), duration).await;
        let rate = timing.samples.len() as f64 / started.elapsed().as_secs_f64();
        timings.push(Timing {
            name: format!("mixed load, {} conns, {} s, {rate:.0} req/s", options.connections, options.load_seconds),
            ..timing
        });
    }
    if let Ok(plan) = client.gql(&admin, PLAN_SIZE, json!({ "ids": plan_ids })).await {
        let p = &plan["data"]["proposeAssignments"];
        eprintln!(
            "plan: {} needs, {} proposals, {} needs covered, total score {:.2}",
            plan_ids.len(),
            p["proposals"].as_array().map_or(0, Vec::len),
            p["needsCovered"],
            p["totalScore"].as_f64().unwrap_or(0.0)
        );
    }
    let memory = server.memory();
    Ok(Report { timings, memory })
}

/// Holds `connections` concurrent clients, each on its own keep-alive connection, sending the mix in turn until
/// `duration` has passed; every response is checked for errors.
pub(crate) async fn sustain(
    url: &str,
    mix: Arc<Vec<(String, String, Value)>>,
    connections: usize,
    duration: Duration,
) -> Timing {
    let mix: Vec<LoadRequest> = match serialised(&mix).into_iter().map(LoadRequest::new).collect() {
        Ok(mix) => mix,
        Err(e) => {
            eprintln!("load: {e}");
            return Timing { name: String::new(), samples: Vec::new(), errors: 1 };
        }
    };
    let url = url.to_owned();
    // All connections on one thread, as pgbench drives its 32 by default: on a multi-threaded runtime the client's
    // threads woke each other for every response, at a cost in system time that the server and PostgreSQL paid.
    let load =
        tokio::task::spawn_blocking(move || match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime.block_on(load(url, Arc::new(mix), connections, duration)),
            Err(e) => {
                eprintln!("load: cannot start the client's runtime: {e}");
                Timing { name: String::new(), samples: Vec::new(), errors: 1 }
            }
        });
    load.await.unwrap_or_else(|_| Timing { name: String::new(), samples: Vec::new(), errors: 1 })
}

async fn load(url: String, mix: Arc<Vec<LoadRequest>>, connections: usize, duration: Duration) -> Timing {
    let deadline = Instant::now() + duration;
    let mut workers = Vec::with_capacity(connections);
    for worker in 0..connections {
        let (mix, url) = (mix.clone(), url.clone());
        workers.push(tokio::spawn(async move {
            let mut timing = Timing { name: String::new(), samples: Vec::new(), errors: 0 };
            let mut connection = match LoadConnection::open(&url).await {
                Ok(connection) => connection,
                Err(e) => {
                    eprintln!("load: cannot connect: {e}");
                    timing.errors += 1;
                    return timing;
                }
            };
            let mut i = worker;
            while Instant::now() < deadline && !mix.is_empty() {
                let start = Instant::now();
                let result = match tokio::time::timeout(REQUEST_TIMEOUT, connection.check(&mix[i % mix.len()])).await {
                    Ok(result) => result,
                    Err(_) => Err(Failure::Transport("no answer within the request timeout".into())),
                };
                timing.samples.push(start.elapsed());
                i += connections;
                if let Err(failure) = &result {
                    timing.errors += 1;
                    if timing.errors == 1 {
                        eprintln!("load: first error: {}", failure.text().chars().take(300).collect::<String>());
                    }
                }
                // A transport failure, or a server that closed the connection, leaves it unusable: open another,
                // counting each attempt that fails, until one succeeds or the time is up.
                if matches!(result, Err(Failure::Transport(_))) || connection.closed {
                    loop {
                        match LoadConnection::open(&url).await {
                            Ok(fresh) => {
                                connection = fresh;
                                break;
                            }
                            Err(_) if Instant::now() < deadline => {
                                timing.errors += 1;
                                tokio::time::sleep(Duration::from_millis(10)).await;
                            }
                            Err(_) => return timing,
                        }
                    }
                }
            }
            timing
        }));
    }
    gather(workers).await
}

/// The load workers' timings as one (a worker that panicked counts as an error).
pub(crate) async fn gather(workers: Vec<tokio::task::JoinHandle<Timing>>) -> Timing {
    let mut all = Timing { name: String::new(), samples: Vec::new(), errors: 0 };
    for worker in workers {
        match worker.await {
            Ok(t) => {
                all.samples.extend(t.samples);
                all.errors += t.errors;
            }
            Err(_) => all.errors += 1,
        }
    }
    all
}

/// One request of the load, with its headers and body made once: a load generator repeats the same few requests,
/// and what it spends making them it takes from the server on a shared machine (pgbench prepares its statements
/// once, too).
struct LoadRequest {
    authorization: Option<HeaderValue>,
    body: Bytes,
}

impl LoadRequest {
    fn new((token, body): (String, String)) -> Result<Self, String> {
        let authorization = match token.is_empty() {
            true => None,
            false => Some(HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| format!("a token: {e}"))?),
        };
        Ok(Self { authorization, body: Bytes::from(body) })
    }
}

/// How long the load waits for one answer before it counts the request as failed and opens a new connection.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request of the load failed.
enum Failure {
    /// The connection failed or gave no answer: it cannot be used again.
    Transport(String),
    /// An answer came, but not a 200 with data and no errors.
    Answer(String),
}

impl Failure {
    fn text(&self) -> &str {
        match self {
            Self::Transport(text) | Self::Answer(text) => text,
        }
    }
}

type LoadIo = hyper_util::rt::TokioIo<tokio::net::TcpStream>;

/// One keep-alive HTTP/1.1 connection of the sustained load: hyper's client connection, driven in the worker's own
/// task. reqwest (its pool, a URL parsed for every request, and a task of its own for each connection) cost the
/// client about three times what pgbench costs the floor, on the cores the server and PostgreSQL share.
struct LoadConnection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    connection: Pin<Box<hyper::client::conn::http1::Connection<LoadIo, Full<Bytes>>>>,
    host: HeaderValue,
    path: String,
    /// The server ended the connection (after an answer, or before one).
    closed: bool,
}

impl LoadConnection {
    async fn open(url: &str) -> Result<Self, String> {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        let authority = uri.authority().ok_or_else(|| format!("{url}: no host"))?.as_str().to_owned();
        let stream = tokio::net::TcpStream::connect(&authority).await.map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self {
            sender,
            connection: Box::pin(connection),
            host: HeaderValue::from_str(&authority).map_err(|e| e.to_string())?,
            path: uri.path().to_owned(),
            closed: false,
        })
    }

    /// Sends one request; `Err` for transport failures, for a status other than 200, and for answers that are not
    /// GraphQL data or that carry errors.
    async fn check(&mut self, request: &LoadRequest) -> Result<(), Failure> {
        self.exchange(request).await.map_err(Failure::Transport)?.map_err(Failure::Answer)
    }

    /// The request and its answer: `Err` for the transport, `Ok(Err)` for an answer that is not the one expected.
    async fn exchange(&mut self, request: &LoadRequest) -> Result<Result<(), String>, String> {
        let Self { sender, connection, host, path, closed } = self;
        drive(connection, closed, sender.ready()).await?.map_err(|e| e.to_string())?;
        let mut http = hyper::Request::post(path.as_str())
            .header(header::HOST, host.clone())
            .header(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(authorization) = &request.authorization {
            http = http.header(header::AUTHORIZATION, authorization.clone());
        }
        let http = http.body(Full::new(request.body.clone())).map_err(|e| e.to_string())?;
        let response = drive(connection, closed, sender.send_request(http)).await?.map_err(|e| e.to_string())?;
        let status = response.status();
        let body =
            drive(connection, closed, response.into_body().collect()).await?.map_err(|e| e.to_string())?.to_bytes();
        if status != hyper::StatusCode::OK {
            return Ok(Err(format!("{status}: {}", String::from_utf8_lossy(&body))));
        }
        Ok(answered(&body))
    }
}

/// Runs `work` while driving the connection it needs, in the same task (no wake-up of another task per request).
/// A connection that ends is never polled again (`closed`); `work` still gets what arrived before the end.
async fn drive<F: std::future::Future>(
    connection: &mut Pin<Box<hyper::client::conn::http1::Connection<LoadIo, Full<Bytes>>>>,
    closed: &mut bool,
    work: F,
) -> Result<F::Output, String> {
    let mut work = std::pin::pin!(work);
    if *closed {
        return Err("the server closed the connection".to_owned());
    }
    tokio::select! {
        biased;
        out = &mut work => Ok(out),
        end = connection.as_mut() => {
            *closed = true;
            match end {
                Ok(()) => Ok(work.await),
                Err(e) => Err(e.to_string()),
            }
        }
    }
}

/// Whether a response body is a GraphQL answer with data and no errors. Scans the answer without building it, as a
/// load generator should: the client shares the machine with the server, and building a dashboard's 900 objects
/// cost it as much as the server spends answering.
fn answered(body: &[u8]) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        data: Option<serde::de::IgnoredAny>,
        errors: Option<serde::de::IgnoredAny>,
    }
    match serde_json::from_slice::<Answer>(body) {
        Ok(Answer { data: Some(_), errors: None }) => Ok(()),
        _ => Err(String::from_utf8_lossy(body).into_owned()),
    }
}

/// Each request's bearer token and body, serialised once rather than for every send.
fn serialised(requests: &[(String, String, Value)]) -> Vec<(String, String)> {
    requests
        .iter()
        .map(|(token, query, variables)| (token.clone(), json!({ "query": query, "variables": variables }).to_string()))
        .collect()
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// `pitchin serve` in a child process, stopped when dropped.
pub(crate) struct Server {
    child: std::process::Child,
}

impl Server {
    pub(crate) fn start(
        pitchin: &Path,
        settings: &Settings,
        secret: &str,
        addr: std::net::SocketAddr,
        extra: &[(&str, String)],
    ) -> Result<Self, String> {
        let child = std::process::Command::new(pitchin)
            .arg("serve")
            .env("DATABASE_URL", &settings.database_url)
            .env("JWT_SECRET", secret)
            .env("PITCHIN_BIND", addr.to_string())
            // Absolute links (the feeds' `next`) lead back to this server.
            .env("PITCHIN_PUBLIC_URL", format!("http://{addr}"))
            .env("PITCHIN_DB_MAX_CONNECTIONS", settings.db_max_connections.to_string())
            .env("RUST_LOG", "warn")
            // One client from one address, on purpose: the bench measures speed, not the abuse limits.
            .env("PITCHIN_RATE_LIMIT_PER_IP", "0")
            .env("PITCHIN_RATE_LIMIT_PER_USER", "0")
            // A bench's own settings last (the multi-server run's shared limits).
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the server {}: {e}", pitchin.display()))?;
        Ok(Self { child })
    }

    pub(crate) async fn wait_until_ready(
        &self,
        http: &reqwest::Client,
        addr: std::net::SocketAddr,
    ) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(r) = http.get(format!("http://{addr}/readyz")).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("the server did not become ready within 60 s".into())
    }

    /// The CPU time the server has used so far (user and system, all threads), in seconds, from Linux's `/proc`.
    pub(crate) fn cpu_seconds(&self) -> Option<f64> {
        Some(ProcStat::read(&self.child.id().to_string())?.own)
    }

    /// The server's (peak, current) resident memory in MB, from Linux's `/proc`.
    pub(crate) fn memory(&self) -> Option<(f64, f64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let field = |name: &str| -> Option<f64> {
            let line = status.lines().find(|l| l.starts_with(name))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok().map(|kb| kb / 1024.0)
        };
        Some((field("VmHWM:")?, field("VmRSS:")?))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One process's CPU times from Linux's `/proc/<pid>/stat`, in seconds.
pub(crate) struct ProcStat {
    pub(crate) comm: String,
    pub(crate) parent: u32,
    /// User and system time of the process itself (all its threads).
    pub(crate) own: f64,
    /// User and system time of its children that have exited and been waited for.
    pub(crate) children: f64,
}

impl ProcStat {
    /// `pid` is a number or "self".
    pub(crate) fn read(pid: &str) -> Option<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (head, tail) = stat.rsplit_once(')')?;
        let comm = head.split_once('(')?.1.to_owned();
        // After the command name: state, ppid, ..., utime (12th), stime, cutime, cstime (15th).
        let fields: Vec<&str> = tail.split_whitespace().collect();
        let number = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
        // Linux reports times in USER_HZ, which is 100 on every architecture it exposes to user space.
        Some(Self {
            comm,
            parent: fields.get(1)?.parse().ok()?,
            own: (number(11)? + number(12)?) / 100.0,
            children: (number(13)? + number(14)?) / 100.0,
        })
    }

    /// CPU seconds used so far by the PostgreSQL server on this machine: its living processes, and (through each
    /// postmaster's children totals) the backends that have exited, such as pgbench's once it closes its
    /// connections. `None` when no PostgreSQL process is visible (a server elsewhere).
    pub(crate) fn postgres_seconds() -> Option<f64> {
        let all: Vec<(u32, Self)> = std::fs::read_dir("/proc")
            .ok()?
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| Some((pid, Self::read(&pid.to_string())?)))
            .collect();
        let is_postgres = |pid: u32| all.iter().any(|(p, s)| *p == pid && s.comm == "postgres");
        let mut total = None;
        for (_, stat) in all.iter().filter(|(_, s)| s.comm == "postgres") {
            let postmaster = !is_postgres(stat.parent);
            *total.get_or_insert(0.0) += stat.own + if postmaster { stat.children } else { 0.0 };
        }
        total
    }
}

/// Open needs, remote or in person, in a fixed shuffled order.
async fn open_needs(db: &DatabaseConnection, remote: bool) -> Result<Vec<need::Model>, String> {
    let mut needs = need::Entity::find()
        .filter(need::Column::Status.eq(NeedStatus::Open.as_db()))
        .filter(need::Column::Remote.eq(remote))
        .all(db)
        .await
        .map_err(|e| e.to_string())?;
    needs.sort_by_key(|n| n.id);
    if needs.is_empty() {
        return Err(format!("no open {} needs to benchmark with", if remote { "remote" } else { "in-person" }));
    }
    needs.shuffle(&mut ChaCha8Rng::seed_from_u64(0));
    Ok(needs)
}

const MATCHES: &str = "query($id: ID!) { matchesForNeed(needId: $id, first: 20) { totalCount edges { node { score distanceKm matchedSkills missingSkills overlapHoursPerWeek volunteer { displayName } reasons { factor contribution } } } } }";
pub(crate) const RECOMMENDED: &str = "{ recommendedNeeds(first: 20) { totalCount edges { node { score distanceKm need { title organisation { name } } reasons { factor contribution } } } } }";
const PROPOSE: &str = "query($ids: [ID!]!) { proposeAssignments(input: {needIds: $ids}) { totalScore needsCovered proposals { score } unmet { places } } }";
const LISTING: &str = "{ needs(first: 20, filter: {status: OPEN}, orderBy: NEWEST) { edges { node { title category organisation { name } } } } }";
const PLAN_SIZE: &str = "query($ids: [ID!]!) { proposeAssignments(input: {needIds: $ids}) { totalScore needsCovered proposals { score } } }";

/// The report, one row per query.
pub fn report(report: &Report) -> String {
    let mut out =
        format!("{:<46} {:>5} {:>9} {:>9} {:>9} {:>6}\n", "query", "n", "p50 ms", "p99 ms", "max ms", "errors");
    for t in &report.timings {
        out.push_str(&format!(
            "{:<46} {:>5} {:>9.2} {:>9.2} {:>9.2} {:>6}\n",
            t.name,
            t.samples.len(),
            t.quantile(0.5),
            t.quantile(0.99),
            t.quantile(1.0),
            t.errors
        ));
    }
    if let Some((peak, now)) = report.memory {
        out.push_str(&format!("server resident memory: peak {peak:.0} MB, at the end {now:.0} MB\n"));
    }
    out
}
