//! The verbs of Cloud Foundry's autoscaler CLI plugin, on Ebb's `/v1/apps` API:
//! `autoscaling-policy set|get|delete` (`cf aasp`/`asp`/`dasp`), `credential create|delete`,
//! `metrics` (`cf asm`) and `history` (`cf ash`).

use std::path::PathBuf;

use clap::Subcommand;
use jiff::Timestamp;
use reqwest::Method;
use serde_json::Value;

use super::commands::seg;
use super::output::{Printer, col};
use super::{Client, Connection, Failure, input};

/// `ebb autoscaling-policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyVerb {
    /// Set a group's Cloud Foundry policy from a JSON or YAML file (`-` for standard input).
    Set { group: String, file: PathBuf },
    /// Show a group's Cloud Foundry policy.
    Get { group: String },
    /// Delete a group's Cloud Foundry policy: metric scaling stops, the group stays.
    Delete { group: String },
}

/// `ebb credential ...`.
#[derive(Debug, Subcommand)]
pub enum CredentialVerb {
    /// Create or rotate the group's metric credential; the password is shown once.
    Create { group: String },
    /// Revoke the group's metric credential.
    Delete { group: String },
}

/// The time range and order of `metrics` and `history`.
#[derive(Debug, Clone, clap::Args)]
pub struct Range {
    /// From this time (RFC 3339, such as 2026-12-02T08:00:00Z).
    #[arg(long)]
    pub start: Option<String>,
    /// Until this time (RFC 3339).
    #[arg(long)]
    pub end: Option<String>,
    /// Newest first (the default is oldest first, as the plugin's).
    #[arg(long)]
    pub desc: bool,
    /// At most this many (every one when absent).
    #[arg(short = 'n', long)]
    pub limit: Option<usize>,
}

fn nanos(text: &str, flag: &str) -> Result<i64, Failure> {
    let at: Timestamp = text
        .parse()
        .map_err(|err| Failure::Usage(anyhow::anyhow!("--{flag} {text:?} is not an RFC 3339 time: {err}")))?;
    Ok(i64::try_from(at.as_nanosecond()).unwrap_or(i64::MAX))
}

/// Every resource of a paginated Cloud Foundry history, up to `range.limit`.
pub(crate) async fn pages(client: &Client, path: &str, range: &Range) -> Result<Value, Failure> {
    let mut query = vec![format!("order-direction={}", if range.desc { "desc" } else { "asc" })];
    if let Some(start) = &range.start {
        query.push(format!("start-time={}", nanos(start, "start")?));
    }
    if let Some(end) = &range.end {
        query.push(format!("end-time={}", nanos(end, "end")?));
    }
    if let (Some(start), Some(end)) = (&range.start, &range.end)
        && nanos(start, "start")? > nanos(end, "end")?
    {
        return Err(Failure::Usage(anyhow::anyhow!("--start {start} is after --end {end}")));
    }
    let mut resources = Vec::new();
    for page in 1.. {
        let url = format!("{path}?{}&page={page}&results-per-page=100", query.join("&"));
        let (_, body) = client.call(Method::GET, &url, None).await?;
        resources.extend(body["resources"].as_array().cloned().unwrap_or_default());
        let done = body["next_url"].as_str().is_none_or(str::is_empty);
        if done || range.limit.is_some_and(|limit| resources.len() >= limit) {
            break;
        }
    }
    if let Some(limit) = range.limit {
        resources.truncate(limit);
    }
    Ok(serde_json::json!({"resources": resources}))
}

/// RFC 3339 of a timestamp in nanoseconds, in each resource, for tables.
fn with_times(body: &mut Value) {
    for resource in body["resources"].as_array_mut().into_iter().flatten() {
        let at = resource["timestamp"].as_i64().and_then(|ns| Timestamp::from_nanosecond(i128::from(ns)).ok());
        resource["time"] = Value::String(at.map(|at| at.to_string()).unwrap_or_default());
    }
}

