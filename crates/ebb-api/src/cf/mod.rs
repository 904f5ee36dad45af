//! Cloud Foundry App Autoscaler's public API (`cf-app-autoscaler.md` §3), where an app is an
//! Ebb group: `{appId}` is a group id, and every route is authorized by the tenant that owns
//! the group ([`app::CfApp`]). Errors have Cloud Foundry's shapes: `{"code", "message"}`, and
//! `[{"context", "description"}]` for a policy that does not validate.
//!
//! Layout: [`app`] identifies the caller and the group; [`policy`] is the policy API;
//! [`metrics`] takes custom metrics; [`credential`] issues the credential that may submit them;
//! [`history`] answers scaling and metric histories.

pub mod app;
pub mod credential;
pub mod history;
pub mod metrics;
pub mod policy;
