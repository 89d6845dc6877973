//! The billing server and its operator tools. `server` (or `server serve`) starts the
//! web server; the other subcommands are for operators and tests.

mod cli;
mod config;
mod csrf;
mod export;
mod jobs;
mod language;
mod payments;
mod routes;
mod rpc_status;
mod sandbox;
mod usage_api;

use clap::Parser;
use std::process::ExitCode;

// A page's render allocates and frees many small strings and boxed views across the
// runtime's threads; under load glibc's malloc took about a fifth of the server's CPU
// (perf, docs/benchmarks.md "Pages under load"). mimalloc's per-thread free lists suit it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn".into()),
        )
        .init();
    let cli = cli::Cli::parse();
    match cli::run(cli, config::Config::from_env()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
