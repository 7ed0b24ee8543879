//! The CPU a request costs, by kind, for the capacity plan (`docs/capacity.md`): each kind held at `connections`
//! concurrent keep-alive connections for `seconds`, with the server's CPU time (from `/proc`) and PostgreSQL's
//! (every `postgres` process on the machine) divided by the requests answered. The kinds: the public listing (Q1),
//! a volunteer's recommendations (matching), a coordinator's new draft need (a write: a transaction, its audit row
//! and its live signal), and registrations (argon2id at OWASP's first parameter set: 19 MiB, 2 passes).
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api::Settings;
use api::auth::AuthUser;
use api::kit::ids::{NodeKind, encode};
use domain::users::PlatformRole;
use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::matching::{Timing, start_server, sustain};
use crate::reads::CpuSnapshot;
use entity::{membership, volunteer_profile};

pub struct CapacityOptions {
    pub seconds: u64,
    pub connections: usize,
    /// Connections for registrations, which the server hashes a few at a time (twice its cores).
    pub registration_connections: usize,
    pub seed: u64,
}

pub struct KindRow {
    pub name: &'static str,
    pub connections: usize,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: usize,
    pub server_cpu_ms: f64,
    pub postgres_cpu_ms: f64,
}

pub struct CapacityReport {
    pub seconds: u64,
    pub cores: usize,
    pub rows: Vec<KindRow>,
}

/// A GraphQL request: the token (empty: anonymous), the document, the variables.
type Request = (String, String, Value);

pub(crate) const CREATE_NEED: &str = "mutation($input: CreateNeedInput!) { createNeed(input: $input) { need { id } } }";
const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { user { id } } }";

pub async fn run(settings: &Settings, pitchin: &Path, options: CapacityOptions) -> Result<CapacityReport, String> {
    let db = crate::matching::prepared_database(settings).await?;
    let (server, client, keys) = start_server(settings, pitchin).await?;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let token = |id: Uuid| {
        keys.issue(&AuthUser { id, role: PlatformRole::Member }).map(|t| t.token).map_err(|e| format!("{e:?}"))
    };

    let volunteers = volunteer_users(&db).await?;
    let recommended = volunteers
        .choose_multiple(&mut rng, 500)
        .map(|user| Ok((token(*user)?, crate::matching::RECOMMENDED.to_owned(), json!({}))))
        .collect::<Result<Vec<_>, String>>()?;
    let drafts = owners(&db, 500)
        .await?
        .iter()
        .map(|(user, organisation)| Ok((token(*user)?, CREATE_NEED.to_owned(), draft(*organisation, "Capacity need"))))
        .collect::<Result<Vec<_>, String>>()?;

    let kinds: Vec<(&'static str, Vec<Request>, usize)> = vec![
        ("read: Q1 public listing", vec![(String::new(), crate::reads::Q1.to_owned(), json!({}))], options.connections),
        ("matching: recommendedNeeds(first: 20)", recommended, options.connections),
        ("write: createNeed (a draft)", drafts, options.connections),
    ];
    let mut rows = Vec::new();
    for (name, mix, connections) in kinds {
        eprintln!("{name}: {connections} connections, {} s", options.seconds);
        if mix.is_empty() {
            return Err(format!("{name}: nothing to send (is the synthetic data loaded?)"));
        }
        sustain(&client.url, Arc::new(mix.clone()), connections, Duration::from_secs(2)).await;
        let server_before = server.cpu_seconds();
        let before = CpuSnapshot::take();
        let started = Instant::now();
        let timing: Timing =
            sustain(&client.url, Arc::new(mix), connections, Duration::from_secs(options.seconds)).await;
        let elapsed = started.elapsed().as_secs_f64();
        let answered = timing.samples.len() as f64;
        let used = before.until_now(answered);
        let server_cpu_ms = match (server_before, server.cpu_seconds()) {
            (Some(b), Some(a)) if answered > 0.0 => 1000.0 * (a - b) / answered,
            _ => f64::NAN,
        };
        rows.push(KindRow {
            name,
            connections,
            per_second: answered / elapsed,
            p50_ms: timing.quantile(0.5),
            p99_ms: timing.quantile(0.99),
            errors: timing.errors,
            server_cpu_ms,
            postgres_cpu_ms: used.postgres,
        });
    }
    // Registrations: every one a new address, so each connection takes the next number rather than a list.
    let connections = options.registration_connections.max(1);
    eprintln!("registrations: {connections} connections, {} s", options.seconds);
    let server_before = server.cpu_seconds();
    let before = CpuSnapshot::take();
    let started = Instant::now();
    let timing = registrations(&client.url, connections, Duration::from_secs(options.seconds)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let answered = timing.samples.len() as f64;
    let used = before.until_now(answered);
    rows.push(KindRow {
        name: "registration: register (argon2id)",
        connections,
        per_second: answered / elapsed,
        p50_ms: timing.quantile(0.5),
        p99_ms: timing.quantile(0.99),
        errors: timing.errors,
        server_cpu_ms: match (server_before, server.cpu_seconds()) {
            (Some(b), Some(a)) if answered > 0.0 => 1000.0 * (a - b) / answered,
            _ => f64::NAN,
        },
        postgres_cpu_ms: used.postgres,
    });
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Ok(CapacityReport { seconds: options.seconds, cores, rows })
}

/// The users behind up to 20,000 volunteer profiles, to sign in as.
pub(crate) async fn volunteer_users(db: &DatabaseConnection) -> Result<Vec<Uuid>, String> {
    volunteer_profile::Entity::find()
        .select_only()
        .column(volunteer_profile::Column::UserId)
        .limit(20_000)
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| e.to_string())
}

