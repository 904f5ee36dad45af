//! The cloud provider's I/O, each for one tenant: Rackspace identity ([`identity`]), Nova
//! ([`nova`]) and Cloud Load Balancers ([`clb`]). Every service call goes through [`Service`]:
//! the tenant's token, the service's endpoint in its region, one more try with a new token
//! when the token is refused, and the answer sorted into what the user must fix (a 4xx, in the
//! service's words) and what may be tried again (a 5xx, or no answer: the call may have
//! happened).

pub mod clb;
pub mod identity;
pub mod nova;
pub mod rackconnect;
pub mod tenant;
pub mod tokens;

use std::sync::Arc;

use ebb_core::cloud::identity::AccessError;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::clock::Clock;
use identity::{Identity, IdentityError};

/// Why a cloud call did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudError {
    /// The service refused it: the user must act.
    #[error("{service} refused the request ({status}): {message}")]
    Refused {
        /// The service, as users know it.
        service: &'static str,
        /// Its status.
        status: u16,
        /// Its message.
        message: String,
    },
    /// The service failed or could not be reached: the call may be tried again, and may
    /// have happened.
    #[error("{service} is unavailable: {reason}")]
    Unavailable {
        /// The service.
        service: &'static str,
        /// What happened.
        reason: String,
    },
    /// No token.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The service is not in the tenant's catalog for its region.
    #[error(transparent)]
    Catalog(#[from] AccessError),
}

/// The service's message in an error answer: `{"badRequest": {"message": …}}` (Nova) or
/// `{"message": …}` (Cloud Load Balancers).
pub fn error_message(answer: &Value) -> Option<String> {
    answer["message"]
        .as_str()
        .map(str::to_string)
        .or_else(|| answer.as_object()?.values().find_map(|v| v["message"].as_str().map(str::to_string)))
}

/// Calls made to the cloud, by service and method (`ebb_cloud_calls_total`).
#[derive(Debug, Default)]
pub struct CallCounts(std::sync::Mutex<std::collections::BTreeMap<(&'static str, String), u64>>);

impl CallCounts {
    fn count(&self, service: &'static str, method: &Method) {
        if let Ok(mut counts) = self.0.lock() {
            *counts.entry((service, method.to_string())).or_default() += 1;
        }
    }

    /// Every count: service, method, calls.
    pub fn all(&self) -> Vec<(&'static str, String, u64)> {
        self.0.lock().map(|c| c.iter().map(|((s, m), n)| (*s, m.clone(), *n)).collect()).unwrap_or_default()
    }
}

/// One service of a tenant's catalog.
pub struct Service {
    http: reqwest::Client,
    identity: Arc<Identity>,
    clock: Arc<dyn Clock>,
    /// As users know it.
    name: &'static str,
    /// Its catalog type and name.
    entry: (&'static str, &'static str),
    /// Where its calls are counted, if anywhere.
    counts: Option<Arc<CallCounts>>,
}

impl Service {
    /// The service `entry` (catalog type and name) of `identity`'s tenant, called `name`.
    pub fn new(
        http: reqwest::Client,
        identity: Arc<Identity>,
        clock: Arc<dyn Clock>,
        name: &'static str,
        entry: (&'static str, &'static str),
    ) -> Self {
        Service { http, identity, clock, name, entry, counts: None }
    }

    /// The same, its calls counted in `counts`.
    pub fn counted(mut self, counts: Arc<CallCounts>) -> Self {
        self.counts = Some(counts);
        self
    }

    /// A call; its status and JSON answer (null if none), unless the service failed.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), CloudError> {
        let unavailable = |reason: String| CloudError::Unavailable { service: self.name, reason };
        let mut retried = false;
        loop {
            let access = self.identity.access(self.clock.now()).await?;
            let region = &self.identity.credentials().region;
            let base = access.endpoint(self.entry.0, self.entry.1, region)?.trim_end_matches('/').to_string();
            let mut request =
                self.http.request(method.clone(), format!("{base}{path}")).header("X-Auth-Token", &access.token);
            if let Some(body) = body {
                request = request.json(body);
            }
            if let Some(counts) = &self.counts {
                counts.count(self.name, &method);
            }
            let response = request.send().await.map_err(|err| unavailable(err.without_url().to_string()))?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !retried {
                self.identity.rejected(&access.token).await;
                retried = true;
                continue;
            }
            let text = response.text().await.map_err(|err| unavailable(err.without_url().to_string()))?;
            let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if status.is_server_error() {
                let message = error_message(&answer).unwrap_or_else(|| status.to_string());
                return Err(unavailable(format!("{} ({message})", status.as_u16())));
            }
            return Ok((status, answer));
        }
    }

    /// The refusal an answer of `status` is.
    pub fn refused(&self, status: StatusCode, answer: &Value) -> CloudError {
        CloudError::Refused {
            service: self.name,
            status: status.as_u16(),
            message: error_message(answer).unwrap_or_else(|| "no reason given".to_string()),
        }
    }

    /// A call that must succeed; its answer.
    pub async fn ok(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, CloudError> {
        let (status, answer) = self.call(method, path, body).await?;
        if status.is_success() { Ok(answer) } else { Err(self.refused(status, &answer)) }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_services_message_is_found_in_either_shape() {
        let nova = json!({"badRequest": {"message": "Invalid imageRef provided.", "code": 400}});
        assert_eq!(error_message(&nova).as_deref(), Some("Invalid imageRef provided."));
        let clb = json!({"message": "Load balancer not found", "code": 404});
        assert_eq!(error_message(&clb).as_deref(), Some("Load balancer not found"));
        assert_eq!(error_message(&json!(null)), None);
    }
}
