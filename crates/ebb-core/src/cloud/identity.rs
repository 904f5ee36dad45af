//! Rackspace identity (Keystone v2) as data: the authentication request for a tenant's cloud
//! credentials, the access an answer grants — a token, when it expires, the cloud tenant it
//! belongs to, the service catalog — and the endpoint of a service in a region. No I/O: the
//! engine sends the request and hands the answer here.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// How long before it expires a token is no longer used: a request started with it should
/// not meet its end.
pub const EXPIRY_MARGIN: SignedDuration = SignedDuration::from_mins(5);

/// What authenticates a tenant's cloud user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    /// A Rackspace API key (`RAX-KSKEY:apiKeyCredentials`).
    ApiKey(String),
    /// A password (`passwordCredentials`).
    Password(String),
}

/// A tenant's cloud credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The identity endpoint, `http://…/identity/v2.0` (`/tokens` is appended).
    pub identity_url: String,
    /// The user.
    pub username: String,
    /// Its API key or password.
    pub secret: Secret,
    /// The cloud tenant (project) to pin, if any.
    pub project_id: Option<String>,
    /// The region whose endpoints are used.
    pub region: String,
}

impl Credentials {
    /// The URL authentication is posted to.
    pub fn tokens_url(&self) -> String {
        format!("{}/tokens", self.identity_url.trim_end_matches('/'))
    }

    /// The body of `POST /tokens`.
    pub fn request(&self) -> Value {
        let mut auth = match &self.secret {
            Secret::ApiKey(key) => json!({"RAX-KSKEY:apiKeyCredentials": {"username": self.username, "apiKey": key}}),
            Secret::Password(password) => {
                json!({"passwordCredentials": {"username": self.username, "password": password}})
            }
        };
        if let Some(project) = &self.project_id {
            auth["tenantId"] = json!(project);
        }
        json!({ "auth": auth })
    }
}

/// One endpoint of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Its region (none for global services).
    pub region: Option<String>,
    /// Its public URL.
    pub public_url: String,
    /// Its ServiceNet URL, if any.
    pub internal_url: Option<String>,
}

/// One service of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Its name (`cloudServersOpenStack`).
    pub name: String,
    /// Its type (`compute`).
    pub kind: String,
    /// Its endpoints.
    pub endpoints: Vec<Endpoint>,
}

/// What an authentication grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The token.
    pub token: String,
    /// When it expires.
    pub expires: Timestamp,
    /// The cloud tenant it belongs to.
    pub tenant: String,
    /// The service catalog.
    pub catalog: Vec<Service>,
}

/// Why identity's answer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The answer is not an access document.
    #[error("identity's answer is not an access document: {0}")]
    Malformed(String),
    /// The catalog has no such service.
    #[error("the service catalog has no {kind} service named {name:?}")]
    NoService {
        /// Its type.
        kind: String,
        /// Its name.
        name: String,
    },
    /// The service has no endpoint in the region.
    #[error("the {name} service has no endpoint in region {region}")]
    NoEndpoint {
        /// The service.
        name: String,
        /// The region.
        region: String,
    },
}

fn text<'a>(value: &'a Value, path: &str) -> Result<&'a str, AccessError> {
    value.pointer(path).and_then(Value::as_str).ok_or_else(|| AccessError::Malformed(format!("no {path}")))
}

impl Access {
    /// The access an answer to `POST /tokens` grants.
    pub fn parse(answer: &Value) -> Result<Access, AccessError> {
        let token = text(answer, "/access/token/id")?.to_string();
        let expires = text(answer, "/access/token/expires")?;
        let expires = expires
            .parse::<Timestamp>()
            .map_err(|err| AccessError::Malformed(format!("/access/token/expires {expires:?}: {err}")))?;
        let tenant = text(answer, "/access/token/tenant/id")?.to_string();
        let services =
            answer.pointer("/access/serviceCatalog").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        let catalog = services
            .iter()
            .map(|service| Service {
                name: service["name"].as_str().unwrap_or_default().to_string(),
                kind: service["type"].as_str().unwrap_or_default().to_string(),
                endpoints: service["endpoints"]
                    .as_array()
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .filter_map(|e| {
                        Some(Endpoint {
                            region: e["region"].as_str().filter(|r| !r.is_empty()).map(str::to_string),
                            public_url: e["publicURL"].as_str()?.to_string(),
                            internal_url: e["internalURL"].as_str().map(str::to_string),
                        })
                    })
                    .collect(),
            })
            .collect();
        Ok(Access { token, expires, tenant, catalog })
    }

