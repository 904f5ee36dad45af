//! The Auto Scale API v1.0 (Otter's), under `/v1.0`.
//!
//! Layout: [`groups`] (groups, their config, launch, state, pause/resume, converge, servers),
//! [`explain`] (why a group is at its size, and members' votes),
//! [`policies`] (policies and executing them), [`webhooks`] (webhooks and capability URLs),
//! [`schedules`] (schedule policies and group events), [`history`] (every change of desired
//! capacity), [`limits`], [`members`] (members as Ebb runs them, their logs, load-balancer statistics), [`samples`]
//! (many metric samples at once). [`view`] renders records in Otter's JSON shapes.

pub mod collectors;
pub mod explain;
pub mod groups;
pub mod history;
pub mod limits;
pub mod members;
pub mod policies;
pub mod samples;
pub mod schedules;
pub mod view;
pub mod webhooks;

use axum::extract::FromRequestParts;
use axum::extract::rejection::PathRejection;
use ebb_core::ids::{GroupId, MemberId, PolicyId, TenantId, WebhookId};
use serde::Deserialize;

use crate::error::{ApiError, Scope};

/// Path parameters, with bad ones answered as a JSON 404 rather than the framework's text.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Ids<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::otter(
            axum::http::StatusCode::NOT_FOUND,
            "NotFound",
            format!("no such resource: {}", rejection.body_text()),
        )
    }
}

/// `/v1.0/{tenant}/...`.
#[derive(Debug, Deserialize)]
pub struct TenantPath {
    /// The tenant.
    pub tenant: TenantId,
}

/// `/v1.0/{tenant}/groups/{group}/...`.
#[derive(Debug, Deserialize)]
pub struct GroupPath {
    /// The tenant.
    pub tenant: TenantId,
    /// The group.
    pub group: GroupId,
}

impl GroupPath {
    /// The scope for error messages.
    pub fn scope(&self) -> Scope<'_> {
        Scope { tenant: self.tenant.as_str(), group: self.group.as_str(), ..Scope::default() }
    }
}

/// `/v1.0/{tenant}/groups/{group}/policies/{policy}/...`.
#[derive(Debug, Deserialize)]
pub struct PolicyPath {
    /// The tenant.
    pub tenant: TenantId,
    /// The group.
    pub group: GroupId,
    /// The policy.
    pub policy: PolicyId,
}

impl PolicyPath {
    /// The scope for error messages.
    pub fn scope(&self) -> Scope<'_> {
        Scope {
            tenant: self.tenant.as_str(),
            group: self.group.as_str(),
            policy: self.policy.as_str(),
            ..Scope::default()
        }
    }
}

/// `/v1.0/{tenant}/groups/{group}/policies/{policy}/webhooks/{webhook}`.
#[derive(Debug, Deserialize)]
pub struct WebhookPath {
    /// The tenant.
    pub tenant: TenantId,
    /// The group.
    pub group: GroupId,
    /// The policy.
    pub policy: PolicyId,
    /// The webhook.
    pub webhook: WebhookId,
}

impl WebhookPath {
    /// The scope for error messages.
    pub fn scope(&self) -> Scope<'_> {
        Scope {
            tenant: self.tenant.as_str(),
            group: self.group.as_str(),
            policy: self.policy.as_str(),
            webhook: self.webhook.as_str(),
            ..Scope::default()
        }
    }
}

/// `/v1.0/{tenant}/groups/{group}/servers/{server}`.
#[derive(Debug, Deserialize)]
pub struct ServerPath {
    /// The tenant.
    pub tenant: TenantId,
    /// The group.
    pub group: GroupId,
    /// The server (member).
    pub server: MemberId,
}

/// `/v1.0/{tenant}/groups/{group}/members/{member}/...`.
#[derive(Debug, Deserialize)]
pub struct MemberPath {
    /// The tenant.
    pub tenant: TenantId,
    /// The group.
    pub group: GroupId,
    /// The member.
    pub member: MemberId,
}

impl MemberPath {
    /// The scope for error messages.
    pub fn scope(&self) -> Scope<'_> {
        Scope {
            tenant: self.tenant.as_str(),
            group: self.group.as_str(),
            member: self.member.as_str(),
            ..Scope::default()
        }
    }
}
