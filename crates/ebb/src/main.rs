//! The `ebb` binary: `ebb serve` runs the service; every other subcommand is a client of
//! its HTTP API.
//!
//! Exit codes: 0 on success, 1 when the API answered with an error, 2 when the command
//! could not run (bad arguments, unreadable files, unreachable server).

mod cli;
mod config;
mod demo;
mod demo_app;
mod plot;
mod serve;
mod simulate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Ebb, an autoscaler: the Auto Scale API v1.0 on a durable store.
#[derive(Debug, Parser)]
#[command(name = "ebb", version, about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service.
    Serve(serve::ServeArgs),
    /// Run a demo HTTP service whose response time grows with load (a workload to scale).
    DemoApp(demo_app::DemoArgs),
    /// Replay a request-rate trace through a policy on a virtual clock and score its decisions.
    Simulate(simulate::SimulateArgs),
    #[command(flatten)]
    Client(cli::ClientCommand),
}

/// mimalloc instead of the C library's allocator: a request allocates and frees many small
/// values on one thread and the next on another, which glibc's allocator serves slowly
/// (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    match args.command {
        Command::Serve(serve_args) => match runtime.block_on(serve::run(serve_args)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::from(2)
            }
        },
        Command::DemoApp(demo_args) => match runtime.block_on(demo_app::run(demo_args)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::from(2)
            }
        },
        Command::Simulate(simulate_args) => simulate::run(simulate_args, &runtime),
        Command::Client(command) => runtime.block_on(cli::run(command)),
    }
}
