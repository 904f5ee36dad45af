//! Nova for a tenant: create a server from a body (`ebb_core::cloud::nova::create_body`), list
//! a group's servers by their metadata, delete one and see that it is gone. Every call takes
//! the tenant's token from its identity; a call the token is refused on (401) is made once
//! more with a new token.

use std::sync::Arc;

use ebb_core::cloud::identity::AccessError;
use ebb_core::cloud::nova::{Server, error_message};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::identity::{Identity, IdentityError};
use crate::clock::Clock;

/// The catalog entry of Nova.
const SERVICE: (&str, &str) = ("compute", "cloudServersOpenStack");

/// Why a Nova call did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NovaError {
    /// Nova refused it (a bad image or flavor, a quota): the user must act.
    #[error("Nova refused the request ({status}): {message}")]
    Refused {
        /// Nova's status.
        status: u16,
        /// Nova's message.
        message: String,
    },
    /// Nova failed, or could not be reached: the call may be tried again (and may have
    /// happened).
    #[error("Nova is unavailable: {0}")]
    Unavailable(String),
    /// No token.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// No Nova in the tenant's catalog for its region.
    #[error(transparent)]
    Catalog(#[from] AccessError),
}

/// A tenant's Nova.
pub struct Nova {
    http: reqwest::Client,
    identity: Arc<Identity>,
    clock: Arc<dyn Clock>,
}

impl Nova {
    /// The Nova of `identity`'s tenant, in its region.
    pub fn new(http: reqwest::Client, identity: Arc<Identity>, clock: Arc<dyn Clock>) -> Self {
        Nova { http, identity, clock }
    }

    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<(StatusCode, Value), NovaError> {
        let mut retried = false;
        loop {
            let access = self.identity.access(self.clock.now()).await?;
            let region = &self.identity.credentials().region;
            let base = access.endpoint(SERVICE.0, SERVICE.1, region)?.trim_end_matches('/').to_string();
            let mut request =
                self.http.request(method.clone(), format!("{base}{path}")).header("X-Auth-Token", &access.token);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(|err| NovaError::Unavailable(err.without_url().to_string()))?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !retried {
                self.identity.rejected(&access.token).await;
                retried = true;
                continue;
            }
            let text = response.text().await.map_err(|err| NovaError::Unavailable(err.without_url().to_string()))?;
            let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if status.is_server_error() {
                let message = error_message(&answer).unwrap_or_else(|| status.to_string());
                return Err(NovaError::Unavailable(format!("{} ({message})", status.as_u16())));
            }
            return Ok((status, answer));
        }
    }

    fn refused(status: StatusCode, answer: &Value) -> NovaError {
        NovaError::Refused {
            status: status.as_u16(),
            message: error_message(answer).unwrap_or_else(|| "no reason given".to_string()),
        }
    }

    /// Creates a server; its id.
    pub async fn create(&self, body: &Value) -> Result<String, NovaError> {
        let (status, answer) = self.call(Method::POST, "/servers", Some(body)).await?;
        if !status.is_success() {
            return Err(Self::refused(status, &answer));
        }
        answer["server"]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| NovaError::Unavailable("Nova accepted the server but gave no id".to_string()))
    }

    /// The servers of `group`, by their metadata.
    pub async fn servers(&self, group: &str) -> Result<Vec<Server>, NovaError> {
        let mut found = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let path = match &marker {
                Some(marker) => format!("/servers/detail?limit=100&marker={marker}"),
                None => "/servers/detail?limit=100".to_string(),
            };
            let (status, answer) = self.call(Method::GET, &path, None).await?;
            if !status.is_success() {
                return Err(Self::refused(status, &answer));
            }
            let page = answer["servers"].as_array().map_or(0, Vec::len);
            found.extend(Server::of_group(&answer, group));
            marker =
                answer["servers"].as_array().and_then(|s| s.last()).and_then(|s| s["id"].as_str()).map(str::to_string);
            if page < 100 || marker.is_none() {
                return Ok(found);
            }
        }
    }

    /// Deletes a server; one already gone is deleted.
    pub async fn delete(&self, id: &str) -> Result<(), NovaError> {
        let (status, answer) = self.call(Method::DELETE, &format!("/servers/{id}"), None).await?;
        if status.is_success() || status == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(Self::refused(status, &answer))
        }
    }

    /// Whether a server is gone (not found, or `DELETED`).
    pub async fn gone(&self, id: &str) -> Result<bool, NovaError> {
        let (status, answer) = self.call(Method::GET, &format!("/servers/{id}"), None).await?;
        match status {
            StatusCode::NOT_FOUND => Ok(true),
            status if status.is_success() => Ok(answer["server"]["status"] == "DELETED"),
            status => Err(Self::refused(status, &answer)),
        }
    }
}
