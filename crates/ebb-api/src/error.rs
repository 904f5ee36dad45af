//! [`ApiError`]: every failure the API answers with, and the one place that maps each to
//! an HTTP status and the documented JSON body
//! `{"error": {"type", "code", "message", "details"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ebb_core::{Invalid, InvalidKind};
use ebb_store::StoreError;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON.
    #[error("{0}")]
    InvalidJson(String),
    /// The body is JSON of the wrong shape.
    #[error("{0}")]
    Validation(String),
    /// `minEntities` > `maxEntities`.
    #[error("minEntities must be less than or equal to maxEntities")]
    InvalidMinEntities,
    /// A query argument does not parse.
    #[error("{0}")]
    InvalidQueryArgument(String),
    /// The body is larger than allowed.
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// No or unknown credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Credentials that do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Over a request budget.
    #[error("rate limit exceeded; retry in {retry_after} s")]
    RateLimited {
        /// Seconds until a request would be accepted.
        retry_after: u64,
    },
    /// No route for this path.
    #[error("no resource at {0}")]
    NotFound(String),
    /// The path exists but not with this method.
    #[error("method {0} is not allowed here")]
    MethodNotAllowed(String),
    /// An Otter error with its own type name and status (404s, 403s, 422s, 501s).
    #[error("{message}")]
    Otter {
        /// The status.
        status: StatusCode,
        /// The error type name, as Otter spells it.
        kind: &'static str,
        /// The message.
        message: String,
    },
    /// A conflict outside Otter's API (an admin resource that exists already).
    #[error("{0}")]
    Conflict(String),
    /// The service cannot answer now (its store is busy); retry later.
    #[error("the service is busy; retry in {retry_after} s")]
    Unavailable {
        /// Seconds until a retry is sensible.
        retry_after: u64,
    },
    /// Anything unexpected.
    #[error("An Internal Error was encountered")]
    Internal(String),
    /// An error of a Cloud Foundry route, answered as Cloud Foundry does: `{"code", "message"}`.
    #[error("{message}")]
    Cf {
        /// The status.
        status: StatusCode,
        /// Cloud Foundry's code: the status text, or its own (`App not found`).
        code: &'static str,
        /// The message.
        message: String,
    },
    /// A Cloud Foundry policy that does not validate: `[{"context", "description"}]`.
    #[error("invalid policy")]
    CfPolicy(Vec<ebb_core::cf_policy::PolicyError>),
    /// An error of the service broker, answered as the Open Service Broker API has it:
    /// `{"error", "description"}`.
    #[error("{description}")]
    Broker {
        /// The status.
        status: StatusCode,
        /// The code a platform acts on, when there is one.
        code: Option<&'static str>,
        /// What went wrong.
        description: String,
    },
    /// Over a Cloud Foundry app's request budget.
    #[error("Too many requests")]
    CfRateLimited {
        /// Seconds until a request would be accepted.
        retry_after: u64,
    },
}

impl ApiError {
    /// An Otter error with its type name.
    pub fn otter(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError::Otter { status, kind, message: message.into() }
    }

    /// A Cloud Foundry error with the status text as its code.
    pub fn cf(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError::Cf { status, code: status.canonical_reason().unwrap_or("Error"), message: message.into() }
    }

    /// A service broker error.
    pub fn broker(status: StatusCode, code: Option<&'static str>, description: impl Into<String>) -> Self {
        ApiError::Broker { status, code, description: description.into() }
    }

    /// The status and type name of this error.
    pub fn status_and_type(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::InvalidJson(_) => (StatusCode::BAD_REQUEST, "InvalidJsonError"),
            ApiError::Validation(_) => (StatusCode::BAD_REQUEST, "ValidationError"),
            ApiError::InvalidMinEntities => (StatusCode::BAD_REQUEST, "InvalidMinEntities"),
            ApiError::InvalidQueryArgument(_) => (StatusCode::BAD_REQUEST, "InvalidQueryArgument"),
            ApiError::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "InvalidCredentials"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "Forbidden"),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "RateLimited"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "NotFound"),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
            ApiError::Otter { status, kind, .. } => (*status, kind),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "Conflict"),
            ApiError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
            ApiError::Cf { status, code, .. } => (*status, code),
            ApiError::CfPolicy(_) => (StatusCode::BAD_REQUEST, "InvalidPolicy"),
            ApiError::CfRateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "Request-Limit-Exceeded"),
            ApiError::Broker { status, code, .. } => (*status, code.unwrap_or("BrokerError")),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        match invalid.kind {
            InvalidKind::Schema => ApiError::Validation(invalid.message),
            InvalidKind::MinEntities => ApiError::InvalidMinEntities,
            InvalidKind::Rule => ApiError::Validation(invalid.message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind) = self.status_and_type();
        use crate::wire::CfErrorAnswer;
        let cf = match &self {
            ApiError::Cf { code, message, .. } => {
                Some(CfErrorAnswer::Error { code: code.to_string(), message: message.clone() })
            }
            ApiError::CfRateLimited { .. } => {
                Some(CfErrorAnswer::Error { code: kind.to_string(), message: self.to_string() })
            }
            ApiError::CfPolicy(errors) => Some(CfErrorAnswer::Invalid(errors.clone())),
            _ => None,
        };
        if let ApiError::Broker { status, code, description } = self {
            let body = crate::wire::BrokerErrorAnswer { error: code.map(str::to_string), description };
            let mut response = (status, axum::Json(body)).into_response();
            if status == StatusCode::UNAUTHORIZED {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"ebb\""));
            }
            return response;
        }
        if let Some(body) = cf {
            let mut response = (status, axum::Json(body)).into_response();
            if let ApiError::CfRateLimited { retry_after } = self {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
            }
            return response;
        }
        let details = match &self {
            ApiError::Internal(cause) => {
                // Logged once here, with the cause the caller does not see.
                tracing::error!(error = %cause, "internal error");
                String::new()
            }
            _ => String::new(),
        };
        let body = crate::wire::ErrorAnswer {
            error: crate::wire::ErrorDetail {
                kind: kind.to_string(),
                code: status.as_u16(),
                message: self.to_string(),
                details,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let ApiError::RateLimited { retry_after } | ApiError::Unavailable { retry_after } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
        }
        response
    }
}

