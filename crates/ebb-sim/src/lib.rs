//! Ebb's simulator: what an autoscaler bought against what the workload needed.
//!
//! - [`trace`]: request-rate traces, holes included;
//! - [`model`]: the capacity model (what a member serves, provisioning delays, what members
//!   report);
//! - [`scores`]: the SPEC Research Group's elasticity metrics of a run (demand and supply
//!   curves), instance-hours, cost ratios to the oracles and the SLO-violation share
//!   (`elasticity-benchmark.md` §1).

pub mod model;
pub mod scores;
pub mod trace;