/// Up to `n` organisations' owners: (user, organisation).
pub(crate) async fn owners(db: &DatabaseConnection, n: u64) -> Result<Vec<(Uuid, Uuid)>, String> {
    membership::Entity::find()
        .select_only()
        .column(membership::Column::UserId)
        .column(membership::Column::OrganisationId)
        .filter(membership::Column::Role.eq("OWNER"))
        .limit(n)
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| e.to_string())
}

/// `createNeed`'s variables: a draft of `organisation`'s titled `title`.
pub(crate) fn draft(organisation: Uuid, title: &str) -> Value {
    json!({ "input": {
        "organisationId": encode(NodeKind::Organisation, organisation), "title": title,
        "description": "Made by pitchin-bench", "category": "ENGLISH_CLASSES",
        "requiredSkills": ["teaching english"], "location": { "lat": 51.4566, "lng": -0.2426 },
        "postcode": "SW15 4HR", "volunteersNeeded": 2,
        "schedule": { "weekly": [{ "day": "TUESDAY", "start": "19:00", "end": "21:00" }] }
    } })
}

pub fn report(report: &CapacityReport) -> String {
    let mut out = format!(
        "\nCPU per request by kind, {} s each, on {} cores (server, PostgreSQL and the load client share them)\n\n",
        report.seconds, report.cores
    );
    out.push_str(
        "| kind | connections | req/s | p50 | p99 | errors | server CPU per request | PostgreSQL CPU per request |\n",
    );
    out.push_str("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for r in &report.rows {
        out.push_str(&format!(
            "| {} | {} | {:.0} | {:.2} ms | {:.2} ms | {} | {:.3} ms | {:.3} ms |\n",
            r.name, r.connections, r.per_second, r.p50_ms, r.p99_ms, r.errors, r.server_cpu_ms, r.postgres_cpu_ms
        ));
    }
    out
}

/// Registrations of new addresses on `connections` connections for `duration`; each answer checked.
async fn registrations(url: &str, connections: usize, duration: Duration) -> Timing {
    let run = Uuid::new_v4().simple().to_string();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let deadline = Instant::now() + duration;
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (url, run, next) = (url.to_owned(), run.clone(), next.clone());
            tokio::spawn(async move {
                let mut timing = Timing { name: String::new(), samples: Vec::new(), errors: 0 };
                let Ok(http) = reqwest::Client::builder().pool_max_idle_per_host(1).build() else {
                    timing.errors += 1;
                    return timing;
                };
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let input = json!({ "email": format!("cap-{run}-{i}@bench.example"),
                        "password": "a long enough passphrase", "displayName": "Capacity" });
                    let body = json!({ "query": REGISTER, "variables": { "input": input } }).to_string();
                    let sent = Instant::now();
                    let answer = http.post(&url).header("content-type", "application/json").body(body).send().await;
                    let ok = match answer {
                        Ok(response) => response.bytes().await.is_ok_and(|b| {
                            serde_json::from_slice::<Value>(&b).is_ok_and(|v| v.get("errors").is_none())
                        }),
                        Err(_) => false,
                    };
                    if ok {
                        timing.samples.push(sent.elapsed());
                    } else {
                        timing.errors += 1;
                    }
                }
                timing
            })
        })
        .collect();
    crate::matching::gather(workers).await
}
