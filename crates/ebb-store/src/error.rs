//! Errors of the store: domain outcomes the API maps to statuses, and backend failures.

use ebb_core::decide::Rejection;

/// Why a store operation did not happen.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// No tenant with that id.
    #[error("no such tenant")]
    TenantNotFound,
    /// A tenant with that id exists already.
    #[error("tenant exists already")]
    TenantExists,
    /// No token with that id for the tenant.
    #[error("no such token")]
    TokenNotFound,
    /// No group with that id for the tenant.
    #[error("no such scaling group")]
    GroupNotFound,
    /// No policy with that id in the group.
    #[error("no such scaling policy")]
    PolicyNotFound,
    /// No webhook with that id on the policy.
    #[error("no such webhook")]
    WebhookNotFound,
    /// The tenant has as many groups as allowed.
    #[error("group limit of {limit} reached")]
    GroupLimit {
        /// The limit.
        limit: usize,
    },
    /// No member with that id in the group.
    #[error("no such member")]
    MemberNotFound,
    /// Removing a member without replacement would take the group below its minimum.
    #[error("the group is at its minimum of {min}")]
    BelowMinimum {
        /// The minimum.
        min: u32,
    },
    /// The group would have more policies than allowed.
    #[error("policy limit of {limit} exceeded")]
    PolicyLimit {
        /// Policies the group has.
        current: usize,
        /// Policies being added.
        adding: usize,
        /// The limit.
        limit: usize,
    },
    /// No collector with that id in the group.
    #[error("no such collector")]
    CollectorNotFound,
    /// The group would have more collectors than allowed.
    #[error("collector limit of {limit} exceeded")]
    CollectorLimit {
        /// Collectors the group has.
        current: usize,
        /// Collectors being added.
        adding: usize,
        /// The limit.
        limit: usize,
    },
    /// The policy would have more webhooks than allowed.
    #[error("webhook limit of {limit} exceeded")]
    WebhookLimit {
        /// Webhooks the policy has.
        current: usize,
        /// Webhooks being added.
        adding: usize,
        /// The limit.
        limit: usize,
    },
    /// A group with a desired capacity other than 0 was deleted without `force`.
    #[error("scaling group still has entities")]
    GroupNotEmpty,
    /// No service instance with that id.
    #[error("no such service instance")]
    ServiceInstanceNotFound,
    /// A service instance with bindings cannot be deprovisioned.
    #[error("the service instance has bindings")]
    ServiceInstanceBound,
    /// The group is bound to a service instance already (by another binding).
    #[error("the group is bound already")]
    GroupBound,
    /// The store URL names no supported backend.
    #[error("unsupported store url {0:?}: expected sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// Stored data does not parse: a bug or outside tampering.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database failed; the operation may not have happened.
    #[error("database error during {context}: {message}")]
    Backend {
        /// What the store was doing.
        context: &'static str,
        /// The driver's message.
        message: String,
    },
    /// Every reader stayed busy for as long as a read may wait; try again later.
    #[error("the store is busy; retry in {retry_after} s")]
    Busy {
        /// Seconds after which a retry is sensible.
        retry_after: u64,
    },
    /// The store is shutting down.
    #[error("the store is closed")]
    Closed,
}

impl From<Rejection> for StoreError {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::BelowMinimum { min } => StoreError::BelowMinimum { min },
            Rejection::GroupNotEmpty => StoreError::GroupNotEmpty,
            Rejection::NoPolicy => StoreError::PolicyNotFound,
        }
    }
}
