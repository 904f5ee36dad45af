//! The CLI client: one subcommand per API resource and verb.
//!
//! Output is a table by default, the API's JSON with `-o json`, or one value of it with
//! `--get POINTER`. An API error is printed on standard error as one line
//! (`error: 404 NoSuchScalingGroupError: ...`), or as the API's JSON error with `-o json`,
//! and exits with 1; a command that cannot run exits with 2.

pub(crate) mod autoscaling;
mod client;
mod cloud;
mod collectors;
mod commands;
pub mod input;
mod output;

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

pub use client::Client;
use commands::{
    GroupCommand, MemberCommand, PolicyCommand, ScheduleCommand, TenantCommand, TokenCommand, WebhookCommand,
};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable tables.
    Table,
    /// The API's JSON, for scripts.
    Json,
}

/// Connection flags shared by every client command.
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// Base URL of the Ebb server.
    #[arg(long, env = "EBB_URL", default_value = "http://127.0.0.1:9000", global = true)]
    pub url: String,
    /// API token (a tenant token, or the operator token).
    #[arg(long, env = "EBB_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Tenant whose resources to act on.
    #[arg(long, env = "EBB_TENANT", global = true)]
    pub tenant: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table", global = true)]
    pub output: Output,
    /// Print only the value at this JSON pointer of the answer, such as /group/id (strings
    /// without quotes), for scripts.
    #[arg(long, global = true, value_name = "POINTER")]
    pub get: Option<String>,
}

/// The client subcommands.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Manage tenants (operator token).
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
        #[command(flatten)]
        connection: Connection,
    },
    /// Manage tenant tokens (operator token).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
        #[command(flatten)]
        connection: Connection,
    },
    /// Manage scaling groups.
    Group {
        #[command(subcommand)]
        command: GroupCommand,
        #[command(flatten)]
        connection: Connection,
    },
    /// See a group's members and their logs.
    Member {
        #[command(subcommand)]
        command: MemberCommand,
        #[command(flatten)]
        connection: Connection,
    },
    /// Manage scaling policies.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
        #[command(flatten)]
        connection: Connection,
    },
    /// Manage collectors: pulled signals (HTTP probes, queues, queries, load balancers).
    Collector {
        #[command(subcommand)]
        command: collectors::CollectorCommand,
        #[command(flatten)]
        connection: Connection,
    },
    /// See schedule policies and when they fire next.
    Schedule {
        #[command(subcommand)]
        command: ScheduleCommand,
        #[command(flatten)]
        connection: Connection,
    },
    /// Manage webhooks and their capability URLs.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
        #[command(flatten)]
        connection: Connection,
    },
    /// A group's Cloud Foundry policy (bounds, windows and metric rules).
    #[command(name = "autoscaling-policy")]
    AutoscalingPolicy {
        #[command(subcommand)]
        command: autoscaling::PolicyVerb,
        #[command(flatten)]
        connection: Connection,
    },
    /// A group's metric credential (HTTP Basic for custom metrics).
    Credential {
        #[command(subcommand)]
        command: autoscaling::CredentialVerb,
        #[command(flatten)]
        connection: Connection,
    },
    /// A group's value of a metric, minute by minute (as `cf autoscaling-metrics`).
    Metrics {
        group: String,
        metric: String,
        #[command(flatten)]
        range: autoscaling::Range,
        #[command(flatten)]
        connection: Connection,
    },
    /// Changes of a group's desired capacity, Cloud Foundry's way (as `cf autoscaling-history`).
    History {
        group: String,
        #[command(flatten)]
        range: autoscaling::Range,
        #[command(flatten)]
        connection: Connection,
    },
}

/// A failed command.
#[derive(Debug)]
pub enum Failure {
    /// The API answered with an error: one line for people, and the answer's JSON.
    Api {
        /// `404 NoSuchScalingGroupError: ...`.
        line: String,
        /// The API's error document.
        body: serde_json::Value,
    },
    /// The command could not run.
    Usage(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Failure::Usage(err)
    }
}

impl ClientCommand {
    fn connection(&self) -> &Connection {
        match self {
            ClientCommand::Tenant { connection, .. }
            | ClientCommand::Token { connection, .. }
            | ClientCommand::Group { connection, .. }
            | ClientCommand::Member { connection, .. }
            | ClientCommand::Policy { connection, .. }
            | ClientCommand::Collector { connection, .. }
            | ClientCommand::Schedule { connection, .. }
            | ClientCommand::Webhook { connection, .. }
            | ClientCommand::AutoscalingPolicy { connection, .. }
            | ClientCommand::Credential { connection, .. }
            | ClientCommand::Metrics { connection, .. }
            | ClientCommand::History { connection, .. } => connection,
        }
    }
}

/// Runs a client command and turns its outcome into an exit code.
pub async fn run(command: ClientCommand) -> ExitCode {
    let json = command.connection().output == Output::Json;
    let result = match command {
        ClientCommand::Tenant { command, connection } => commands::tenant(command, &connection).await,
        ClientCommand::Token { command, connection } => commands::token(command, &connection).await,
        ClientCommand::Group { command, connection } => commands::group(command, &connection).await,
        ClientCommand::Member { command, connection } => commands::member(command, &connection).await,
        ClientCommand::Policy { command, connection } => commands::policy(command, &connection).await,
        ClientCommand::Collector { command, connection } => collectors::collector(command, &connection).await,
        ClientCommand::Schedule { command, connection } => commands::schedule(command, &connection).await,
        ClientCommand::Webhook { command, connection } => commands::webhook(command, &connection).await,
        ClientCommand::AutoscalingPolicy { command, connection } => autoscaling::policy(command, &connection).await,
        ClientCommand::Credential { command, connection } => autoscaling::credential(command, &connection).await,
        ClientCommand::Metrics { group, metric, range, connection } => {
            autoscaling::metrics(group, metric, range, &connection).await
        }
        ClientCommand::History { group, range, connection } => autoscaling::history(group, range, &connection).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Api { line, body }) => {
            if json {
                output::json_to_stderr(&body);
            } else {
                // One line per line of the message (a rejected policy's errors), each escaped.
                let lines: Vec<String> = line.split('\n').map(output::escape_controls).collect();
                eprintln!("error: {}", lines.join("\n"));
            }
            ExitCode::from(1)
        }
        Err(Failure::Usage(err)) => {
            if json {
                let message = format!("{err:#}");
                output::json_to_stderr(&serde_json::json!({"error": {"type": "UsageError", "message": message}}));
            } else {
                eprintln!("error: {err:#}");
            }
            ExitCode::from(2)
        }
    }
}
