//! Ebb's domain: the shapes of groups, launch configurations, policies and webhooks,
//! their validation, and the capacity maths every scaling decision goes through.
//!
//! Nothing here does I/O: no clock is read, no socket or file is opened, no SQL is written.
//! Callers pass the current time in, so the same code runs in the server, in tests on a
//! virtual clock and, later, in the simulator.
//!
//! Layout:
//! - [`json`]: a small checker over `serde_json::Value` that produces schema-style messages;
//! - [`documents`]: the shapes of the documents clients send, as types (the API's request schemas);
//! - [`group`]: group configuration (name, cooldown, min/max, metadata);
//! - [`launch`]: launch configurations (`launch_server`, `launch_stack`, `local_process`);
//! - [`grant`]: what the operator allows a tenant to run as `local_process` members;
//! - [`policy`]: scaling policies and their adjustments;
//! - [`schedule`]: `at` and `cron` arguments of schedule policies;
//! - [`webhook`]: webhook bodies;
//! - [`windows`]: time windows that override a group's bounds (Cloud Foundry's schedules);
//! - [`cf_policy`]: Cloud Foundry's policy document: its validation (schema, then semantics) and echo;
//! - [`cloud`]: Rackspace identity's requests and answers: tokens, their expiry, the service catalog;
//! - [`collector`]: collectors of pulled signals: their documents, secrets, health and read times;
//! - [`ids`]: identifiers of tenants, groups, policies, webhooks and members, as types;
//! - [`records`]: the records decisions are made on (group, state, policy, execution, event, history);
//! - [`decide`]: every rule that changes desired capacity or arms a time, as pure functions;
//! - [`capacity`]: executing a policy against a group (cooldowns, deltas, clamping), with
//!   Otter's decimal `changePercent` arithmetic in `percent`;
//! - [`converge`]: the convergence planner (desired capacity and observed members to steps);
//! - [`metrics`]: metric names, bounded series of samples, aggregation, and Cloud Foundry's
//!   scaling rules (breach evaluation, the new instance count);
//! - [`secret`]: hashing of capability and token secrets;
//! - [`limits`]: absolute limits per tenant, group and policy.

pub mod capacity;
pub mod cf_policy;
pub mod cloud;
pub mod collector;
pub mod converge;
pub mod decide;
pub mod documents;
pub mod grant;
pub mod group;
pub mod ids;
pub mod json;
pub mod launch;
pub mod limits;
pub mod metrics;
mod percent;
pub mod policy;
pub mod records;
pub mod schedule;
pub mod secret;
pub mod strategy;
pub mod webhook;
pub mod windows;

mod error;

pub use error::{Invalid, InvalidKind};
