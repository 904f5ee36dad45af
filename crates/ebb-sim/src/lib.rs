//! Ebb's simulator: what an autoscaler bought against what the workload needed.
//!
//! - [`scores`]: the SPEC Research Group's elasticity metrics of a run (demand and supply
//!   curves), instance-hours, cost ratios to the oracles and the SLO-violation share
//!   (`elasticity-benchmark.md` §1).

pub mod scores;
