//! The `pitchin` command: parses the command line and calls into `api` (and `fixtures`, for the data sets).
use api::Settings;
use clap::{Args, Parser, Subcommand};
use fixtures::SyntheticSpec;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Platform admin accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Partner API keys (sent as the X-Api-Key header).
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Load reference data from files.
    #[command(subcommand)]
    Import(ImportCommand),
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Council wards from a CSV file (columns in the README): all of them, or none with every bad line reported.
    Wards { file: std::path::PathBuf },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a platform admin account (the first one, or another). Prints a generated password unless
    /// PITCHIN_ADMIN_PASSWORD is set.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Platform admin")]
        display_name: String,
        /// The password; read from the environment so it stays out of shell history.
        #[arg(long = "password-from-env", env = "PITCHIN_ADMIN_PASSWORD", hide_env_values = true, hide = true)]
        password: Option<String>,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Issue a key. It is printed once: Pitch In keeps only its hash.
    Issue {
        /// Who the key is for.
        #[arg(long)]
        name: String,
        /// read-public-listings or read-organisation-matches; repeat for several.
        #[arg(long = "scope", required = true, value_parser = api::admin::parse_scope)]
        scopes: Vec<domain::api_keys::ApiKeyScope>,
        /// The organisation (id or slug) whose matches the key may read, with read-organisation-matches.
        #[arg(long)]
        organisation: Option<String>,
        /// Requests a minute (default 600).
        #[arg(long)]
        rate_per_minute: Option<i32>,
    },
    /// Revoke a key, by its id or its prefix.
    Revoke { key: String },
    /// List every key (never the keys themselves).
    List,
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
        print!("{}", api::schema::sdl());
        return std::process::ExitCode::SUCCESS;
    }
    let telemetry = api::telemetry::init(cli.settings.log_format());
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.settings).await,
        Command::Migrate => migrate(&cli.settings).await,
        Command::Seed(args) => seed(&cli.settings, args).await,
        Command::Schema => Ok(()),
        Command::Admin(command) => admin(&cli.settings, command).await,
        Command::ApiKey(command) => api_key(&cli.settings, command).await,
        Command::Import(command) => import(&cli.settings, command).await,
    };
    telemetry.shutdown();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("pitchin: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Serves, after loading the demo data into an empty embedded database in development mode: demo accounts have a
/// published password, so they never go into a production database by surprise.
async fn serve(settings: Settings) -> Result<(), String> {
    // The secret is checked before the database is touched: a server that will refuse to start must not migrate a
    // production database or load demo data first.
    let keys = api::auth::token::TokenKeys::from_settings(&settings)?;
    if let Some(secret) = &settings.payment_webhook_secret {
        domain::webhooks::signing::check_secret(secret)
            .map_err(|why| format!("PITCHIN_PAYMENT_WEBHOOK_SECRET {why}"))?;
    }
    let db = database(&settings).await?;
    let development = settings.environment == api::config::Environment::Development;
    if development && settings.is_sqlite() && fixtures::is_empty(&db).await.map_err(|e| format!("{e:?}"))? {
        tracing::info!("empty embedded database: loading the demo data");
        fixtures::demo(&db).await.map_err(|e| format!("demo data failed: {e:?}"))?;
    }
    api::serve(settings, std::sync::Arc::new(keys), db).await
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
    if !fixtures::is_empty(&db).await.map_err(|e| format!("{e:?}"))? {
        return Err(format!("the database already has data; the {which} data goes into an empty database"));
    }
    if args.demo {
        fixtures::demo(&db).await.map_err(|e| format!("demo data failed: {e:?}"))?;
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
    let s = fixtures::generate(&db, &spec).await.map_err(|e| match e {
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

/// Connects and migrates, for the commands that change data.
async fn database(settings: &Settings) -> Result<sea_orm::DatabaseConnection, String> {
    let db = api::connect(settings).await.map_err(|e| format!("cannot connect to the database: {e}"))?;
    api::migrate(&db).await.map_err(|e| format!("migrations failed: {e}"))?;
    Ok(db)
}

fn refused(err: api::error::AppError) -> String {
    match err {
        api::error::AppError::Internal(cause) => format!("failed: {cause}"),
        other => other.public_message(),
    }
}

async fn admin(settings: &Settings, command: AdminCommand) -> Result<(), String> {
    let AdminCommand::Create { email, display_name, password } = command;
    let db = database(settings).await?;
    let (user, generated) = api::admin::create_admin(&db, &email, &display_name, password).await.map_err(refused)?;
    println!(
        "platform admin created: {} ({})",
        user.email,
        api::kit::ids::encode(api::kit::ids::NodeKind::User, user.id).0
    );
    if let Some(password) = generated {
        println!("password (shown once; change it after signing in): {password}");
    }
    Ok(())
}

async fn import(settings: &Settings, command: ImportCommand) -> Result<(), String> {
    let ImportCommand::Wards { file } = command;
    let bytes = std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let db = database(settings).await?;
    match domain::wards::import::import_csv(&db, &bytes).await.map_err(refused)? {
        Ok(done) => {
            println!("wards imported from {}: {} new, {} updated", file.display(), done.created, done.updated);
            Ok(())
        }
        Err(lines) => {
            for line in &lines {
                eprintln!("{}: {line}", file.display());
            }
            Err(format!("nothing imported: {} problem(s) in {}", lines.len(), file.display()))
        }
    }
}

async fn api_key(settings: &Settings, command: ApiKeyCommand) -> Result<(), String> {
    use api::kit::ids::{NodeKind, encode};
    let db = database(settings).await?;
    let show = |k: &entity::api_key::Model| {
        format!(
            "{}  {}  {}  scopes={}  rate={}/min  last-used={}  {}",
            encode(NodeKind::ApiKey, k.id).0,
            k.key_prefix,
            k.name,
            k.scopes,
            k.rate_limit_per_minute,
            k.last_used_at.map_or_else(|| "never".to_owned(), |t| t.to_rfc3339()),
            k.revoked_at.map_or_else(|| "live".to_owned(), |t| format!("revoked {}", t.to_rfc3339())),
        )
    };
    match command {
        ApiKeyCommand::Issue { name, scopes, organisation, rate_per_minute } => {
            let (model, key) = api::admin::issue_key(&db, &name, scopes, organisation.as_deref(), rate_per_minute)
                .await
                .map_err(refused)?;
            println!("{}", show(&model));
            println!("key (shown once; send it as the X-Api-Key header): {key}");
        }
        ApiKeyCommand::Revoke { key } => {
            let model = api::admin::revoke_key(&db, &key).await.map_err(refused)?;
            println!("{}", show(&model));
        }
        ApiKeyCommand::List => {
            for k in api::api_keys::service::list(&db).await.map_err(refused)? {
                println!("{}", show(&k));
            }
        }
    }
    Ok(())
}
