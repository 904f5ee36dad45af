//! Ebb's simulator: what an autoscaler bought against what the workload needed.
//!
//! - [`trace`]: request-rate traces, holes included;
//! - [`model`]: the capacity model (what a member serves, provisioning delays, what members
//!   report);
//! - [`setup`]: the group simulated, from a `POST /groups` body or a Cloud Foundry policy;
//! - [`run`]: one run on a virtual clock through the same decisions as `ebb serve`;
//! - [`scores`]: the SPEC Research Group's elasticity metrics of a run (demand and supply
//!   curves), instance-hours, cost ratios to the oracles and the SLO-violation share
//!   (`elasticity-benchmark.md` §1);
//! - [`recorded`]: a live group's recorded requests and decisions, as a trace to replay and
//!   the supply it had;
//! - [`kpa`]: Knative's Pod Autoscaler, a baseline;
//! - [`compare`]: runs scored side by side with the peers' defaults, a fixed capacity and the
//!   oracles.

pub mod compare;
pub mod kpa;
pub mod model;
pub mod recorded;
pub mod run;
pub mod scores;
pub mod setup;
pub mod trace;
