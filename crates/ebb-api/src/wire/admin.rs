//! The admin API's answers and requests: tenants, tokens, what a tenant may run.

use ebb_core::grant::LocalProcessGrant;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `POST /admin/v1/tenants`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// 1 to 64 letters, digits, `_`, `-`, `.` or `:`, starting with a letter or digit.
    pub id: String,
}

/// A tenant.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TenantView {
    /// Its id.
    pub id: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

/// One tenant.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TenantAnswer {
    /// The tenant.
    pub tenant: TenantView,
}

/// Every tenant.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TenantList {
    /// By id.
    pub tenants: Vec<TenantView>,
}

/// What a token may do.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    /// Read and write the tenant's resources.
    Admin,
    /// Only read them.
    Observer,
}

/// `POST /admin/v1/tenants/{tenant}/tokens`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Its role.
    pub role: RoleName,
}

/// A token just made: its secret is shown here and never again.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TokenCreated {
    /// Its id, to revoke it.
    pub id: String,
    /// Its tenant.
    pub tenant: String,
    /// `admin` or `observer`.
    pub role: String,
    /// The secret: shown once.
    pub secret: String,
    /// When it was made.
    pub created_at: String,
}

/// The answer to a new token.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TokenAnswer {
    /// The token, with its secret.
    pub token: TokenCreated,
}

/// What a tenant may run as `local_process` members.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GrantAnswer {
    /// The grant.
    pub local_process: LocalProcessGrant,
}

/// A tenant's cloud settings, without their secret.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CloudAnswer {
    /// The settings; null when the tenant has none.
    pub cloud: Option<ebb_core::cloud::settings::CloudView>,
}
