//! Kubernetes HPA's replica calculation, exactly (`modern-autoscalers.md` §1.2): the ratio of
//! the metric to its target, a tolerance band, members not yet ready, missing samples, and
//! direction flips. Values are taken in thousandths and summed as integers, as the HPA's
//! quantities are, so that its truncations and ceilings give the same counts.

/// Where a member stands, for the calculation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Serving: its sample counts.
    Ready,
    /// Starting (or, for metrics whose readiness matters, not ready): left out of a scale-down
    /// and counted as 0 on a scale-up.
    Unready,
    /// Failed, stopping or draining: left out entirely.
    Gone,
}

/// One member's input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Member {
    /// Where it stands.
    pub readiness: Readiness,
    /// Its newest fresh sample, if it has one.
    pub value: Option<f64>,
    /// Its capacity (the HPA's request), for `Utilization` targets: a sample is usage in the
    /// same unit. 1 when every member is alike and samples are percentages of one member.
    pub capacity: f64,
}

impl Member {
    /// A member with a sample and a capacity of 1.
    pub fn ready(value: f64) -> Member {
        Member { readiness: Readiness::Ready, value: Some(value), capacity: 1.0 }
    }
}

/// What a metric is kept at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// Per member, usage as a percentage of its capacity: the HPA's `Utilization`
    /// (`floor(100 × Σusage / Σcapacity)` against the target).
    Utilization(f64),
    /// Per member, the mean of the samples: the HPA's Pods `AverageValue`.
    AverageValue(f64),
    /// One value for the whole group against a total target, scaled by the ready members: the
    /// HPA's External or Object `Value`.
    Value(f64),
    /// One value for the whole group against a target per member: External or Object
    /// `AverageValue` (`ceil(total / target)`).
    TotalPerMember(f64),
}

/// The band of ratios around 1 inside which nothing changes, per direction (inclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Ratios up to `1 + up` change nothing.
    pub up: f64,
    /// Ratios down to `1 - down` change nothing.
    pub down: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance { up: 0.1, down: 0.1 }
    }
}

impl Tolerance {
    /// Whether `ratio` changes nothing.
    pub fn within(&self, ratio: f64) -> bool {
        (1.0 - self.down) <= ratio && ratio <= (1.0 + self.up)
    }
}

/// What the calculation proposes.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// The member count it proposes (the current one for "no change").
    pub replicas: u32,
    /// The ratio of the metric to the target it decided on.
    pub ratio: f64,
    /// The metric's value it compared (the utilization in percent, the mean, or the total).
    pub value: f64,
    /// Why: put in words only when shown ([`std::fmt::Display`]), as most evaluations are
    /// never shown.
    pub reason: Reason,
}

/// Why the calculation proposes what it does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reason {
    /// No change, at this ratio.
    Hold {
        /// The ratio decided on.
        ratio: f64,
        /// Why not.
        why: Hold,
    },
    /// A new count from the ratio.
    Scale {
        /// The ratio decided on.
        ratio: f64,
        /// The count.
        replicas: u32,
        /// The values the ratio came from.
        from: Basis,
    },
}

/// Why the calculation holds the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// The ratio is within the tolerance.
    WithinTolerance,
    /// Within the tolerance once members without samples are counted.
    WithinToleranceCountingMissing,
    /// The direction flips once members without samples are counted.
    FlipsDirection,
    /// The count would move against the metric.
    AgainstTheMetric,
}

/// The values a new count came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Basis {
    /// A group-wide total against a total target, scaled by the ready members.
    Total {
        /// The total.
        total: f64,
        /// The target.
        target: f64,
        /// Ready members.
        ready: f64,
    },
    /// A group-wide total at a target per member.
    TotalPerMember {
        /// The total.
        total: f64,
        /// The target per member.
        target: f64,
    },
    /// Members' samples.
    Members {
        /// The utilization or mean.
        value: f64,
        /// Members counted.
        counted: usize,
        /// Members without samples were counted in the second pass.
        with_missing: bool,
    },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Hold { ratio, why } => {
                let why = match why {
                    Hold::WithinTolerance => "within tolerance",
                    Hold::WithinToleranceCountingMissing => "within tolerance once members without samples are counted",
                    Hold::FlipsDirection => "flips direction once members without samples are counted",
                    Hold::AgainstTheMetric => "would move against the metric",
                };
                write!(f, "no change: ratio {ratio:.3} {why}")
            }
            Reason::Scale { ratio, replicas, from } => {
                write!(f, "ratio {ratio:.3} (")?;
                match from {
                    Basis::Total { total, target, ready } => {
                        write!(f, "{total} against {target} × {ready} ready members")?
                    }
                    Basis::TotalPerMember { total, target } => write!(f, "{total} at {target} per member")?,
                    Basis::Members { value, counted, with_missing: false } => {
                        write!(f, "{value} over {counted} members")?
                    }
                    Basis::Members { value, counted, with_missing: true } => {
                        write!(f, "{value} over {counted} members, those without samples counted")?
                    }
                }
                write!(f, "): {replicas} members")
            }
        }
    }
}

/// Why there is no proposal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoProposal {
    /// No member that counts has a sample (or the group-wide value is missing).
    #[error("no samples of the members that count")]
    NoSamples,
    /// The target is not a positive number.
    #[error("the target must be positive")]
    BadTarget,
}

fn milli(value: f64) -> i64 {
    (value * 1000.0).round() as i64
}

