//! Ebb's engine: the path through which every change to a group is decided and applied.
//!
//! For now the engine executes policies (from the API, and from capability URLs in the
//! background), records each outcome in metrics and logs, and reads time from an injected
//! [`Clock`]. Convergence, providers and the scheduler join it here.
//!
//! Layout:
//! - [`clock`]: the time source engine code reads;
//! - [`metrics`]: counters of policy executions by outcome;
//! - [`engine`]: [`Engine`], the operations on groups.

pub mod archiver;
pub mod balancer;
pub mod broker;
pub mod clock;
pub mod collectors;
pub mod converger;
pub mod engine;
pub mod measure;
pub mod metrics;
pub mod policies;
pub mod provider;
pub mod pruner;
pub mod rules;
pub mod samples;
pub mod scheduler;
pub mod throttled;

pub use clock::{Clock, SystemClock};
pub use engine::Engine;
pub use metrics::EngineMetrics;
