//! `pitchin-bench reads`: the read workload of issue 5 (Q1 listing, Q2 coordinator dashboard, Q3 near me, in a
//! dense city and a sparse rural area) measured over HTTP beside its floor: the same data fetched by hand-written SQL
//! that pgbench runs prepared, at the same concurrency, on the same machine, in the same run.
//!
//! Needs PostgreSQL (`DATABASE_URL`) and `pgbench` on the PATH. An empty database gets the default synthetic data set
//! (100,000 volunteers, 20,000 open needs, 2,000 organisations, 50,000 applications) first. For each query it runs
//! pgbench for the floor, then the API (a `pitchin serve` child process) one request at a time for the
//! one-connection median, then with `connections` keep-alive connections for the same time, every response checked
//! for errors. It prints one table: rate, p50, p99, the API's share of the floor's rate, the one-connection p50, and
//! the server's peak resident memory.
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::matching::{ProcStat, measure, sustain};
use api::Settings;
use api::auth::AuthUser;
use api::kit::ids::{NodeKind, encode};
use api::values::Coordinates;
use api::values::geo::KM_PER_DEGREE;
use domain::users::PlatformRole;

#[derive(Clone)]
pub struct ReadBenchOptions {
    /// Seconds each measurement under load lasts (pgbench and the API alike).
    pub seconds: u64,
    /// Concurrent connections, for pgbench and for the API.
    pub connections: usize,
    /// Requests for the one-connection medians.
    pub single: usize,
    pub seed: u64,
    /// Only the queries whose names start with this (e.g. "Q2"), for profiling one at a time.
    pub only: Option<String>,
    /// Skip pgbench (the floor), for profiling the API alone.
    pub no_floor: bool,
    /// Rounds per query, each the floor then the API; the report holds each figure's median over them (errors: the
    /// sum).
    pub rounds: usize,
}

/// One query's figures.
pub struct ReadRow {
    pub name: String,
    pub floor_rate: f64,
    pub floor_p50: f64,
    pub floor_p99: f64,
    pub api_rate: f64,
    pub api_p50: f64,
    pub api_p99: f64,
    pub api_errors: usize,
    pub single_p50: f64,
    /// The server's CPU time per request under load, in ms: steadier than a rate on a shared machine.
    pub server_cpu_ms: f64,
    /// Where the floor's CPU goes, per transaction, in ms: PostgreSQL, pgbench.
    pub floor_cpu_ms: (f64, f64),
    /// Where the API's CPU goes under load, per request, in ms: PostgreSQL, the bench's own load client.
    pub api_cpu_ms: (f64, f64),
    /// The API's rate as a share of the floor's, in each round (the floor and the API measured one after the other).
    pub ratios: Vec<f64>,
}

impl ReadRow {
    /// Each figure's median over the rounds, the errors of them all, and each round's ratio.
    fn median_of(name: &str, rounds: &[ReadRow]) -> ReadRow {
        let m = |figure: fn(&ReadRow) -> f64| median(rounds.iter().map(figure).collect());
        ReadRow {
            name: name.to_owned(),
            floor_rate: m(|r| r.floor_rate),
            floor_p50: m(|r| r.floor_p50),
            floor_p99: m(|r| r.floor_p99),
            api_rate: m(|r| r.api_rate),
            api_p50: m(|r| r.api_p50),
            api_p99: m(|r| r.api_p99),
            api_errors: rounds.iter().map(|r| r.api_errors).sum(),
            single_p50: m(|r| r.single_p50),
            server_cpu_ms: m(|r| r.server_cpu_ms),
            floor_cpu_ms: (m(|r| r.floor_cpu_ms.0), m(|r| r.floor_cpu_ms.1)),
            api_cpu_ms: (m(|r| r.api_cpu_ms.0), m(|r| r.api_cpu_ms.1)),
            ratios: rounds.iter().flat_map(|r| r.ratios.iter().copied()).collect(),
        }
    }

