//! A small HTTP client for the API: sends JSON, returns JSON, and turns error answers into
//! one readable line.

use anyhow::Context;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{Connection, Failure};

/// The API at one URL with one token.
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    /// A client for the connection flags.
    pub fn new(connection: &Connection) -> Result<Self, Failure> {
        let base = connection.url.trim_end_matches('/').to_string();
        match base.split_once("://") {
            Some(("http" | "https", rest)) if !rest.is_empty() => {}
            Some((scheme, _)) => {
                return Err(Failure::Usage(anyhow::anyhow!(
                    "the server URL {base:?} (EBB_URL or --url) has the scheme {scheme:?}: use http:// or https://"
                )));
            }
            None => {
                return Err(Failure::Usage(anyhow::anyhow!(
                    "the server URL {base:?} (EBB_URL or --url) has no scheme: did you mean http://{base}?"
                )));
            }
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Client { http, base, token: connection.token.clone() })
    }

    /// Sends a request; returns the status and the JSON body (`Null` when empty).
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<(StatusCode, Value), Failure> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.with_context(|| format!("cannot reach {}", self.base))?;
        let status = response.status();
        let bytes = response.bytes().await.context("cannot read the response")?;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        if status.is_client_error() || status.is_server_error() {
            let line = error_line(status, &value);
            return Err(Failure::Api { line, body: value });
        }
        Ok((status, value))
    }
}

/// `404 NoSuchScalingGroupError: No such scaling group ...`; Cloud Foundry's errors as
/// `400 Bad Request: ...`, and a policy that does not validate one `context: description` a line.
fn error_line(status: StatusCode, body: &Value) -> String {
    if let Some(errors) = body.as_array() {
        let lines: Vec<String> = errors
            .iter()
            .map(|e| format!("  {}: {}", e["context"].as_str().unwrap_or(""), e["description"].as_str().unwrap_or("")))
            .collect();
        return format!("{} Invalid policy definition:\n{}", status.as_u16(), lines.join("\n"));
    }
    if let (Some(code), Some(message)) = (body["code"].as_str(), body["message"].as_str()) {
        return format!("{} {code}: {message}", status.as_u16());
    }
    match body.get("error") {
        Some(error) => format!(
            "{} {}: {}",
            status.as_u16(),
            error.get("type").and_then(Value::as_str).unwrap_or("Error"),
            error.get("message").and_then(Value::as_str).unwrap_or("")
        ),
        None => format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("error")),
    }
}
