//! The `pitchin` command: parses the command line and calls into `api`.
use api::Settings;
use clap::{Parser, Subcommand};

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
    /// Load data into the database.
    Seed {
        /// The demo data set: real places, fictional people.
        #[arg(long)]
        demo: bool,
    },
    /// Print the GraphQL schema (SDL), as checked in to schema.graphql.
    Schema,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Schema) = cli.command {
        print!("{}", api::graphql::sdl());
        return std::process::ExitCode::SUCCESS;
    }
    api::telemetry::init(cli.settings.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => api::serve(cli.settings).await,
        Command::Migrate => migrate(&cli.settings).await,
        Command::Seed { demo } => seed(&cli.settings, demo).await,
        Command::Schema => Ok(()),
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

async fn seed(settings: &Settings, demo: bool) -> Result<(), String> {
    if !demo {
        return Err("say which data set to load: --demo".into());
    }
    let db = api::connect(settings).await.map_err(|e| format!("cannot connect to the database: {e}"))?;
    api::migrate(&db).await.map_err(|e| format!("migrations failed: {e}"))?;
    if !api::seed::is_empty(&db).await.map_err(|e| format!("{e:?}"))? {
        return Err("the database already has data; the demo data goes into an empty database".into());
    }
    api::seed::demo(&db).await.map_err(|e| format!("demo data failed: {e:?}"))?;
    println!("demo data loaded");
    Ok(())
}
