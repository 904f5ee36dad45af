//! `ebb collector`: a group's collectors — create from a file, list, show, update, delete —
//! with how their reads are going.

use std::path::PathBuf;

use clap::Subcommand;
use reqwest::Method;
use serde_json::Value;

use super::commands::{list, seg, tenant_of};
use super::input::read_document;
use super::output::{self, Printer, col};
use super::{Client, Connection, Failure};

#[derive(Debug, Subcommand)]
pub enum CollectorCommand {
    /// Create collectors from a file holding one collector or an array of them (JSON or YAML).
    Create {
        group: String,
        #[arg(short, long)]
        file: PathBuf,
    },
    /// List a group's collectors and how their reads are going.
    List { group: String },
    /// Show a collector: its document (secrets redacted) and its last success and error.
    Show { group: String, collector: String },
    /// Replace a collector from a file ("********" keeps a stored secret).
    Update {
        group: String,
        collector: String,
        #[arg(short, long)]
        file: PathBuf,
    },
    /// Delete a collector.
    Delete { group: String, collector: String },
}

const COLUMNS: &[output::Column] = &[
    col("ID", "/id"),
    col("NAME", "/name"),
    col("TYPE", "/type"),
    col("METRIC", "/metric"),
    col("INTERVAL", "/interval"),
    col("STATE", "/status/state"),
    col("LAST VALUE", "/status/last_value"),
    col("FAILED IN A ROW", "/status/consecutive_failures"),
    col("LAST ERROR", "/status/last_error/message"),
];

pub async fn collector(command: CollectorCommand, connection: &Connection) -> Result<(), Failure> {
    let client = Client::new(connection)?;
    let out = Printer::new(connection);
    let groups = format!("/v1.0/{}/groups", seg(&tenant_of(connection)?));
    let one = |group: &str, collector: &str| format!("{groups}/{}/collectors/{}", seg(group), seg(collector));
    match command {
        CollectorCommand::Create { group, file } => {
            let document = match read_document(&file)? {
                Value::Array(items) => Value::Array(items),
                single => Value::Array(vec![single]),
            };
            let path = format!("{groups}/{}/collectors", seg(&group));
            let (_, body) = client.call(Method::POST, &path, Some(&document)).await?;
            out.rows(&body, &list(&body, "collectors"), COLUMNS)?;
        }
        CollectorCommand::List { group } => {
            let (_, body) = client.call(Method::GET, &format!("{groups}/{}/collectors", seg(&group)), None).await?;
            out.rows(&body, &list(&body, "collectors"), COLUMNS)?;
        }
        CollectorCommand::Show { group, collector } => {
            let (_, body) = client.call(Method::GET, &one(&group, &collector), None).await?;
            out.rows(&body, std::slice::from_ref(&body["collector"]), COLUMNS)?;
        }
        CollectorCommand::Update { group, collector, file } => {
            let document = read_document(&file)?;
            let (_, body) = client.call(Method::PUT, &one(&group, &collector), Some(&document)).await?;
            out.rows(&body, std::slice::from_ref(&body["collector"]), COLUMNS)?;
        }
        CollectorCommand::Delete { group, collector } => {
            let (_, body) = client.call(Method::DELETE, &one(&group, &collector), None).await?;
            out.done("collector deleted", &body)?;
        }
    }
    Ok(())
}
