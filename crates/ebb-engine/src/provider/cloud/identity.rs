//! A tenant's cloud identity: authenticates with its credentials, keeps the token while it is
//! usable, and authenticates again when it expires or a service rejects it. One
//! authentication at a time: callers that need a token while one is under way wait for it.

use ebb_core::cloud::identity::{Access, AccessError, Credentials};
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;

/// Why no token could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Identity refused the credentials.
    #[error("identity refused the credentials of user {username} ({status}): {message}")]
    Rejected {
        /// The user.
        username: String,
        /// Identity's status.
        status: u16,
        /// Identity's message.
        message: String,
    },
    /// Identity could not be reached, or failed.
    #[error("identity is unavailable: {0}")]
    Unavailable(String),
    /// Identity's answer cannot be used.
    #[error(transparent)]
    Malformed(#[from] AccessError),
}

impl IdentityError {
    /// Whether trying again later may succeed (identity was down, not the credentials wrong).
    pub fn transient(&self) -> bool {
        matches!(self, IdentityError::Unavailable(_))
    }
}

/// A tenant's cloud identity.
pub struct Identity {
    http: reqwest::Client,
    credentials: Credentials,
    cached: tokio::sync::Mutex<Option<Access>>,
    authentications: AtomicU64,
}

impl Identity {
    /// The identity of `credentials`, asked over `http`.
    pub fn new(http: reqwest::Client, credentials: Credentials) -> Self {
        Identity { http, credentials, cached: tokio::sync::Mutex::new(None), authentications: AtomicU64::new(0) }
    }

    /// How many times it has authenticated.
    pub fn authentications(&self) -> u64 {
        self.authentications.load(Ordering::Relaxed)
    }

    /// The credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// An access usable at `now`: the kept one, or a new authentication.
    pub async fn access(&self, now: Timestamp) -> Result<Access, IdentityError> {
        let mut cached = self.cached.lock().await;
        if let Some(access) = cached.as_ref().filter(|a| a.usable(now)) {
            return Ok(access.clone());
        }
        let fresh = self.authenticate().await?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    /// A service rejected `token`: the next access authenticates again (unless another
    /// caller already has).
    pub async fn rejected(&self, token: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|a| a.token == token) {
            *cached = None;
        }
    }

    /// Asks identity whether `token` (someone else's) is valid, with this identity's own
    /// token (Keystone v2's validate call): the access it grants — whose project the caller
    /// checks —, or `None` when identity does not know it.
    pub async fn validate(&self, token: &str, now: Timestamp) -> Result<Option<Access>, IdentityError> {
        let own = self.access(now).await?;
        let url = format!("{}/{}", self.credentials.tokens_url(), percent_encode(token));
        let response = self
            .http
            .get(url)
            .header("X-Auth-Token", &own.token)
            .send()
            .await
            .map_err(|err| IdentityError::Unavailable(err.without_url().to_string()))?;
        let status = response.status();
        if status.is_client_error() {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(IdentityError::Unavailable(format!("it answered {status}")));
        }
        let body: serde_json::Value = response.json().await.map_err(|err| {
            IdentityError::Unavailable(format!("its answer ({status}) is not JSON: {}", err.without_url()))
        })?;
        Ok(Some(Access::parse(&body)?))
    }

    async fn authenticate(&self) -> Result<Access, IdentityError> {
        self.authentications.fetch_add(1, Ordering::Relaxed);
        let response = self
            .http
            .post(self.credentials.tokens_url())
            .json(&self.credentials.request())
            .send()
            .await
            .map_err(|err| IdentityError::Unavailable(err.without_url().to_string()))?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.map_err(|err| {
            IdentityError::Unavailable(format!("its answer ({status}) is not JSON: {}", err.without_url()))
        })?;
        if status.is_client_error() {
            // Keystone names its error document after the error: `unauthorized`, `badRequest`…
            let message = body
                .as_object()
                .and_then(|o| o.values().find_map(|v| v["message"].as_str()))
                .unwrap_or("no reason given")
                .to_string();
            return Err(IdentityError::Rejected {
                username: self.credentials.username.clone(),
                status: status.as_u16(),
                message,
            });
        }
        if !status.is_success() {
            return Err(IdentityError::Unavailable(format!("it answered {status}")));
        }
        Ok(Access::parse(&body)?)
    }
}

fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}