pub(crate) fn app(group: &str, rest: &str) -> String {
    format!("/v1/apps/{}{rest}", seg(group))
}

pub async fn policy(verb: PolicyVerb, connection: &Connection) -> Result<(), Failure> {
    let client = Client::new(connection)?;
    let out = Printer::new(connection);
    match verb {
        PolicyVerb::Set { group, file } => {
            let document = input::read_document(&file)?;
            let (_, body) = client.call(Method::PUT, &app(&group, "/policy"), Some(&document)).await?;
            out.done(&format!("policy attached to group {group}"), &body)
        }
        PolicyVerb::Get { group } => {
            let (_, body) = client.call(Method::GET, &app(&group, "/policy"), None).await?;
            out.json(&body)
        }
        PolicyVerb::Delete { group } => {
            let (_, body) = client.call(Method::DELETE, &app(&group, "/policy"), None).await?;
            out.done(&format!("policy detached from group {group}"), &body)
        }
    }
}

pub async fn credential(verb: CredentialVerb, connection: &Connection) -> Result<(), Failure> {
    let client = Client::new(connection)?;
    let out = Printer::new(connection);
    match verb {
        CredentialVerb::Create { group } => {
            let (_, body) = client.call(Method::PUT, &app(&group, "/credential"), None).await?;
            let columns = [col("USERNAME", "/username"), col("PASSWORD", "/password"), col("URL", "/url")];
            out.record(&body, &body, &columns)?;
            if out.format == super::Output::Table {
                eprintln!("the password is shown only now: keep it where the metric senders can read it");
            }
            Ok(())
        }
        CredentialVerb::Delete { group } => {
            let (_, body) = client.call(Method::DELETE, &app(&group, "/credential"), None).await?;
            out.done(&format!("metric credential of group {group} revoked"), &body)
        }
    }
}

pub async fn metrics(group: String, metric: String, range: Range, connection: &Connection) -> Result<(), Failure> {
    let valid = !metric.is_empty() && metric.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(Failure::Usage(anyhow::anyhow!("metric {metric:?} must match ^[a-zA-Z0-9_]+$")));
    }
    let client = Client::new(connection)?;
    let out = Printer::new(connection);
    let mut body = pages(&client, &app(&group, &format!("/aggregated_metric_histories/{metric}")), &range).await?;
    if body["resources"].as_array().is_some_and(Vec::is_empty) && !out.whole(&body)? {
        println!("No aggregated {metric} metrics were found for group {group}.");
        return Ok(());
    }
    with_times(&mut body);
    let rows = body["resources"].as_array().cloned().unwrap_or_default();
    out.rows(
        &body,
        &rows,
        &[col("METRIC", "/name"), col("VALUE", "/value"), col("UNIT", "/unit"), col("TIME", "/time")],
    )
}

pub async fn history(group: String, range: Range, connection: &Connection) -> Result<(), Failure> {
    let client = Client::new(connection)?;
    let out = Printer::new(connection);
    let mut body = pages(&client, &app(&group, "/scaling_histories"), &range).await?;
    if body["resources"].as_array().is_some_and(Vec::is_empty) && !out.whole(&body)? {
        println!("No event history were found for group {group}.");
        return Ok(());
    }
    with_times(&mut body);
    for resource in body["resources"].as_array_mut().into_iter().flatten() {
        resource["type"] = Value::from(if resource["scaling_type"] == 1 { "scheduled" } else { "dynamic" });
        resource["change"] = Value::from(format!("{}->{}", resource["old_instances"], resource["new_instances"]));
    }
    let rows = body["resources"].as_array().cloned().unwrap_or_default();
    let columns = [col("TYPE", "/type"), col("CHANGE", "/change"), col("TIME", "/time"), col("ACTION", "/reason")];
    out.rows(&body, &rows, &columns)
}
