//! `ebb tenant cloud`: a tenant's cloud settings — set, shown without their secret, removed.

use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

use super::commands::seg;
use super::output::{Printer, col};
use super::{Client, Connection, Failure};

#[derive(Debug, Subcommand)]
pub enum CloudCommand {
    /// Set a tenant's cloud settings: identity endpoint, user, API key or password, region.
    Set {
        tenant: String,
        /// The identity endpoint, such as https://identity.api.rackspacecloud.com/v2.0.
        #[arg(long)]
        identity_url: String,
        #[arg(long)]
        username: String,
        /// The user's API key (better from EBB_CLOUD_API_KEY than on the command line).
        #[arg(long, env = "EBB_CLOUD_API_KEY", hide_env_values = true, required_unless_present = "password")]
        api_key: Option<String>,
        /// The user's password (better from EBB_CLOUD_PASSWORD), instead of an API key.
        #[arg(long, env = "EBB_CLOUD_PASSWORD", hide_env_values = true, conflicts_with = "api_key")]
        password: Option<String>,
        #[arg(long)]
        region: String,
        /// The cloud project (tenant) to pin.
        #[arg(long)]
        project_id: Option<String>,
        /// Accept tokens this identity issues on the API, besides Ebb's own.
        #[arg(long)]
        accept_identity_tokens: bool,
    },
    /// Show a tenant's cloud settings (never the API key or password).
    Get { tenant: String },
    /// Remove a tenant's cloud settings.
    Delete { tenant: String },
}

pub async fn cloud(command: CloudCommand, connection: &Connection) -> Result<(), Failure> {
    let client = Client::new(connection)?;
    let out = Printer::new(connection);
    let path = |tenant: &str| format!("/admin/v1/tenants/{}/cloud", seg(tenant));
    let (_, body) = match command {
        CloudCommand::Set {
            tenant,
            identity_url,
            username,
            api_key,
            password,
            region,
            project_id,
            accept_identity_tokens,
        } => {
            let mut settings = json!({"identity_url": identity_url, "username": username, "region": region,
                "accept_identity_tokens": accept_identity_tokens});
            match (api_key, password) {
                (_, Some(password)) => settings["password"] = json!(password),
                (Some(key), None) => settings["api_key"] = json!(key),
                (None, None) => {}
            }
            if let Some(project) = project_id {
                settings["project_id"] = json!(project);
            }
            client.call(Method::PUT, &path(&tenant), Some(&settings)).await?
        }
        CloudCommand::Get { tenant } => client.call(Method::GET, &path(&tenant), None).await?,
        CloudCommand::Delete { tenant } => {
            let (_, body) = client.call(Method::DELETE, &path(&tenant), None).await?;
            out.done("cloud settings removed", &body)?;
            return Ok(());
        }
    };
    out.record(
        &body,
        &body["cloud"],
        &[
            col("identity_url", "/identity_url"),
            col("username", "/username"),
            col("credential", "/credential"),
            col("region", "/region"),
            col("project_id", "/project_id"),
            col("accept_identity_tokens", "/accept_identity_tokens"),
        ],
    )?;
    Ok(())
}
