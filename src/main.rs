//! The `pitchin` command: parses the command line and calls into `api`.
use api::Settings;
use api::synthetic::SyntheticSpec;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "pitchin", version, about = "Pitch In: matching local needs with the people who can meet them")]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server (the default). Applies pending migrations first.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load data into an empty database.
    Seed(SeedArgs),
    /// Print the GraphQL schema (SDL), as checked in to schema.graphql.
    Schema,
    /// Measure the matching queries end to end over HTTP (loads synthetic data into an empty database).
    Bench {
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
}

#[derive(Args)]
struct SeedArgs {
    /// The demo data set: real places, fictional people.
    #[arg(long, conflicts_with = "synthetic")]
    demo: bool,
    /// A reproducible city-scale synthetic data set; every account's password is `synthetic-password-1`.
    #[arg(long)]
    synthetic: bool,
    /// Synthetic volunteers, each with an account and a profile.
    #[arg(long, requires = "synthetic", conflicts_with = "demo", default_value_t = SyntheticSpec::DEFAULT.volunteers)]
    volunteers: usize,
    /// Synthetic OPEN needs; about 6% more FILLED, CLOSED and DRAFT needs are added on top.
    #[arg(long, requires = "synthetic", conflicts_with = "demo", default_value_t = SyntheticSpec::DEFAULT.needs)]
    needs: usize,
    /// Synthetic organisations, each with an owner.
    #[arg(long, requires = "synthetic", conflicts_with = "demo", default_value_t = SyntheticSpec::DEFAULT.organisations)]
    organisations: usize,
    /// Synthetic applications: distinct (need, volunteer) pairs.
    #[arg(long, requires = "synthetic", conflicts_with = "demo", default_value_t = SyntheticSpec::DEFAULT.applications)]
    applications: usize,
    /// The random seed: the same seed gives the same data.
    #[arg(long, requires = "synthetic", conflicts_with = "demo", default_value_t = SyntheticSpec::DEFAULT.seed)]
    seed: u64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Schema) = cli.command {
        print!("{}", api::graphql::sdl());
        return std::process::ExitCode::SUCCESS;
    }
    api::telemetry::init(cli.settings.log_format());
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => api::serve(cli.settings).await,
        Command::Migrate => migrate(&cli.settings).await,
        Command::Seed(args) => seed(&cli.settings, args).await,
        Command::Schema => Ok(()),
        Command::Bench { requests, seed, load_seconds, connections } => {
            let options = api::bench::BenchOptions { requests, seed, load_seconds, connections };
            bench(&cli.settings, options).await
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("pitchin: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn migrate(settings: &Settings) -> Result<(), String> {
    let db = api::connect(settings).await.map_err(|e| format!("cannot connect to the database: {e}"))?;
    api::migrate(&db).await.map_err(|e| format!("migrations failed: {e}"))?;
    println!("migrations applied");
    Ok(())
}

async fn seed(settings: &Settings, args: SeedArgs) -> Result<(), String> {
    if !args.demo && !args.synthetic {
        return Err("say which data set to load: --demo or --synthetic".into());
    }
    let which = if args.demo { "demo" } else { "synthetic" };
    let db = api::connect(settings).await.map_err(|e| format!("cannot connect to the database: {e}"))?;
    api::migrate(&db).await.map_err(|e| format!("migrations failed: {e}"))?;
    if !api::seed::is_empty(&db).await.map_err(|e| format!("{e:?}"))? {
        return Err(format!("the database already has data; the {which} data goes into an empty database"));
    }
    if args.demo {
        api::seed::demo(&db).await.map_err(|e| format!("demo data failed: {e:?}"))?;
        println!("demo data loaded");
        return Ok(());
    }
    let spec = SyntheticSpec {
        volunteers: args.volunteers,
        needs: args.needs,
        organisations: args.organisations,
        applications: args.applications,
        seed: args.seed,
    };
    let s = api::synthetic::generate(&db, &spec).await.map_err(|e| match e {
        api::error::AppError::Internal(cause) => format!("synthetic data failed: {cause}"),
        other => format!("synthetic data refused: {}", other.public_message()),
    })?;
    println!(
        "synthetic data loaded in {:.1} s (seed {}): {} users, {} organisations, {} memberships, {} volunteers, \
         {} needs ({} open), {} need skills, {} applications ({} accepted), {} offers",
        s.elapsed.as_secs_f64(),
        spec.seed,
        s.users,
        s.organisations,
        s.memberships,
        s.volunteers,
        s.needs,
        s.open_needs,
        s.need_skills,
        s.applications,
        s.accepted_applications,
        s.offers
    );
    Ok(())
}

async fn bench(settings: &Settings, options: api::bench::BenchOptions) -> Result<(), String> {
    let report = api::bench::run(settings, options).await?;
    print!("{}", api::bench::report(&report));
    Ok(())
}
