//! Scaling strategies as pure functions: what a metric policy proposes from its inputs, with
//! no I/O and no clock (time is a parameter), so that `ebb serve` and a simulator run the same
//! code.
//!
//! - [`replicas`]: Kubernetes HPA's replica calculation (target tracking);
//! - [`behavior`]: HPA's stabilization windows and rate policies;
//! - [`target_tracking`]: the `target_tracking` policy's arguments, in the HPA's words;
//! - [`step`]: AWS step scaling;
//! - [`threshold`]: autoscalebot's consecutive and average thresholds;
//! - [`votes`]: RightScale's instance voting;
//! - [`metric_policy`]: metric policies as the policy API takes them (type, args, dry run,
//!   fallback);
//! - [`combine`]: several policies' proposals made one, safety first, with fallbacks;
//! - [`evaluate`]: one evaluation of a group's metric policies, explained;
//! - [`state`]: a group's metric policies with what they remember, and the steps around an
//!   evaluation (its inputs from the group's samples, what to remember, what to commit).

pub mod behavior;
pub mod combine;
pub mod evaluate;
pub mod metric_policy;
pub mod replicas;
pub mod state;
pub mod step;
pub mod target_tracking;
pub mod threshold;
pub mod votes;
pub mod why;

#[cfg(test)]
mod tests;

/// The instants the strategies' tests are written at.
#[cfg(test)]
pub(crate) mod at {
    use jiff::{SignedDuration, Timestamp};

    /// The tests' present.
    pub fn now() -> Timestamp {
        "2026-06-01T12:00:00Z".parse().unwrap()
    }

    /// `secs` seconds before [`now`].
    pub fn ago(secs: i64) -> Timestamp {
        now() - SignedDuration::from_secs(secs)
    }
}
