//! The client subcommands and what each one calls.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use super::input::{metadata, read_document};
use super::output::{self, Printer, col};
use super::{Client, Connection, Failure};

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create { id: String },
    /// List tenants.
    List,
    /// Show, allow or forbid a tenant's local_process members (code run on the Ebb server).
    LocalProcess {
        tenant: String,
        /// Allow them (optionally only --command and --working-dir).
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Forbid them: the tenant's members are stopped.
        #[arg(long)]
        disable: bool,
        /// Allow only this command (an absolute path); repeatable.
        #[arg(long = "command", requires = "enable")]
        commands: Vec<String>,
        /// Allow only this working directory and what is under it (an absolute path); repeatable.
        #[arg(long = "working-dir", requires = "enable")]
        working_dirs: Vec<String>,
    },
    /// A tenant's cloud settings: identity, user, API key or password, region.
    #[command(subcommand)]
    Cloud(super::cloud::CloudCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for a tenant and print its secret (shown only now).
    Create {
        tenant: String,
        #[arg(long, value_parser = ["admin", "observer"], default_value = "admin")]
        role: String,
    },
    /// Revoke a token.
    Delete { tenant: String, token: String },
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group from a JSON or YAML file (`-` for standard input).
    Create {
        #[arg(short, long)]
        file: PathBuf,
    },
    /// List groups.
    List {
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        marker: Option<String>,
    },
    /// Show a group with its configuration and policies.
    Show {
        group: String,
        /// Include every policy's webhooks.
        #[arg(long)]
        webhooks: bool,
    },
    /// Show a group's state.
    State { group: String },
    /// Replace a group's configuration from a file.
    SetConfig {
        group: String,
        #[arg(short, long)]
        file: PathBuf,
    },
    /// Replace a group's launch configuration from a file.
    SetLaunch {
        group: String,
        #[arg(short, long)]
        file: PathBuf,
    },
    /// Pause a group: policies stop scaling it (in one direction only with --direction).
    Pause {
        group: String,
        /// `in` or `out`: pause only scaling in or only scaling out.
        #[arg(long, value_parser = ["in", "out"])]
        direction: Option<String>,
    },
    /// Resume a paused group.
    Resume { group: String },
    /// Converge a group now.
    Converge { group: String },
    /// Why a group is at its size: each metric policy's inputs, proposal and limits, and
    /// which proposal won.
    Explain { group: String },
    /// Show the traffic statistics of a group's load balancers.
    Stats { group: String },
    /// Show a group's time windows and the one in force.
    Windows { group: String },
    /// Replace a group's time windows from a JSON or YAML file (Cloud Foundry schedules format).
    SetWindows {
        group: String,
        #[arg(short, long)]
        file: PathBuf,
    },
    /// Show every change of a group's desired capacity (and every execution that changed
    /// nothing), newest first.
    History {
        group: String,
        /// Only entries at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Only entries before this RFC 3339 time.
        #[arg(long)]
        until: Option<String>,
        /// Only entries of this source (api, capability, schedule, window_start, window_end,
        /// bounds, member_removed, create, convergence, metric).
        #[arg(long)]
        source: Option<String>,
        /// At most this many entries (1 to 100).
        #[arg(long)]
        limit: Option<u32>,
        /// Only entries older than this entry id (the next page).
        #[arg(long)]
        marker: Option<String>,
    },
    /// Show what happened to a group: schedule firings and skips, newest first.
    Events {
        group: String,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Delete a group.
    Delete {
        group: String,
        /// Delete even when the group still has a desired capacity.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// List a group's members with their status.
    List { group: String },
    /// Print a member's output.
    Logs {
        group: String,
        member: String,
        /// How many of the last lines.
        #[arg(long, default_value_t = 200)]
        tail: usize,
    },
    /// Cast a member's vote for the group's `votes` policies.
    Vote {
        group: String,
        member: String,
        /// `grow`, `shrink`, or `none` to abstain.
        #[arg(value_parser = ["grow", "shrink", "none"])]
        vote: String,
    },
    /// Remove a member; by default a new one replaces it.
    Delete {
        group: String,
        member: String,
        /// Lower desired capacity instead of replacing it.
        #[arg(long)]
        no_replace: bool,
        /// Leave the process running, no longer managed.
        #[arg(long)]
        disown: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// List schedule policies with their next fire time in UTC and in their own time zone.
    List {
        /// Only this group's.
        #[arg(long)]
        group: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Create policies from a file holding one policy or an array of them.
    Create {
        group: String,
        #[arg(short, long)]
        file: PathBuf,
    },
    /// List a group's policies.
    List { group: String },
    /// Show a policy.
    Show { group: String, policy: String },
    /// Replace a policy from a file.
    Update {
        group: String,
        policy: String,
        #[arg(short, long)]
        file: PathBuf,
    },
    /// Delete a policy and its webhooks.
    Delete { group: String, policy: String },
    /// Execute a policy now.
    Execute { group: String, policy: String },
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Create a webhook and print its capability URL (shown only now).
    Create {
        group: String,
        policy: String,
        #[arg(long)]
        name: String,
        /// Metadata as key=value; repeatable.
        #[arg(long = "metadata")]
        metadata: Vec<String>,
    },
    /// List a policy's webhooks.
    List { group: String, policy: String },
    /// Show a webhook.
    Show { group: String, policy: String, webhook: String },
    /// Replace a webhook's name and metadata.
    Update {
        group: String,
        policy: String,
        webhook: String,
        #[arg(long)]
        name: String,
        #[arg(long = "metadata")]
        metadata: Vec<String>,
    },
    /// Delete a webhook; its capability URL stops working.
    Delete { group: String, policy: String, webhook: String },
}

pub(super) fn tenant_of(connection: &Connection) -> Result<String, Failure> {
    connection.tenant.clone().ok_or_else(|| Failure::Usage(anyhow!("no tenant: pass --tenant or set EBB_TENANT")))
}

/// Percent-encodes a path segment given by the user.
pub(super) fn seg(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

const GROUP_COLUMNS: &[output::Column] = &[
    col("ID", "/id"),
    col("NAME", "/state/name"),
    col("DESIRED", "/state/desiredCapacity"),
    col("ACTIVE", "/state/activeCapacity"),
    col("PENDING", "/state/pendingCapacity"),
    col("PAUSED", "/state/paused"),
    col("STATUS", "/state/status"),
];

const STATE_COLUMNS: &[output::Column] = &[
    col("name", "/name"),
    col("status", "/status"),
    col("paused", "/paused"),
    col("desiredCapacity", "/desiredCapacity"),
    col("activeCapacity", "/activeCapacity"),
    col("pendingCapacity", "/pendingCapacity"),
    col("errors", "/errors"),
];

const STATS_COLUMNS: &[output::Column] = &[
    col("", "/who"),
    col("REQ/S", "/requests_per_second"),
    col("IN FLIGHT", "/in_flight"),
    col("CONNS", "/open_connections"),
    col("P50 MS", "/p50_ms"),
    col("P95 MS", "/p95_ms"),
    col("P99 MS", "/p99_ms"),
    col("ERROR RATE", "/error_rate"),
    col("REQUESTS", "/requests_total"),
];

const MEMBER_COLUMNS: &[output::Column] = &[
    col("ID", "/id"),
    col("NAME", "/name"),
    col("STATUS", "/status"),
    col("PORT", "/port"),
    col("PID", "/pid"),
    col("STARTED", "/created_at"),
];

const POLICY_COLUMNS: &[output::Column] = &[
    col("ID", "/id"),
    col("NAME", "/name"),
    col("TYPE", "/type"),
    col("COOLDOWN", "/cooldown"),
    col("CHANGE", "/change"),
    col("CHANGE %", "/changePercent"),
    col("DESIRED", "/desiredCapacity"),
    col("ARGS", "/args"),
];

const WEBHOOK_COLUMNS: &[output::Column] = &[
    col("ID", "/id"),
    col("NAME", "/name"),
    col("METADATA", "/metadata"),
    col("CAPABILITY URL (SHOWN ONCE: KEEP IT NOW)", "/capability"),
];

/// Adds a top-level `capability` field with the capability link, for tables.
fn with_capability(webhook: &Value) -> Value {
    let mut row = webhook.clone();
    let capability = webhook["links"]
        .as_array()
        .and_then(|links| links.iter().find(|l| l["rel"] == "capability"))
        .map(|l| l["href"].clone())
        .unwrap_or(Value::Null);
    row["capability"] = capability;
    row
}

pub(super) fn list(value: &Value, key: &str) -> Vec<Value> {
    value[key].as_array().cloned().unwrap_or_default()
}

pub async fn tenant(command: TenantCommand, connection: &Connection) -> Result<(), Failure> {
    let client = Client::new(connection)?;
    let out = Printer::new(connection);
    match command {
        TenantCommand::Create { id } => {
            let (_, body) = client.call(Method::POST, "/admin/v1/tenants", Some(&json!({"id": id}))).await?;
            out.record(&body, &body["tenant"], &[col("id", "/id"), col("created_at", "/created_at")])?;
        }
        TenantCommand::Cloud(command) => super::cloud::cloud(command, connection).await?,
        TenantCommand::List => {
            let (_, body) = client.call(Method::GET, "/admin/v1/tenants", None).await?;
            out.rows(&body, &list(&body, "tenants"), &[col("ID", "/id"), col("CREATED", "/created_at")])?;
        }
        TenantCommand::LocalProcess { tenant, enable, disable, commands, working_dirs } => {
            let path = format!("/admin/v1/tenants/{}/local-process", seg(&tenant));
            let (_, body) = if enable || disable {
                let some = |list: Vec<String>| if list.is_empty() { Value::Null } else { json!(list) };
                let grant = json!({"enabled": enable, "commands": some(commands), "working_dirs": some(working_dirs)});
                client.call(Method::PUT, &path, Some(&grant)).await?
            } else {
                client.call(Method::GET, &path, None).await?
            };
            out.record(
                &body,
                &body["local_process"],
                &[
                    col("enabled", "/enabled"),
                    col("commands (absent: any)", "/commands"),
                    col("working_dirs (absent: any)", "/working_dirs"),
                ],
            )?;
        }
    }
    Ok(())
}

pub async fn token(command: TokenCommand, connection: &Connection) -> Result<(), Failure> {
    let client = Client::new(connection)?;
    let out = Printer::new(connection);
    match command {
        TokenCommand::Create { tenant, role } => {
            let path = format!("/admin/v1/tenants/{}/tokens", seg(&tenant));
            let (_, body) = client.call(Method::POST, &path, Some(&json!({"role": role}))).await?;
            out.record(
                &body,
                &body["token"],
                &[
                    col("id", "/id"),
                    col("tenant", "/tenant"),
                    col("role", "/role"),
                    col("secret (shown once: keep it now)", "/secret"),
                ],
            )?;
        }
        TokenCommand::Delete { tenant, token } => {
            let path = format!("/admin/v1/tenants/{}/tokens/{}", seg(&tenant), seg(&token));
            let (_, body) = client.call(Method::DELETE, &path, None).await?;
            out.done("token revoked", &body)?;
        }
    }
    Ok(())
}

pub async fn group(command: GroupCommand, connection: &Connection) -> Result<(), Failure> {
    let client = Client::new(connection)?;
    let out = Printer::new(connection);
    let groups = format!("/v1.0/{}/groups", seg(&tenant_of(connection)?));
    match command {
        GroupCommand::Create { file } => {
            let document = read_document(&file)?;
            let (_, body) = client.call(Method::POST, &groups, Some(&document)).await?;
            out.record(
                &body,
                &body["group"],
                &[
                    col("id", "/id"),
                    col("name", "/groupConfiguration/name"),
                    col("desiredCapacity", "/state/desiredCapacity"),
                ],
            )?;
        }
        GroupCommand::List { limit, marker } => {
            let mut query = Vec::new();
            if let Some(limit) = limit {
                query.push(format!("limit={limit}"));
            }
            if let Some(marker) = marker {
                query.push(format!("marker={}", seg(&marker)));
            }
            let path = if query.is_empty() { groups } else { format!("{groups}?{}", query.join("&")) };
            let (_, body) = client.call(Method::GET, &path, None).await?;
            out.rows(&body, &list(&body, "groups"), GROUP_COLUMNS)?;
        }
        GroupCommand::Show { group, webhooks } => {
            let suffix = if webhooks { "?webhooks=true" } else { "" };
            let (_, body) = client.call(Method::GET, &format!("{groups}/{}{suffix}", seg(&group)), None).await?;
            if !out.whole(&body)? {
                let manifest = &body["group"];
                out.record(
                    &body,
                    manifest,
                    &[
                        col("id", "/id"),
                        col("name", "/groupConfiguration/name"),
                        col("cooldown", "/groupConfiguration/cooldown"),
                        col("minEntities", "/groupConfiguration/minEntities"),
                        col("maxEntities", "/groupConfiguration/maxEntities"),
                        col("metadata", "/groupConfiguration/metadata"),
                        col("launch type", "/launchConfiguration/type"),
                        col("desiredCapacity", "/state/desiredCapacity"),
                        col("status", "/state/status"),
                        col("paused", "/state/paused"),
                    ],
                )?;
                out.rows(&body, &list(manifest, "scalingPolicies"), POLICY_COLUMNS)?;
            }
        }
        GroupCommand::State { group } => {
            let (_, body) = client.call(Method::GET, &format!("{groups}/{}/state", seg(&group)), None).await?;
            out.record(&body, &body["group"], STATE_COLUMNS)?;
        }
        GroupCommand::SetConfig { group, file } => {
            let document = read_document(&file)?;
            let (_, body) =
                client.call(Method::PUT, &format!("{groups}/{}/config", seg(&group)), Some(&document)).await?;
            out.done("group configuration replaced", &body)?;
        }
        GroupCommand::SetLaunch { group, file } => {
            let document = read_document(&file)?;
            let (_, body) =
                client.call(Method::PUT, &format!("{groups}/{}/launch", seg(&group)), Some(&document)).await?;
            out.done("launch configuration replaced", &body)?;
            // New members use it; a group in ERROR waits for the user to try again.
            let (_, state) = client.call(Method::GET, &format!("{groups}/{}/state", seg(&group)), None).await?;
            if state["group"]["status"] == "ERROR" {
                eprintln!(
                    "note: the group is in ERROR; to try again with this launch configuration, run: ebb group converge {}",
                    group
                );
            }
        }
        GroupCommand::Pause { group, direction } => {
            let query = direction.as_ref().map(|d| format!("?direction={d}")).unwrap_or_default();
            let (_, body) = client.call(Method::POST, &format!("{groups}/{}/pause{query}", seg(&group)), None).await?;
            let done = direction.map_or_else(|| "group paused".to_string(), |d| format!("scaling {d} paused"));
            out.done(&done, &body)?;
        }
        GroupCommand::Resume { group } => {
            let (_, body) = client.call(Method::POST, &format!("{groups}/{}/resume", seg(&group)), None).await?;
            out.done("group resumed", &body)?;
        }
        GroupCommand::Converge { group } => {
            let (_, body) = client.call(Method::POST, &format!("{groups}/{}/converge", seg(&group)), None).await?;
            out.done("convergence triggered", &body)?;
        }
        GroupCommand::Windows { group } => {
            let (_, body) = client.call(Method::GET, &format!("{groups}/{}/windows", seg(&group)), None).await?;
            out.json(&body)?;
        }
        GroupCommand::SetWindows { group, file } => {
            let document = read_document(&file)?;
            let (_, body) =
                client.call(Method::PUT, &format!("{groups}/{}/windows", seg(&group)), Some(&document)).await?;
            out.done("time windows replaced", &body)?;
        }
        GroupCommand::Events { group, limit } => {
            let (_, body) =
                client.call(Method::GET, &format!("{groups}/{}/events?limit={limit}", seg(&group)), None).await?;
            let columns = [
                col("AT", "/at"),
                col("KIND", "/kind"),
                col("POLICY", "/policy"),
                col("DUE", "/due"),
                col("MESSAGE", "/message"),
            ];
            out.rows(&body, &list(&body, "events"), &columns)?;
        }
        GroupCommand::History { group, since, until, source, limit, marker } => {
            let mut query = Vec::new();
            for (name, value) in [("since", since), ("until", until), ("source", source), ("marker", marker)] {
                if let Some(value) = value {
                    query.push(format!("{name}={}", seg(&value)));
                }
            }
            if let Some(limit) = limit {
                query.push(format!("limit={limit}"));
            }
            let suffix = if query.is_empty() { String::new() } else { format!("?{}", query.join("&")) };
            let (_, body) =
                client.call(Method::GET, &format!("{groups}/{}/history{suffix}", seg(&group)), None).await?;
            let columns = [
                col("AT", "/at"),
                col("SOURCE", "/source"),
                col("FROM", "/from"),
                col("TO", "/to"),
                col("MIN", "/bounds/min"),
                col("MAX", "/bounds/max"),
                col("POLICY", "/policy"),
                col("REASON", "/reason"),
            ];
            out.rows(&body, &list(&body, "history"), &columns)?;
        }
        GroupCommand::Explain { group } => {
            let (_, body) = client.call(Method::GET, &format!("{groups}/{}/explain", seg(&group)), None).await?;
            if !out.whole(&body)? {
                print_explanation(&body["explain"]);
            }
        }
        GroupCommand::Stats { group } => {
            let (_, body) = client.call(Method::GET, &format!("{groups}/{}/stats", seg(&group)), None).await?;
            let mut rows = Vec::new();
            for balancer in body["loadBalancers"].as_array().cloned().unwrap_or_default() {
                let mut total = balancer["group"].clone();
                total["who"] = json!(format!("port {} (all)", balancer["port"]));
                rows.push(total);
                for member in balancer["members"].as_array().cloned().unwrap_or_default() {
                    let mut row = member["traffic"].clone();
                    let draining = if member["draining"] == true { " (draining)" } else { "" };
                    row["who"] = json!(format!("{}{draining}", member["member_id"].as_str().unwrap_or("")));
                    rows.push(row);
                }
            }
            out.rows(&body, &rows, STATS_COLUMNS)?;
        }
        GroupCommand::Delete { group, force } => {
            let suffix = if force { "?force=true" } else { "" };
            let (_, body) = client.call(Method::DELETE, &format!("{groups}/{}{suffix}", seg(&group)), None).await?;
            out.done("group deleted", &body)?;
        }
    }
    Ok(())
}

pub async fn policy(command: PolicyCommand, connection: &Connection) -> Result<(), Failure> {
    let client = Client::new(connection)?;
    let out = Printer::new(connection);
    let groups = format!("/v1.0/{}/groups", seg(&tenant_of(connection)?));
    match command {
        PolicyCommand::Create { group, file } => {
            let document = match read_document(&file)? {
                Value::Array(items) => Value::Array(items),
                single => Value::Array(vec![single]),
            };
            let (_, body) =
                client.call(Method::POST, &format!("{groups}/{}/policies", seg(&group)), Some(&document)).await?;
            out.rows(&body, &list(&body, "policies"), POLICY_COLUMNS)?;
        }
        PolicyCommand::List { group } => {
            let (_, body) = client.call(Method::GET, &format!("{groups}/{}/policies", seg(&group)), None).await?;
            out.rows(&body, &list(&body, "policies"), POLICY_COLUMNS)?;
        }
        PolicyCommand::Show { group, policy } => {
            let path = format!("{groups}/{}/policies/{}", seg(&group), seg(&policy));
            let (_, body) = client.call(Method::GET, &path, None).await?;
            out.rows(&body, std::slice::from_ref(&body["policy"]), POLICY_COLUMNS)?;
        }
        PolicyCommand::Update { group, policy, file } => {
            let document = read_document(&file)?;
            let path = format!("{groups}/{}/policies/{}", seg(&group), seg(&policy));
            let (_, body) = client.call(Method::PUT, &path, Some(&document)).await?;
            out.done("policy replaced", &body)?;
        }
        PolicyCommand::Delete { group, policy } => {
            let path = format!("{groups}/{}/policies/{}", seg(&group), seg(&policy));
            let (_, body) = client.call(Method::DELETE, &path, None).await?;
            out.done("policy deleted", &body)?;
        }
        PolicyCommand::Execute { group, policy } => {
            let path = format!("{groups}/{}/policies/{}/execute", seg(&group), seg(&policy));
            let (_, body) = client.call(Method::POST, &path, None).await?;
            out.done("policy executed", &body)?;
        }
    }
    Ok(())
}

pub async fn webhook(command: WebhookCommand, connection: &Connection) -> Result<(), Failure> {
    let client = Client::new(connection)?;
    let out = Printer::new(connection);
    let groups = format!("/v1.0/{}/groups", seg(&tenant_of(connection)?));
    match command {
        WebhookCommand::Create { group, policy, name, metadata: pairs } => {
            let document = json!([{"name": name, "metadata": metadata(&pairs)?}]);
            let path = format!("{groups}/{}/policies/{}/webhooks", seg(&group), seg(&policy));
            let (_, body) = client.call(Method::POST, &path, Some(&document)).await?;
            let rows: Vec<Value> = list(&body, "webhooks").iter().map(with_capability).collect();
            out.rows(&body, &rows, WEBHOOK_COLUMNS)?;
        }
        WebhookCommand::List { group, policy } => {
            let path = format!("{groups}/{}/policies/{}/webhooks", seg(&group), seg(&policy));
            let (_, body) = client.call(Method::GET, &path, None).await?;
            out.rows(&body, &list(&body, "webhooks"), &WEBHOOK_COLUMNS[..3])?;
        }
        WebhookCommand::Show { group, policy, webhook } => {
            let path = format!("{groups}/{}/policies/{}/webhooks/{}", seg(&group), seg(&policy), seg(&webhook));
            let (_, body) = client.call(Method::GET, &path, None).await?;
            out.rows(&body, std::slice::from_ref(&body["webhook"]), &WEBHOOK_COLUMNS[..3])?;
        }
        WebhookCommand::Update { group, policy, webhook, name, metadata: pairs } => {
            let document = json!({"name": name, "metadata": metadata(&pairs)?});
            let path = format!("{groups}/{}/policies/{}/webhooks/{}", seg(&group), seg(&policy), seg(&webhook));
            let (_, body) = client.call(Method::PUT, &path, Some(&document)).await?;
            out.done("webhook replaced", &body)?;
        }
        WebhookCommand::Delete { group, policy, webhook } => {
            let path = format!("{groups}/{}/policies/{}/webhooks/{}", seg(&group), seg(&policy), seg(&webhook));
            let (_, body) = client.call(Method::DELETE, &path, None).await?;
            out.done("webhook deleted", &body)?;
        }
    }
    Ok(())
}

pub async fn member(command: MemberCommand, connection: &Connection) -> Result<(), Failure> {
    let client = Client::new(connection)?;
    let out = Printer::new(connection);
    let groups = format!("/v1.0/{}/groups", seg(&tenant_of(connection)?));
    match command {
        MemberCommand::List { group } => {
            let (_, body) = client.call(Method::GET, &format!("{groups}/{}/members", seg(&group)), None).await?;
            out.rows(&body, &list(&body, "members"), MEMBER_COLUMNS)?;
        }
        MemberCommand::Logs { group, member, tail } => {
            let path = format!("{groups}/{}/members/{}/logs?tail={tail}", seg(&group), seg(&member));
            let (_, body) = client.call(Method::GET, &path, None).await?;
            if !out.whole(&body)? {
                for line in body["lines"].as_array().cloned().unwrap_or_default() {
                    println!("{}", output::escape_controls(line.as_str().unwrap_or("")));
                }
            }
        }
        MemberCommand::Vote { group, member, vote } => {
            let path = format!("{groups}/{}/members/{}/vote", seg(&group), seg(&member));
            let ballot = if vote == "none" { Value::Null } else { json!(vote) };
            let (_, body) = client.call(Method::PUT, &path, Some(&json!({ "vote": ballot }))).await?;
            out.done(&format!("voted {vote}"), &body)?;
        }
        MemberCommand::Delete { group, member, no_replace, disown } => {
            let path =
                format!("{groups}/{}/servers/{}?replace={}&purge={}", seg(&group), seg(&member), !no_replace, !disown);
            let (_, body) = client.call(Method::DELETE, &path, None).await?;
            out.done("member removed", &body)?;
        }
    }
    Ok(())
}

pub async fn schedule(command: ScheduleCommand, connection: &Connection) -> Result<(), Failure> {
    let client = Client::new(connection)?;
    let out = Printer::new(connection);
    let tenant = seg(&tenant_of(connection)?);
    match command {
        ScheduleCommand::List { group } => {
            let query = group.map(|g| format!("?group={}", seg(&g))).unwrap_or_default();
            let (_, body) = client.call(Method::GET, &format!("/v1.0/{tenant}/schedules{query}"), None).await?;
            let columns = [
                col("GROUP", "/group"),
                col("POLICY", "/policy"),
                col("NAME", "/name"),
                col("SCHEDULE", "/args"),
                col("NEXT (UTC)", "/next_fire"),
                col("NEXT (LOCAL)", "/next_fire_local"),
                col("WINDOWS", "/windows"),
                col("NEXT CHANGE (UTC)", "/next_change"),
                col("NEXT CHANGE (LOCAL)", "/next_change_local"),
            ];
            out.rows(&body, &list(&body, "schedules"), &columns)?;
        }
    }
    Ok(())
}

/// Prints `GET .../explain` for people: the group, then each policy, then the outcome.
fn print_explanation(explain: &Value) {
    let text = |value: &Value| match value {
        Value::Null => "-".to_string(),
        Value::String(s) => output::escape_controls(s),
        other => other.to_string(),
    };
    let paused = match (&explain["paused"], explain["pausedDirection"].as_str()) {
        (Value::Bool(true), _) => ", paused".to_string(),
        (_, Some(direction)) => format!(", scaling {direction} paused"),
        _ => String::new(),
    };
    println!(
        "desired capacity {} within {}..{}{paused}",
        explain["desiredCapacity"], explain["bounds"]["min"], explain["bounds"]["max"]
    );
    for policy in explain["policies"].as_array().into_iter().flatten() {
        let dry = if policy["dryRun"] == true { " (dry run)" } else { "" };
        println!();
        println!(
            "{} {} [{}]{dry} on {}",
            text(&policy["name"]),
            text(&policy["id"]),
            text(&policy["type"]),
            text(&policy["metric"])
        );
        let inputs = &policy["inputs"];
        let members: Vec<String> = inputs["members"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                format!("{}={}{}", m["slot"], text(&m["value"]), if m["counted"] == true { "" } else { " (left out)" })
            })
            .collect();
        println!(
            "  inputs: value {}, newest sample {} s old; members {}",
            text(&inputs["value"]),
            text(&inputs["newestSampleAgeSeconds"]),
            members.join(", ")
        );
        if let Some(votes) = inputs.get("votes") {
            println!("  votes: {} grow, {} shrink of {} live members", votes["grow"], votes["shrink"], votes["live"]);
        }
        println!("  proposal {}: {}", text(&policy["proposal"]), text(&policy["why"]));
        println!(
            "  stabilized {}, limited by {}, outcome {}, failed reads {}",
            text(&policy["stabilized"]),
            text(&policy["limitedBy"]),
            text(&policy["outcome"]),
            policy["failedReads"]
        );
    }
    let outcome = &explain["outcome"];
    println!();
    println!(
        "outcome: {} {} (winner {}){}",
        text(&outcome["decision"]),
        text(&outcome["to"]),
        text(&outcome["winner"]),
        outcome["heldBy"].as_str().map(|why| format!(", held: {why}")).unwrap_or_default()
    );
    for collector in explain["collectors"].as_array().into_iter().flatten() {
        let status = &collector["status"];
        let error = match &status["last_error"] {
            Value::Null => String::new(),
            error => format!("; last error at {}: {}", text(&error["at"]), text(&error["message"])),
        };
        println!(
            "collector {} {} [{}] → {}: {}, last value {}, {} failed in a row{error}",
            text(&collector["name"]),
            text(&collector["id"]),
            text(&collector["type"]),
            text(&collector["metric"]),
            text(&status["state"]),
            text(&status["last_value"]),
            status["consecutive_failures"]
        );
    }
}