    /// The median of the rounds' ratios: each round's API rate against the floor measured just before it, so that
    /// a machine that speeds up or slows down between rounds moves both.
    pub fn ratio(&self) -> f64 {
        median(self.ratios.clone())
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

pub struct ReadReport {
    pub rows: Vec<ReadRow>,
    pub connections: usize,
    pub seconds: u64,
    pub rounds: usize,
    pub memory: Option<(f64, f64)>,
}

/// A bearer token (empty: anonymous), a query and its variables.
type Request = (String, String, Value);

pub(crate) const Q1: &str = "{ needs(first: 20, filter: {categories: [ENGLISH_CLASSES], status: OPEN}, orderBy: NEWEST) { edges { node { id title organisation { name } } } } }";
const Q2: &str = "query($id: ID!) { organisation(id: $id) { name needs(first: 50) { edges { node { id title applications(first: 10) { edges { node { id status volunteer { displayName } } } } } } } } }";
const Q3: &str = "query($lat: Float!, $lng: Float!) { needs(first: 20, filter: {near: {lat: $lat, lng: $lng, radiusKm: 10}, status: OPEN}, orderBy: NEAREST) { edges { distanceKm node { id title organisation { name } } } } }";

const Q1_SQL: &str = "SELECT n.id, n.title, o.name
FROM needs n JOIN organisations o ON o.id = n.organisation_id
WHERE n.category = 'ENGLISH_CLASSES' AND n.status = 'OPEN'
ORDER BY n.created_at DESC, n.id DESC LIMIT 20;
";

/// The dashboard's 50 newest needs of an organisation with each one's 10 newest applications and their
/// volunteers' names, in one statement (a LATERAL join), for an organisation drawn from `ids`.
fn q2_sql(ids: &[Uuid]) -> String {
    let list = ids.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
    format!(
        "\\set i random(1, {n})
SELECT o.name, n.id, n.title, a.id, a.status, v.display_name
FROM organisations o
JOIN LATERAL (SELECT id, title, created_at FROM needs WHERE organisation_id = o.id
              ORDER BY created_at DESC, id DESC LIMIT 50) n ON true
LEFT JOIN LATERAL (SELECT id, status, volunteer_id, created_at FROM applications WHERE need_id = n.id
                   ORDER BY created_at DESC, id DESC LIMIT 10) a ON true
LEFT JOIN volunteer_profiles v ON v.id = a.volunteer_id
WHERE o.id = (ARRAY[{list}]::uuid[])[:i]
ORDER BY n.created_at DESC, n.id DESC, a.created_at DESC, a.id DESC;
",
        n = ids.len()
    )
}

/// Open needs within 10 km of a point, nearest first, with their organisations' names: as the API searches, the
/// inner ring (1 km) first and the whole radius only if the ring holds fewer than a page; each by bounding box,
/// then the exact (equirectangular) distance.
fn q3_sql(at: &Coordinates) -> String {
    let (lat, lng, kx) = (at.lat(), at.lng(), at.km_per_degree_lng());
    let within = |km: f64| {
        let (dlat, dlng) = (km / KM_PER_DEGREE, km / kx.max(1.0));
        format!(
            "SELECT n.id, n.title, n.organisation_id, d.sq
  FROM needs n, LATERAL (SELECT ((n.lat - {lat}) * {KM_PER_DEGREE}) * ((n.lat - {lat}) * {KM_PER_DEGREE})
                              + ((n.lng - ({lng})) * {kx}) * ((n.lng - ({lng})) * {kx}) AS sq) d
  WHERE n.status = 'OPEN'
    AND n.lat BETWEEN {lat_lo} AND {lat_hi} AND n.lng BETWEEN {lng_lo} AND {lng_hi}
    AND d.sq <= {sq_max}",
            lat_lo = lat - dlat,
            lat_hi = lat + dlat,
            lng_lo = lng - dlng,
            lng_hi = lng + dlng,
            sq_max = km * km,
        )
    };
    format!(
        "WITH ring AS ({ring}
  ORDER BY d.sq, n.id LIMIT 20),
page AS (SELECT * FROM ring WHERE (SELECT COUNT(*) FROM ring) >= 20
  UNION ALL
  ({whole} AND (SELECT COUNT(*) FROM ring) < 20
  ORDER BY d.sq, n.id LIMIT 20))
SELECT p.id, p.title, o.name, p.sq FROM page p JOIN organisations o ON o.id = p.organisation_id ORDER BY p.sq, p.id;
",
        ring = within(1.0),
        whole = within(10.0),
    )
}

#[derive(FromQueryResult)]
struct OrgOwner {
    organisation_id: Uuid,
    user_id: Uuid,
}

#[derive(FromQueryResult)]
struct Cell {
    lat: f64,
    lng: f64,
    n: i64,
}

async fn rows<T: FromQueryResult>(db: &DatabaseConnection, sql: &str) -> Result<Vec<T>, String> {
    T::find_by_statement(Statement::from_string(db.get_database_backend(), sql.to_owned()))
        .all(db)
        .await
        .map_err(|e| e.to_string())
}

/// The dense point: the centre of the 0.1° cell with the most open needs. The sparse one: among cells more than
/// 100 km from it, the one with the fewest open needs (at least one), ties broken by place.
async fn points(db: &DatabaseConnection) -> Result<(Coordinates, Coordinates), String> {
    let cells: Vec<Cell> = rows(
        db,
        "SELECT AVG(lat) AS lat, AVG(lng) AS lng, COUNT(*) AS n FROM needs
         WHERE status = 'OPEN' AND lat IS NOT NULL
         GROUP BY ROUND(CAST(lat AS numeric), 1), ROUND(CAST(lng AS numeric), 1)",
    )
    .await?;
    let coordinates = |c: &Cell| Coordinates::new("bench", c.lat, c.lng).map_err(|e| format!("{e:?}"));
    let dense = cells.iter().max_by_key(|c| c.n).ok_or("no open needs with a place")?;
    let dense = coordinates(dense)?;
    let mut far: Vec<&Cell> = cells
        .iter()
        .filter(|c| Coordinates::new("bench", c.lat, c.lng).is_ok_and(|p| p.distance_km(&dense) > 100.0))
        .collect();
    far.sort_by(|a, b| a.n.cmp(&b.n).then(a.lat.total_cmp(&b.lat)).then(a.lng.total_cmp(&b.lng)));
    let sparse = far.get(far.len() / 10).ok_or("no sparse area found")?;
    Ok((dense, coordinates(sparse)?))
}

/// Runs pgbench on one script; returns (transactions a second, p50 ms, p99 ms).
fn pgbench(
    database_url: &str,
    script: &str,
    dir: &Path,
    name: &str,
    options: &ReadBenchOptions,
) -> Result<(f64, f64, f64, f64), String> {
    let file = dir.join(format!("{name}.sql"));
    std::fs::write(&file, script).map_err(|e| e.to_string())?;
    let prefix = dir.join(name);
    let output = std::process::Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-j", "2", "-l"])
        .arg(format!("--log-prefix={}", prefix.display()))
        .args(["-c", &options.connections.to_string(), "-T", &options.seconds.to_string()])
        .arg("-f")
        .arg(&file)
        .arg(database_url)
        .output()
        .map_err(|e| format!("cannot run pgbench (is it installed?): {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("pgbench failed on {name}: {}{}", stdout, String::from_utf8_lossy(&output.stderr)));
    }
    let tps = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("tps = ").and_then(|rest| rest.split_whitespace().next()))
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| format!("no tps in pgbench's output: {stdout}"))?;
    let processed = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("number of transactions actually processed: "))
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse::<f64>().ok())
        .ok_or_else(|| format!("no transaction count in pgbench's output: {stdout}"))?;
    // Per-transaction logs: the third field is the latency in microseconds.
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let is_log = path
            .file_name()
            .and_then(|f| f.to_str())
            .is_some_and(|f| f.starts_with(&format!("{name}.")) && !f.ends_with(".sql"));
        if is_log {
            let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
            latencies.extend(text.lines().filter_map(|l| l.split_whitespace().nth(2)?.parse::<f64>().ok()));
            let _ = std::fs::remove_file(&path);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let q = |q: f64| {
        latencies.get(((latencies.len().max(1) - 1) as f64 * q).round() as usize).map_or(f64::NAN, |us| us / 1000.0)
    };
    Ok((tps, q(0.5), q(0.99), processed))
}

