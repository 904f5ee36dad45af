//! Nova for a tenant: create a server from a body (`ebb_core::cloud::nova::create_body`), list
//! a group's servers by their metadata, delete one and see that it is gone.

use std::sync::Arc;

use ebb_core::cloud::nova::Server;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::identity::Identity;
use super::{CloudError, Service};
use crate::clock::Clock;

/// A tenant's Nova.
pub struct Nova(Service);

impl Nova {
    /// The Nova of `identity`'s tenant, in its region.
    pub fn new(http: reqwest::Client, identity: Arc<Identity>, clock: Arc<dyn Clock>) -> Self {
        Nova(Service::new(http, identity, clock, "Nova", ("compute", "cloudServersOpenStack")))
    }

    /// The same, its calls counted in `counts`.
    pub fn counted(self, counts: Arc<super::CallCounts>) -> Self {
        Nova(self.0.counted(counts))
    }

    /// Creates a server; its id.
    pub async fn create(&self, body: &Value) -> Result<String, CloudError> {
        let answer = self.0.ok(Method::POST, "/servers", Some(body)).await?;
        answer["server"]["id"].as_str().map(str::to_string).ok_or_else(|| CloudError::Unavailable {
            service: "Nova",
            reason: "it accepted the server but gave no id".to_string(),
        })
    }

    /// The servers of `group`, by their metadata.
    pub async fn servers(&self, group: &str) -> Result<Vec<Server>, CloudError> {
        self.list(group, None).await
    }

    /// The servers of `group` deleted since `since` (Nova keeps them listed, `DELETED`, for a
    /// while when asked for the changes since a time).
    pub async fn deleted_since(&self, group: &str, since: jiff::Timestamp) -> Result<Vec<Server>, CloudError> {
        let servers = self.list(group, Some(since)).await?;
        Ok(servers.into_iter().filter(|s| s.status == "DELETED").collect())
    }

    async fn list(&self, group: &str, since: Option<jiff::Timestamp>) -> Result<Vec<Server>, CloudError> {
        const PAGE: usize = 100;
        let mut found = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut path = format!("/servers/detail?limit={PAGE}");
            if let Some(since) = since {
                path.push_str(&format!("&changes-since={}", since.strftime("%Y-%m-%dT%H:%M:%SZ")));
            }
            if let Some(marker) = &marker {
                path.push_str(&format!("&marker={marker}"));
            }
            let answer = self.0.ok(Method::GET, &path, None).await?;
            let servers = answer["servers"].as_array().map_or(&[][..], Vec::as_slice);
            found.extend(Server::of_group(&answer, group));
            marker = servers.last().and_then(|s| s["id"].as_str()).map(str::to_string);
            if servers.len() < PAGE || marker.is_none() {
                return Ok(found);
            }
        }
    }

    /// Replaces a server's metadata.
    pub async fn set_metadata(&self, id: &str, metadata: &serde_json::Map<String, Value>) -> Result<(), CloudError> {
        let body = serde_json::json!({ "metadata": metadata });
        self.0.ok(Method::PUT, &format!("/servers/{id}/metadata"), Some(&body)).await.map(drop)
    }

    /// One server, if it exists.
    pub async fn server(&self, id: &str) -> Result<Option<Server>, CloudError> {
        let (status, answer) = self.0.call(Method::GET, &format!("/servers/{id}"), None).await?;
        match status {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => Ok(Server::parse(&answer["server"])),
            status => Err(self.0.refused(status, &answer)),
        }
    }

    /// Deletes a server; one already gone is deleted.
    pub async fn delete(&self, id: &str) -> Result<(), CloudError> {
        let (status, answer) = self.0.call(Method::DELETE, &format!("/servers/{id}"), None).await?;
        if status.is_success() || status == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(self.0.refused(status, &answer))
        }
    }

    /// Whether a server is gone (not found, or `DELETED`).
    pub async fn gone(&self, id: &str) -> Result<bool, CloudError> {
        let (status, answer) = self.0.call(Method::GET, &format!("/servers/{id}"), None).await?;
        match status {
            StatusCode::NOT_FOUND => Ok(true),
            status if status.is_success() => Ok(answer["server"]["status"] == "DELETED"),
            status => Err(self.0.refused(status, &answer)),
        }
    }
}