/// The HPA's proposal for a group of `current` members whose members are `members` (or, for
/// group-wide targets, whose metric is `total`). `readiness_matters` is the HPA's rule for CPU:
/// unready members' samples are left out; for other metrics they count like any other.
pub fn propose(
    current: u32,
    members: &[Member],
    total: Option<f64>,
    target: Target,
    tolerance: Tolerance,
    readiness_matters: bool,
) -> Result<Proposal, NoProposal> {
    match target {
        Target::Utilization(t) | Target::AverageValue(t) if t > 0.0 => {
            per_member(current, members, target, tolerance, readiness_matters)
        }
        Target::Value(t) if t > 0.0 => {
            let total = total.ok_or(NoProposal::NoSamples)?;
            let ready = members.iter().filter(|m| m.readiness == Readiness::Ready).count() as f64;
            let ratio = milli(total) as f64 / milli(t) as f64;
            let replicas = if current == 0 {
                ratio.ceil()
            } else if tolerance.within(ratio) {
                return Ok(hold(current, ratio, total, Hold::WithinTolerance));
            } else {
                (ratio * ready).ceil()
            };
            Ok(proposal(replicas, ratio, total, Basis::Total { total, target: t, ready }))
        }
        Target::TotalPerMember(t) if t > 0.0 => {
            let total = total.ok_or(NoProposal::NoSamples)?;
            let ratio = milli(total) as f64 / (milli(t) as f64 * f64::from(current));
            if current > 0 && tolerance.within(ratio) {
                return Ok(hold(current, ratio, total, Hold::WithinTolerance));
            }
            let replicas = (milli(total) as f64 / milli(t) as f64).ceil();
            Ok(proposal(replicas, ratio, total, Basis::TotalPerMember { total, target: t }))
        }
        _ => Err(NoProposal::BadTarget),
    }
}

fn hold(current: u32, ratio: f64, value: f64, why: Hold) -> Proposal {
    Proposal { replicas: current, ratio, value, reason: Reason::Hold { ratio, why } }
}

fn proposal(replicas: f64, ratio: f64, value: f64, from: Basis) -> Proposal {
    let replicas = replicas.clamp(0.0, f64::from(u32::MAX)) as u32;
    Proposal { replicas, ratio, value, reason: Reason::Scale { ratio, replicas, from } }
}

/// A sample in thousandths, with its member's capacity in thousandths.
#[derive(Debug, Clone, Copy)]
struct Counted {
    usage: i64,
    capacity: i64,
}

/// The ratio of `counted` to the target, and the value compared: the utilization (integer
/// percent of the summed capacity) or the mean (integer thousandths).
fn usage_ratio(counted: &[Counted], target: Target) -> (f64, f64) {
    let usage: i64 = counted.iter().map(|c| c.usage).sum();
    match target {
        Target::Utilization(t) => {
            let capacity: i64 = counted.iter().map(|c| c.capacity).sum();
            let utilization = if capacity > 0 { usage * 100 / capacity } else { 0 };
            (utilization as f64 / t, utilization as f64)
        }
        _ => {
            let mean = usage / counted.len().max(1) as i64;
            (mean as f64 / milli(target_value(target)) as f64, mean as f64 / 1000.0)
        }
    }
}

fn target_value(target: Target) -> f64 {
    match target {
        Target::Utilization(t) | Target::AverageValue(t) | Target::Value(t) | Target::TotalPerMember(t) => t,
    }
}

fn per_member(
    current: u32,
    members: &[Member],
    target: Target,
    tolerance: Tolerance,
    readiness_matters: bool,
) -> Result<Proposal, NoProposal> {
    let mut counted = Vec::with_capacity(members.len());
    let (mut unready, mut missing) = (Vec::new(), Vec::new());
    for member in members {
        let capacity = milli(member.capacity);
        match (member.readiness, member.value) {
            (Readiness::Gone, _) => {}
            (Readiness::Unready, None) => unready.push(capacity),
            (Readiness::Unready, Some(_)) if readiness_matters => unready.push(capacity),
            (_, None) => missing.push(capacity),
            (_, Some(value)) => counted.push(Counted { usage: milli(value), capacity }),
        }
    }
    if counted.is_empty() {
        return Err(NoProposal::NoSamples);
    }
    let ready = counted.len() as f64;
    let (ratio, value) = usage_ratio(&counted, target);
    let up_with_unready = !unready.is_empty() && ratio > 1.0;
    if !up_with_unready && missing.is_empty() {
        if tolerance.within(ratio) {
            return Ok(hold(current, ratio, value, Hold::WithinTolerance));
        }
        let from = Basis::Members { value, counted: counted.len(), with_missing: false };
        return Ok(proposal((ratio * ready).ceil(), ratio, value, from));
    }
    // The second pass: missing samples at the target on a scale-down (at least all of the
    // capacity for utilization), at 0 on a scale-up; unready members at 0 on a scale-up.
    for capacity in missing {
        let usage = match target {
            Target::Utilization(t) if ratio < 1.0 => capacity * (t.max(100.0) as i64) / 100,
            _ if ratio < 1.0 => milli(target_value(target)),
            _ => 0,
        };
        counted.push(Counted { usage, capacity });
    }
    if up_with_unready {
        counted.extend(unready.into_iter().map(|capacity| Counted { usage: 0, capacity }));
    }
    let (new_ratio, new_value) = usage_ratio(&counted, target);
    if tolerance.within(new_ratio) {
        return Ok(hold(current, new_ratio, new_value, Hold::WithinToleranceCountingMissing));
    }
    if (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0) {
        return Ok(hold(current, new_ratio, new_value, Hold::FlipsDirection));
    }
    let replicas = (new_ratio * counted.len() as f64).ceil();
    if (new_ratio < 1.0 && replicas > f64::from(current)) || (new_ratio > 1.0 && replicas < f64::from(current)) {
        return Ok(hold(current, new_ratio, new_value, Hold::AgainstTheMetric));
    }
    let from = Basis::Members { value: new_value, counted: counted.len(), with_missing: true };
    Ok(proposal(replicas, new_ratio, new_value, from))
}
