//! Kubernetes HPA's `behavior` (`modern-autoscalers.md` §1.3): a raw proposal is stabilized
//! against recent ones, then limited by rate policies over recent scale events, then clamped to
//! the bounds in force.

use jiff::{SignedDuration, Timestamp};

use crate::capacity::Bounds;

/// How a rate policy limits a change over its period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateKind {
    /// By members (`Pods`).
    Members,
    /// By a percentage of the count at the start of the period.
    Percent,
}

/// One rate policy: at most `value` members (or percent) per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatePolicy {
    /// Members or percent.
    pub kind: RateKind,
    /// How many.
    pub value: u32,
    /// Over how long.
    pub period: SignedDuration,
}

/// Which of several rate policies applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Select {
    /// The one that allows the largest change.
    #[default]
    Max,
    /// The one that allows the smallest change.
    Min,
    /// None: this direction never scales.
    Disabled,
}

/// The rules of one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// How far back proposals are remembered: a scale-up follows the lowest of them, a
    /// scale-down the highest.
    pub stabilization: SignedDuration,
    /// Which rate policy applies.
    pub select: Select,
    /// The rate policies.
    pub policies: Vec<RatePolicy>,
}

/// Both directions' rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behavior {
    /// When the proposal is above the current count.
    pub up: Rules,
    /// When it is below.
    pub down: Rules,
}

impl Default for Behavior {
    /// The HPA's defaults: up at once, by 4 members or 100 % per 15 s, whichever is more; down
    /// after 300 s of stabilization, by 100 % per 15 s.
    fn default() -> Self {
        let per_15s = |kind, value| RatePolicy { kind, value, period: SignedDuration::from_secs(15) };
        Behavior {
            up: Rules {
                stabilization: SignedDuration::ZERO,
                select: Select::Max,
                policies: vec![per_15s(RateKind::Members, 4), per_15s(RateKind::Percent, 100)],
            },
            down: Rules {
                stabilization: SignedDuration::from_secs(300),
                select: Select::Max,
                policies: vec![per_15s(RateKind::Percent, 100)],
            },
        }
    }
}

/// A raw proposal remembered for stabilization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recommendation {
    /// When it was made.
    pub at: Timestamp,
    /// The count it proposed.
    pub replicas: u32,
}

/// A change of the count, for rate policies: positive up, negative down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleEvent {
    /// When it happened.
    pub at: Timestamp,
    /// By how many members.
    pub change: i64,
}

/// What limited the outcome, if anything did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Nothing: the stabilized proposal stands.
    WithinRange,
    /// Stabilization held it back.
    Stabilized,
    /// A rate policy allowed less of a scale-up.
    ScaleUpLimit,
    /// A rate policy allowed less of a scale-down.
    ScaleDownLimit,
    /// The maximum.
    TooMany,
    /// The minimum.
    TooFew,
}

/// The outcome of normalising a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Normalized {
    /// The count after stabilization.
    pub stabilized: u32,
    /// The count to scale to.
    pub replicas: u32,
    /// What limited it last.
    pub limit: Limit,
}

/// The stabilized count: the current one, raised to the lowest proposal of the scale-up window
/// (the new `desired` among them), then lowered to the highest of the scale-down window.
pub fn stabilize(current: u32, desired: u32, past: &[Recommendation], behavior: &Behavior, now: Timestamp) -> u32 {
    let (up_cutoff, down_cutoff) = (now - behavior.up.stabilization, now - behavior.down.stabilization);
    let up = past.iter().filter(|r| r.at > up_cutoff).map(|r| r.replicas).fold(desired, u32::min);
    let down = past.iter().filter(|r| r.at > down_cutoff).map(|r| r.replicas).fold(desired, u32::max);
    current.max(up).min(down)
}

/// Members added (`up`) or removed in the last `period`.
fn changed_within(events: &[ScaleEvent], period: SignedDuration, now: Timestamp, up: bool) -> i64 {
    let cutoff = now - period;
    events.iter().filter(|e| e.at > cutoff && (e.change > 0) == up && e.change != 0).map(|e| e.change.abs()).sum()
}

/// The count at the start of `period`: the current one less what was added in it, plus what
/// was removed (both directions count, as in the HPA).
fn period_start(current: i64, events: &[ScaleEvent], period: SignedDuration, now: Timestamp) -> i64 {
    current - changed_within(events, period, now, true) + changed_within(events, period, now, false)
}

/// The most a scale-up may reach now under `rules` (never below `current`).
pub fn scale_up_limit(current: u32, events: &[ScaleEvent], rules: &Rules, now: Timestamp) -> i64 {
    let current = i64::from(current);
    let proposals = rules.policies.iter().map(|p| {
        let start = period_start(current, events, p.period, now);
        match p.kind {
            RateKind::Members => start + i64::from(p.value),
            RateKind::Percent => (start as f64 * (1.0 + f64::from(p.value) / 100.0)).ceil() as i64,
        }
    });
    let limit = match rules.select {
        Select::Disabled => current,
        Select::Max => proposals.max().unwrap_or(current),
        Select::Min => proposals.min().unwrap_or(current),
    };
    limit.max(current)
}

/// The least a scale-down may reach now under `rules` (never above `current`).
pub fn scale_down_limit(current: u32, events: &[ScaleEvent], rules: &Rules, now: Timestamp) -> i64 {
    let current = i64::from(current);
    let proposals = rules.policies.iter().map(|p| {
        let start = period_start(current, events, p.period, now);
        match p.kind {
            RateKind::Members => start - i64::from(p.value),
            RateKind::Percent => (start as f64 * (1.0 - f64::from(p.value) / 100.0)) as i64,
        }
    });
    let limit = match rules.select {
        Select::Disabled => current,
        Select::Max => proposals.min().unwrap_or(current),
        Select::Min => proposals.max().unwrap_or(current),
    };
    limit.min(current)
}

/// Normalises a raw proposal: stabilized, rate-limited, clamped to `bounds`.
pub fn normalize(
    current: u32,
    desired: u32,
    past: &[Recommendation],
    events: &[ScaleEvent],
    behavior: &Behavior,
    bounds: Bounds,
    now: Timestamp,
) -> Normalized {
    let stabilized = stabilize(current, desired, past, behavior, now);
    let mut limit = if stabilized == desired { Limit::WithinRange } else { Limit::Stabilized };
    let replicas = if stabilized > current {
        let rate = scale_up_limit(current, events, &behavior.up, now);
        let max = i64::from(bounds.max);
        let (allowed, why) = if max > rate { (rate, Limit::ScaleUpLimit) } else { (max, Limit::TooMany) };
        if i64::from(stabilized) > allowed {
            limit = why;
            allowed
        } else {
            i64::from(stabilized)
        }
    } else if stabilized < current {
        let rate = scale_down_limit(current, events, &behavior.down, now);
        let min = i64::from(bounds.min);
        let (allowed, why) = if min < rate { (rate, Limit::ScaleDownLimit) } else { (min, Limit::TooFew) };
        if i64::from(stabilized) < allowed {
            limit = why;
            allowed
        } else {
            i64::from(stabilized)
        }
    } else {
        i64::from(stabilized)
    };
    let clamped = replicas.clamp(i64::from(bounds.min), i64::from(bounds.max));
    if clamped != replicas {
        limit = if clamped > replicas { Limit::TooFew } else { Limit::TooMany };
    }
    Normalized { stabilized, replicas: clamped as u32, limit }
}
