//! The `townsquare` binary: `serve` (default), `migrate`, `export-schema`, `seed-demo`.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use townsquare::{
    config::Settings,
    graphql, seed,
    startup::{self, Application},
    telemetry,
};

/// townsquare: GraphQL server for a social app. Configured by environment variables and an
/// optional `.env` file; see the README for every variable.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the schema in SDL (what schema.graphql holds).
    ExportSchema,
    /// Fill an empty database with demo users, posts, likes and comments.
    SeedDemo,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::ExportSchema = command {
        print!("{}", graphql::sdl());
        return ExitCode::SUCCESS;
    }
    // `.env` is read before the runtime starts: it sets process variables, which is only
    // sound while no other thread exists.
    if let Err(error) = dotenvy::dotenv()
        && !error.not_found()
    {
        eprintln!("error: could not read .env: {error}");
        return ExitCode::from(2);
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init_logging(settings.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, mut settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = Application::build(settings).await?;
            app.run_until_stopped(startup::shutdown_signal()).await
        }
        Command::Migrate => {
            settings.seed_demo = false;
            startup::build_state(settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::SeedDemo => {
            settings.seed_demo = false;
            let state = startup::build_state(settings).await?;
            let seeded = seed::seed_demo(&state.db).await.context("could not seed demo data")?;
            println!("{}", if seeded { "demo data created" } else { "the database already has users: nothing seeded" });
            Ok(())
        }
        Command::ExportSchema => unreachable!("handled before settings are read"),
    }
}
