//! `pitchin-bench`: Pitch In's benchmarks, outside the server binary. Each starts `pitchin serve` as a child process
//! (found beside this executable, or given with `--server`) on the database in `DATABASE_URL`, loading the default
//! synthetic data set into an empty one first. How to read the figures: `docs/performance.md`.
mod capacity;
mod matching;
mod notifications;
mod partners;
mod reads;
mod servers;

use std::path::PathBuf;

use api::Settings;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "pitchin-bench", about = "Pitch In's benchmarks, over HTTP against a `pitchin serve` child process")]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    /// The `pitchin` binary to measure (default: the one beside this executable, e.g. target/release/pitchin).
    #[arg(long, global = true)]
    server: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The matching queries end to end over HTTP, one at a time, and optionally under sustained load.
    Matching {
        /// Measured requests per query.
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// Seed for sampling needs and volunteers.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// After the one-at-a-time measurements, hold a mixed load for this many seconds (0: skip).
        #[arg(long, default_value_t = 0)]
        load_seconds: u64,
        /// Concurrent connections for the sustained load.
        #[arg(long, default_value_t = 32)]
        connections: usize,
    },
    /// What partners call: the widget uncached and revalidated (304), the needs feed walked end to end, beside
    /// the GraphQL Q1 listing, all at the same concurrency.
    Partners {
        /// Seconds each load lasts.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
    },
    /// The read workload (listing, dashboard, near me) over HTTP beside PostgreSQL's own floor (pgbench, prepared),
    /// at the same concurrency. Needs PostgreSQL.
    Reads {
        /// Seconds each measurement under load lasts.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// Concurrent connections, for pgbench and the API alike.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Requests for the one-connection medians.
        #[arg(long, default_value_t = 300)]
        single: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Only the queries whose names start with this: Q1, Q2, Q3 (for profiling).
        #[arg(long)]
        only: Option<String>,
        /// Skip the pgbench floor (for profiling the API alone).
        #[arg(long)]
        no_floor: bool,
        /// How many times each query is measured, floor then API; the table shows the medians.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
        rounds: u16,
    },
    /// CPU per request by kind (public listing, matching, a write, registration), for the capacity plan
    /// (`docs/capacity.md`).
    Capacity {
        /// Seconds each kind is held under load.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// Concurrent connections for the listing, matching and the write.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Concurrent connections for registrations.
        #[arg(long, default_value_t = 8)]
        registration_connections: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Three servers on one PostgreSQL (and one Redis with PITCHIN_REDIS_URL): a mixed load with live subscribers,
    /// publication-to-delivery latency, fan-out, and one user's shared rate limit.
    Servers {
        /// Seconds of mixed load, with needs published meanwhile.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// Keep-alive connections for the mixed load, spread over the servers.
        #[arg(long, default_value_t = 30)]
        connections: usize,
        /// Live connections, each subscribed to needPublished, spread over the servers.
        #[arg(long, default_value_t = 1000)]
        subscribers: usize,
        /// Needs published during the load.
        #[arg(long, default_value_t = 40)]
        publications: usize,
        /// Each user's requests a minute, counted across the servers in Redis.
        #[arg(long, default_value_t = 600)]
        per_user_limit: u32,
    },
    /// The notification sweeps on the synthetic city, in this process: the next 24 hours' session reminders and
    /// the weekly digest for every volunteer, timed with their SQL statements counted. No server.
    Notifications {
        /// Rounds of each sweep; the table shows the medians.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    api::telemetry::init(cli.settings.log_format());
    // The load client's reqwest is built without a TLS provider of its own: ring, as the server uses.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match run(cli).await {
        Ok(report) => {
            print!("{report}");
            std::process::ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("pitchin-bench: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<String, String> {
    let given = cli.server.clone();
    // The server binary, for the benchmarks that start one.
    let server = move || -> Result<PathBuf, String> {
        let pitchin = match given.clone() {
            Some(path) => path,
            None => std::env::current_exe()
                .map_err(|e| format!("cannot find this executable: {e}"))?
                .with_file_name(format!("pitchin{}", std::env::consts::EXE_SUFFIX)),
        };
        if !pitchin.is_file() {
            return Err(format!(
                "no server binary at {}: build it with `cargo build --release -p pitchin`, or pass --server PATH",
                pitchin.display()
            ));
        }
        Ok(pitchin)
    };
    match cli.command {
        Command::Matching { requests, seed, load_seconds, connections } => {
            let options = matching::BenchOptions { requests, seed, load_seconds, connections };
            Ok(matching::report(&matching::run(&cli.settings, &server()?, options).await?))
        }
        Command::Partners { seconds, connections } => {
            let options = partners::PartnerBenchOptions { seconds, connections };
            Ok(partners::report(&partners::run(&cli.settings, &server()?, options).await?))
        }
        Command::Reads { seconds, connections, single, seed, only, no_floor, rounds } => {
            let options =
                reads::ReadBenchOptions { seconds, connections, single, seed, only, no_floor, rounds: rounds.into() };
            Ok(reads::report(&reads::run(&cli.settings, &server()?, options).await?))
        }
        Command::Capacity { seconds, connections, registration_connections, seed } => {
            let options = capacity::CapacityOptions { seconds, connections, registration_connections, seed };
            Ok(capacity::report(&capacity::run(&cli.settings, &server()?, options).await?))
        }
        Command::Servers { seconds, connections, subscribers, publications, per_user_limit } => {
            let options = servers::ServersOptions { seconds, connections, subscribers, publications, per_user_limit };
            Ok(servers::report(&servers::run(&cli.settings, &server()?, options).await?))
        }
        Command::Notifications { rounds } => {
            let options = notifications::NotificationBenchOptions { rounds };
            Ok(notifications::report(&notifications::run(&cli.settings, options).await?))
        }
    }
}
