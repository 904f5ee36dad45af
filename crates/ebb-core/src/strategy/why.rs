//! Why a policy proposes what it does: typed when evaluated, put in words only when shown
//! (`explain`, a history entry), as most evaluations are never shown.

use std::fmt;

use super::replicas;
use super::votes::Tally;

/// Why one policy proposes what it does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Why {
    /// Target tracking: the HPA's calculation.
    Tracking(replicas::Reason),
    /// A step policy's alarm and step (`to`, or none: it abstains).
    Step {
        /// Members still warming up.
        warming: u32,
        /// The count stepped to.
        to: Option<u32>,
    },
    /// A threshold policy's band; `left` when the measurements left it.
    Threshold {
        /// The band's minimum.
        min: f64,
        /// The band's maximum.
        max: f64,
        /// The measurements left the band and the policy proposes.
        left: bool,
    },
    /// Members' votes; `decided` when they make a decision.
    Votes {
        /// The votes counted.
        tally: Tally,
        /// They decide.
        decided: bool,
    },
    /// The metric has no fresh samples of the members that count; `fallback` when the
    /// policy's fallback applies.
    NoSamples {
        /// The fallback applies.
        fallback: bool,
    },
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Tracking(reason) => reason.fmt(f),
            Why::Step { warming, to: Some(to) } => {
                write!(f, "{warming} members warming up; the alarm holds: a step to {to}")
            }
            Why::Step { to: None, .. } => f.write_str("no alarm, or no step for the value: it abstains"),
            Why::Threshold { min, max, left: true } => write!(f, "the measurements left the band {min}..{max}"),
            Why::Threshold { min, max, left: false } => {
                write!(f, "within {min}..{max} or waiting after a scale: it abstains")
            }
            Why::Votes { tally, decided } => {
                write!(f, "{} of {} live members vote grow, {} shrink", tally.grow, tally.live, tally.shrink)?;
                if !decided {
                    f.write_str(": no decision, it abstains")?;
                }
                Ok(())
            }
            Why::NoSamples { fallback } => {
                f.write_str("its metric has no fresh samples of the members that count")?;
                if *fallback {
                    f.write_str("; the fallback applies")?;
                }
                Ok(())
            }
        }
    }
}
