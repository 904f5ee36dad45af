//! Ebb's HTTP API: the only crate that knows the wire format.
//!
//! It serves Otter's Auto Scale API v1.0 under `/v1.0`, Cloud Foundry's under `/v1/apps`, the operator's admin API under
//! `/admin/v1`, and `/health`, `/metrics` and `/openapi.json`.
//!
//! Layout:
//! - [`router`]: the route table, from which both the router and the OpenAPI document are built;
//! - [`state`]: what handlers share ([`AppState`], [`ApiConfig`]);
//! - [`error`]: [`ApiError`], the one mapping from failures to statuses and JSON error bodies;
//! - [`body`]: the JSON body and query extractors that turn bad input into documented errors;
//! - [`auth`]: tokens, roles and tenants;
//! - [`rate_limit`]: per-tenant and per-capability request budgets;
//! - [`observe`]: response ids, content types, request metrics and logs;
//! - [`links`]: absolute links and pagination;
//! - [`otter`]: the Auto Scale handlers; [`cf`]: Cloud Foundry App Autoscaler's API (policy,
//!   custom metrics); [`admin`]: tenants and tokens; [`ops`]: health and metrics.

pub mod admin;
pub mod auth;
pub mod body;
pub mod broker;
pub mod cf;
pub mod error;
pub mod links;
pub mod observe;
pub mod ops;
pub mod otter;
pub mod rate_limit;
pub mod router;
pub mod state;
pub mod wire;

pub use error::ApiError;
pub use router::app;
pub use state::{ApiConfig, AppState};