    /// Whether the token may still be used at `now`.
    pub fn usable(&self, now: Timestamp) -> bool {
        now + EXPIRY_MARGIN < self.expires
    }

    /// The public URL of the service `name` of type `kind` in `region` (or its only, global,
    /// endpoint).
    pub fn endpoint(&self, kind: &str, name: &str, region: &str) -> Result<&str, AccessError> {
        let service = self
            .catalog
            .iter()
            .find(|s| s.kind == kind && s.name == name)
            .ok_or_else(|| AccessError::NoService { kind: kind.to_string(), name: name.to_string() })?;
        let endpoint = service
            .endpoints
            .iter()
            .find(|e| e.region.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(region)))
            .or_else(|| service.endpoints.iter().find(|e| e.region.is_none()))
            .ok_or_else(|| AccessError::NoEndpoint { name: name.to_string(), region: region.to_string() })?;
        Ok(&endpoint.public_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(secret: Secret, project: Option<&str>) -> Credentials {
        Credentials {
            identity_url: "http://127.0.0.1:8900/identity/v2.0/".into(),
            username: "autoscale".into(),
            secret,
            project_id: project.map(str::to_string),
            region: "ORD".into(),
        }
    }

    /// An answer as mimic gives it, cut down.
    fn answer() -> Value {
        json!({"access": {
        "token": {"id": "token_1", "expires": "2026-12-06T18:23:33.999-05:00", "tenant": {"id": "123456", "name": "123456"}},
        "serviceCatalog": [
            {"name": "cloudServersOpenStack", "type": "compute", "endpoints": [
                {"region": "DFW", "tenantId": "123456", "publicURL": "http://mimic/nova/DFW/v2/123456"},
                {"region": "ORD", "tenantId": "123456", "publicURL": "http://mimic/nova/ORD/v2/123456"}]},
            {"name": "cloudDNS", "type": "rax:dns", "endpoints": [{"region": "", "publicURL": "http://mimic/dns/123456"}]},
            {"name": "rackconnect", "type": "rax:rackconnect", "endpoints": [{"region": "ORD", "publicURL": "http://mimic/rcv3/ORD/v3/123456"}]}
        ]}})
    }

    #[test]
    fn the_request_carries_an_api_key_or_a_password_and_pins_the_project_if_asked() {
        let key = credentials(Secret::ApiKey("k3y".into()), Some("123456"));
        assert_eq!(key.tokens_url(), "http://127.0.0.1:8900/identity/v2.0/tokens");
        assert_eq!(
            key.request(),
            json!({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "autoscale", "apiKey": "k3y"}, "tenantId": "123456"}})
        );
        let password = credentials(Secret::Password("pw".into()), None);
        assert_eq!(
            password.request(),
            json!({"auth": {"passwordCredentials": {"username": "autoscale", "password": "pw"}}})
        );
    }

    #[test]
    fn an_answer_gives_a_token_its_expiry_its_tenant_and_the_endpoints_by_region() {
        let access = Access::parse(&answer()).unwrap();
        assert_eq!((access.token.as_str(), access.tenant.as_str()), ("token_1", "123456"));
        assert_eq!(access.expires, "2026-12-06T23:23:33.999Z".parse().unwrap());
        assert_eq!(access.endpoint("compute", "cloudServersOpenStack", "ord"), Ok("http://mimic/nova/ORD/v2/123456"));
        assert_eq!(access.endpoint("rax:dns", "cloudDNS", "ORD"), Ok("http://mimic/dns/123456"), "a global service");
        assert_eq!(
            access.endpoint("rax:rackconnect", "rackconnect", "LON"),
            Err(AccessError::NoEndpoint { name: "rackconnect".into(), region: "LON".into() })
        );
        assert_eq!(
            access.endpoint("rax:load-balancer", "cloudLoadBalancers", "ORD").unwrap_err().to_string(),
            "the service catalog has no rax:load-balancer service named \"cloudLoadBalancers\""
        );
        assert!(Access::parse(&json!({"access": {}})).unwrap_err().to_string().contains("/access/token/id"));
    }

    #[test]
    fn a_token_is_not_used_in_the_last_minutes_before_it_expires() {
        let access = Access::parse(&answer()).unwrap();
        assert!(access.usable(access.expires - SignedDuration::from_mins(6)));
        assert!(!access.usable(access.expires - SignedDuration::from_mins(4)));
    }
}