pub async fn run(
    settings: &Settings,
    pitchin: &std::path::Path,
    options: ReadBenchOptions,
) -> Result<ReadReport, String> {
    if !settings.database_url.starts_with("postgres") {
        return Err("`reads` measures against PostgreSQL's own floor: set DATABASE_URL to a postgres:// URL".into());
    }
    let db = crate::matching::prepared_database(settings).await?;
    // VACUUM as well: a freshly loaded table has no visibility map yet, so index-only scans still visit the heap
    // and the first readers pay to set hint bits; measured right after seeding, the floor came out 30% lower.
    db.execute_unprepared("VACUUM ANALYZE").await.map_err(|e| e.to_string())?;

    // Q2's organisations: the 20 with the most needs, as their owners.
    let owners: Vec<OrgOwner> = rows(
        &db,
        "SELECT m.organisation_id, m.user_id FROM memberships m
         JOIN (SELECT organisation_id, COUNT(*) AS n FROM needs GROUP BY organisation_id ORDER BY n DESC, organisation_id LIMIT 20) big
           ON big.organisation_id = m.organisation_id
         WHERE m.role = 'OWNER' ORDER BY big.n DESC, m.organisation_id",
    )
    .await?;
    if owners.is_empty() {
        return Err("no organisations with needs to benchmark with".into());
    }
    let (dense, sparse) = points(&db).await?;
    eprintln!(
        "Q3 points: dense ({:.4}, {:.4}), sparse ({:.4}, {:.4})",
        dense.lat(),
        dense.lng(),
        sparse.lat(),
        sparse.lng()
    );

    let (server, client, keys) = crate::matching::start_server(settings, pitchin).await?;

    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let n = options.single.max(20);
    let dashboard: Vec<Request> = (0..n.max(200))
        .map(|_| {
            let o = owners.choose(&mut rng).ok_or("no owners")?;
            let token = keys
                .issue(&AuthUser { id: o.user_id, role: PlatformRole::Member })
                .map_err(|e| format!("{e:?}"))?
                .token;
            Ok((token, Q2.to_owned(), json!({ "id": encode(NodeKind::Organisation, o.organisation_id) })))
        })
        .collect::<Result<_, String>>()?;
    let near = |p: &Coordinates| -> Vec<Request> {
        vec![(String::new(), Q3.to_owned(), json!({ "lat": p.lat(), "lng": p.lng() }))]
    };
    let org_ids: Vec<Uuid> = owners.iter().map(|o| o.organisation_id).collect();
    let workloads: Vec<(&str, String, Vec<Request>)> = vec![
        ("Q1 listing", Q1_SQL.to_owned(), vec![(String::new(), Q1.to_owned(), json!({}))]),
        ("Q2 dashboard", q2_sql(&org_ids), dashboard),
        ("Q3 near me, dense city", q3_sql(&dense), near(&dense)),
        ("Q3 near me, rural", q3_sql(&sparse), near(&sparse)),
    ];

    let dir = std::env::temp_dir().join(format!("pitchin-bench-reads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut report = Vec::new();
    let round_count = options.rounds.max(1);
    let setup = RoundSetup { settings, options: &options, server: &server, client: &client, dir: &dir, n };
    for (i, (name, sql, requests)) in workloads.into_iter().enumerate() {
        if options.only.as_deref().is_some_and(|only| !name.starts_with(only)) {
            continue;
        }
        let requests = Arc::new(requests);
        let mut rounds = Vec::with_capacity(round_count);
        for round in 1..=round_count {
            eprintln!("{name}: round {round} of {round_count}");
            rounds.push(setup.round(name, &format!("q{i}"), &sql, &requests).await?);
        }
        report.push(ReadRow::median_of(name, &rounds));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(ReadReport {
        rows: report,
        connections: options.connections,
        seconds: options.seconds,
        rounds: round_count,
        memory: server.memory(),
    })
}

/// What every round measures with: the settings, the options, the running server and the load client.
struct RoundSetup<'a> {
    settings: &'a Settings,
    options: &'a ReadBenchOptions,
    server: &'a crate::matching::Server,
    client: &'a crate::matching::Client,
    dir: &'a Path,
    /// Requests for the one-connection median.
    n: usize,
}

impl RoundSetup<'_> {
    /// One round of one query: the floor, then the API one request at a time, then under load.
    async fn round(&self, name: &str, file: &str, sql: &str, requests: &Arc<Vec<Request>>) -> Result<ReadRow, String> {
        let (settings, options, server, client, n) = (self.settings, self.options, self.server, self.client, self.n);
        let (floor_rate, floor_p50, floor_p99, floor_cpu_ms) = if options.no_floor {
            (f64::NAN, f64::NAN, f64::NAN, (f64::NAN, f64::NAN))
        } else {
            eprintln!("{name}: floor (pgbench, {} connections, {} s)", options.connections, options.seconds);
            let (url, sql, sql_dir, opts) =
                (settings.database_url.clone(), sql.to_owned(), self.dir.to_owned(), options.clone());
            let file = file.to_owned();
            let before = CpuSnapshot::take();
            let (rate, p50, p99, processed) =
                tokio::task::spawn_blocking(move || pgbench(&url, &sql, &sql_dir, &file, &opts))
                    .await
                    .map_err(|e| e.to_string())??;
            // pgbench's backends exit as it disconnects; once reaped, their time is in the postmaster's children
            // total. A backend reaped between reading the postmaster and reading it would count nowhere.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let used = before.until_now(processed);
            // pgbench is a child process that has been waited for: its time is in our children's total.
            (rate, p50, p99, (used.postgres, used.children))
        };
        eprintln!("{name}: the API, one connection, then {} connections", options.connections);
        let single: Vec<_> = requests.iter().cycle().take(n + n / 10).cloned().collect();
        let one = measure(client, name, &single, n / 10).await;
        let started = Instant::now();
        let cpu_before = server.cpu_seconds();
        let before = CpuSnapshot::take();
        let loaded =
            sustain(&client.url, requests.clone(), options.connections, Duration::from_secs(options.seconds)).await;
        let api_rate = loaded.samples.len() as f64 / started.elapsed().as_secs_f64();
        let used = before.until_now(loaded.samples.len() as f64);
        let server_cpu_ms = match (cpu_before, server.cpu_seconds()) {
            (Some(before), Some(after)) => 1000.0 * (after - before) / loaded.samples.len().max(1) as f64,
            _ => f64::NAN,
        };
        Ok(ReadRow {
            name: name.to_owned(),
            floor_rate,
            floor_p50,
            floor_p99,
            api_rate,
            api_p50: loaded.quantile(0.5),
            api_p99: loaded.quantile(0.99),
            api_errors: loaded.errors + one.errors,
            single_p50: one.quantile(0.5),
            server_cpu_ms,
            floor_cpu_ms,
            api_cpu_ms: (used.postgres, used.own),
            ratios: vec![api_rate / floor_rate],
        })
    }
}

/// CPU seconds used so far by PostgreSQL, by this process, and by this process's waited-for children.
pub(crate) struct CpuSnapshot {
    postgres: Option<f64>,
    own: Option<f64>,
    children: Option<f64>,
}

/// CPU milliseconds per request (or transaction) between a snapshot and now; NaN where not readable.
pub(crate) struct CpuUsed {
    pub(crate) postgres: f64,
    pub(crate) own: f64,
    pub(crate) children: f64,
}

impl CpuSnapshot {
    pub(crate) fn take() -> Self {
        let me = ProcStat::read("self");
        Self {
            postgres: ProcStat::postgres_seconds(),
            own: me.as_ref().map(|s| s.own),
            children: me.as_ref().map(|s| s.children),
        }
    }

    pub(crate) fn until_now(&self, requests: f64) -> CpuUsed {
        let now = Self::take();
        let per_request = |before: Option<f64>, after: Option<f64>| match (before, after) {
            (Some(b), Some(a)) if requests > 0.0 => 1000.0 * (a - b) / requests,
            _ => f64::NAN,
        };
        CpuUsed {
            postgres: per_request(self.postgres, now.postgres),
            own: per_request(self.own, now.own),
            children: per_request(self.children, now.children),
        }
    }
}

/// The table.
pub fn report(report: &ReadReport) -> String {
    let mut out = format!(
        "{} connections, {} s each, medians of {} rounds (each the floor, then the API); rates in requests (or transactions) a second, latencies in ms; ratio: the median of the rounds' ratios (each round's in the last column); server CPU: the API server's CPU time per request under load\n",
        report.connections, report.seconds, report.rounds
    );
    let _ = writeln!(
        out,
        "{:<24} {:>9} {:>7} {:>7} | {:>8} {:>7} {:>7} {:>7} | {:>9} {:>6} | {:>11} | rounds",
        "query", "floor/s", "p50", "p99", "API/s", "p50", "p99", "ratio", "1-conn p50", "errors", "server CPU"
    );
    for r in &report.rows {
        let _ = writeln!(
            out,
            "{:<24} {:>9.0} {:>7.2} {:>7.2} | {:>8.0} {:>7.2} {:>7.2} {:>6.0}% | {:>9.2} {:>6} | {:>8.3} ms | {}",
            r.name,
            r.floor_rate,
            r.floor_p50,
            r.floor_p99,
            r.api_rate,
            r.api_p50,
            r.api_p99,
            100.0 * r.ratio(),
            r.single_p50,
            r.api_errors,
            r.server_cpu_ms,
            r.ratios.iter().map(|x| format!("{:.0}%", 100.0 * x)).collect::<Vec<_>>().join(" ")
        );
    }
    let _ = writeln!(
        out,
        "\nCPU per request (or transaction), ms: the floor's PostgreSQL and pgbench; the API's server, PostgreSQL and load client"
    );
    let _ = writeln!(
        out,
        "{:<24} {:>9} {:>9} | {:>9} {:>9} {:>9}",
        "query", "floor PG", "pgbench", "server", "API PG", "client"
    );
    for r in &report.rows {
        let _ = writeln!(
            out,
            "{:<24} {:>9.3} {:>9.3} | {:>9.3} {:>9.3} {:>9.3}",
            r.name, r.floor_cpu_ms.0, r.floor_cpu_ms.1, r.server_cpu_ms, r.api_cpu_ms.0, r.api_cpu_ms.1
        );
    }
    if let Some((peak, now)) = report.memory {
        let _ = writeln!(out, "server resident memory: peak {peak:.0} MB, at the end {now:.0} MB");
    }
    out
}