/// Identifies the resource a store error is about, so messages can name it as Otter does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// The group, when there is one.
    pub group: &'a str,
    /// The policy, when there is one.
    pub policy: &'a str,
    /// The webhook, when there is one.
    pub webhook: &'a str,
    /// The member (server), when there is one.
    pub member: &'a str,
    /// The collector, when there is one.
    pub collector: &'a str,
}

impl Scope<'_> {
    /// Maps a store error to the Otter error for this resource.
    pub fn error(&self, err: StoreError) -> ApiError {
        let Scope { tenant: t, group: g, policy: p, webhook: w, member: m, collector: c } = *self;
        match err {
            StoreError::GroupNotFound => ApiError::otter(
                StatusCode::NOT_FOUND,
                "NoSuchScalingGroupError",
                format!("No such scaling group {g} for tenant {t}"),
            ),
            StoreError::PolicyNotFound => ApiError::otter(
                StatusCode::NOT_FOUND,
                "NoSuchPolicyError",
                format!("No such scaling policy {p} for group {g} for tenant {t}"),
            ),
            StoreError::CollectorNotFound => ApiError::otter(
                StatusCode::NOT_FOUND,
                "NoSuchCollectorError",
                format!("No such collector {c} for group {g} for tenant {t}"),
            ),
            StoreError::CollectorLimit { current, adding, limit } => ApiError::otter(
                StatusCode::UNPROCESSABLE_ENTITY,
                "CollectorsOverLimitError",
                format!(
                    "Currently there are {current} collectors for tenant {t}, scaling group {g}. \
                     Creating {adding} new collectors would exceed the limit of {limit} per group."
                ),
            ),
            StoreError::WebhookNotFound => ApiError::otter(
                StatusCode::NOT_FOUND,
                "NoSuchWebhookError",
                format!("No such webhook {w} for policy {p} in group {g} for tenant {t}"),
            ),
            StoreError::TenantNotFound => {
                ApiError::otter(StatusCode::NOT_FOUND, "NoSuchTenantError", format!("No such tenant {t}"))
            }
            StoreError::TokenNotFound => {
                ApiError::otter(StatusCode::NOT_FOUND, "NoSuchTokenError", format!("No such token for tenant {t}"))
            }
            StoreError::TenantExists => ApiError::Conflict(format!("Tenant {t} exists already")),
            StoreError::GroupLimit { limit } => ApiError::otter(
                StatusCode::UNPROCESSABLE_ENTITY,
                "ScalingGroupOverLimitError",
                format!("Allowed limit of {limit} scaling groups reached by tenant {t}"),
            ),
            StoreError::PolicyLimit { current, adding, limit } => ApiError::otter(
                StatusCode::UNPROCESSABLE_ENTITY,
                "PoliciesOverLimitError",
                format!(
                    "Currently there are {current} policies for tenant {t}, scaling group {g}. \
                     Creating {adding} new policies would exceed the policy limit of {limit} per group."
                ),
            ),
            StoreError::WebhookLimit { current, adding, limit } => ApiError::otter(
                StatusCode::UNPROCESSABLE_ENTITY,
                "WebhooksOverLimitError",
                format!(
                    "Currently there are {current} webhooks for tenant {t}, scaling group {g}, policy {p}. \
                     Creating {adding} new webhooks would exceed the webhook limit of {limit} per policy."
                ),
            ),
            StoreError::MemberNotFound => ApiError::otter(
                StatusCode::NOT_FOUND,
                "ServerNotFoundError",
                format!("Active server {m} not found in tenant {t}'s group {g}"),
            ),
            StoreError::BelowMinimum { min } => ApiError::otter(
                StatusCode::FORBIDDEN,
                "CannotDeleteServerBelowMinError",
                format!(
                    "Cannot remove server {m} from tenant {t}'s group {g}. It will reduce number of servers below required minimum {min}."
                ),
            ),
            StoreError::GroupNotEmpty => ApiError::otter(
                StatusCode::FORBIDDEN,
                "GroupNotEmptyError",
                format!("Group {g} for tenant {t} still has entities."),
            ),
            StoreError::Busy { retry_after } => ApiError::Unavailable { retry_after },
            StoreError::ServiceInstanceNotFound => {
                ApiError::otter(StatusCode::NOT_FOUND, "NoSuchServiceInstanceError", "No such service instance")
            }
            StoreError::ServiceInstanceBound => ApiError::Conflict("The service instance has bindings".to_string()),
            StoreError::GroupBound => ApiError::Conflict(format!("Group {g} is bound to a service instance already")),
            other @ (StoreError::UnsupportedUrl(_)
            | StoreError::Corrupt(_)
            | StoreError::Backend { .. }
            | StoreError::Closed) => ApiError::Internal(other.to_string()),
        }
    }
}
