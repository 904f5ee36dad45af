//! A tenant's cloud settings (`PUT /admin/v1/tenants/{tenant}/cloud`): its identity endpoint,
//! user and API key or password, region, the cloud project to pin, and whether the API accepts
//! tokens its identity issues. The secret is stored and used, never shown ([`CloudSettings::shown`]).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::identity::{Credentials, Secret};
use crate::Invalid;
use crate::json::{self, Obj};

const MAX_TEXT: usize = 1024;

/// A tenant's cloud settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudSettings {
    /// How it authenticates, and where its endpoints are.
    pub credentials: Credentials,
    /// Whether the API accepts tokens its identity issues, besides Ebb's own.
    pub accept_identity_tokens: bool,
}

/// The settings as shown: everything but the secret, and which kind of secret it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CloudView {
    /// The identity endpoint.
    pub identity_url: String,
    /// The user.
    pub username: String,
    /// `api_key` or `password`: which one is stored (never shown).
    pub credential: String,
    /// The region.
    pub region: String,
    /// The cloud project pinned, if any.
    pub project_id: Option<String>,
    /// Whether the API accepts tokens its identity issues.
    pub accept_identity_tokens: bool,
}

impl CloudSettings {
    /// Validates `{"identity_url", "username", "api_key" | "password", "region",
    /// "project_id"?, "accept_identity_tokens"?}`.
    pub fn parse(value: &Value) -> Result<CloudSettings, Invalid> {
        let obj = Obj::new(value, "")?;
        obj.only(&[
            "identity_url",
            "username",
            "api_key",
            "password",
            "region",
            "project_id",
            "accept_identity_tokens",
        ])?;
        let identity_url = json::non_blank(obj.required("identity_url")?, "identity_url", MAX_TEXT)?;
        let parsed = url::Url::parse(identity_url)
            .map_err(|err| Invalid::schema(format!("identity_url: {identity_url:?} is not a URL ({err})")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(Invalid::schema(
                "identity_url: an http or https URL, such as https://identity.api.rackspacecloud.com/v2.0",
            ));
        }
        let secret = match (obj.get("api_key"), obj.get("password")) {
            (Some(key), None) => Secret::ApiKey(json::non_blank(key, "api_key", MAX_TEXT)?.to_string()),
            (None, Some(password)) => Secret::Password(json::non_blank(password, "password", MAX_TEXT)?.to_string()),
            _ => return Err(Invalid::schema("exactly one of api_key or password authenticates the user")),
        };
        let project_id =
            obj.get("project_id").map(|p| json::token(p, "project_id", 256).map(str::to_string)).transpose()?;
        let accept_identity_tokens = match obj.get("accept_identity_tokens") {
            None => false,
            Some(value) => json::boolean(value, "accept_identity_tokens")?,
        };
        Ok(CloudSettings {
            credentials: Credentials {
                identity_url: identity_url.to_string(),
                username: json::non_blank(obj.required("username")?, "username", 256)?.to_string(),
                secret,
                project_id,
                region: json::token(obj.required("region")?, "region", 64)?.to_string(),
            },
            accept_identity_tokens,
        })
    }

    /// The document stored: the settings with their secret.
    pub fn document(&self) -> Value {
        let c = &self.credentials;
        let mut document = json!({"identity_url": c.identity_url, "username": c.username, "region": c.region,
            "accept_identity_tokens": self.accept_identity_tokens});
        match &c.secret {
            Secret::ApiKey(key) => document["api_key"] = json!(key),
            Secret::Password(password) => document["password"] = json!(password),
        }
        if let Some(project) = &c.project_id {
            document["project_id"] = json!(project);
        }
        document
    }

    /// The settings as shown.
    pub fn shown(&self) -> CloudView {
        let c = &self.credentials;
        CloudView {
            identity_url: c.identity_url.clone(),
            username: c.username.clone(),
            credential: match c.secret {
                Secret::ApiKey(_) => "api_key".into(),
                Secret::Password(_) => "password".into(),
            },
            region: c.region.clone(),
            project_id: c.project_id.clone(),
            accept_identity_tokens: self.accept_identity_tokens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_their_document_and_are_shown_without_their_secret() {
        let body = json!({"identity_url": "http://127.0.0.1:8900/identity/v2.0", "username": "autoscale",
            "api_key": "k3y-s3cret", "region": "ORD", "project_id": "123456", "accept_identity_tokens": true});
        let settings = CloudSettings::parse(&body).unwrap();
        assert_eq!(settings.credentials.secret, Secret::ApiKey("k3y-s3cret".into()));
        assert_eq!(CloudSettings::parse(&settings.document()).unwrap(), settings);
        let shown = serde_json::to_value(settings.shown()).unwrap();
        assert!(!shown.to_string().contains("k3y-s3cret"));
        assert_eq!(shown["credential"], "api_key");
        assert_eq!(
            (shown["project_id"].as_str(), shown["accept_identity_tokens"].as_bool()),
            (Some("123456"), Some(true))
        );
    }

    #[test]
    fn bad_settings_name_what_is_wrong() {
        let base = json!({"identity_url": "http://id/v2.0", "username": "u", "password": "p", "region": "ORD"});
        assert!(CloudSettings::parse(&base).is_ok());
        for (key, value, says) in [
            ("identity_url", json!("ftp://id"), "identity_url: an http or https URL"),
            ("identity_url", json!("nowhere"), "identity_url: \"nowhere\" is not a URL"),
            ("api_key", json!("k"), "exactly one of api_key or password"),
            ("region", json!(""), "region"),
            ("colour", json!("red"), "colour"),
        ] {
            let mut body = base.clone();
            body[key] = value;
            let err = CloudSettings::parse(&body).unwrap_err().to_string();
            assert!(err.contains(says), "{key}: {err}");
        }
    }
}
