//! Several metric policies on one group, one outcome: the safety-first rule of Nomad's
//! autoscaler (`modern-autoscalers.md` §3.4), which is also the HPA's for several metrics
//! (§1.2), and KEDA's fallback for a metric that keeps failing (§2.4).

/// What one policy says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vote {
    /// A member count.
    Propose(u32),
    /// Its metric could not be read (no fresh samples, a failing collector): never read as 0.
    Failed,
    /// It has no opinion now (a step policy without an alarm, autoscalebot within its band,
    /// votes without a majority): it takes no part, and holds nothing back.
    Abstain,
}

/// The combined outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combined {
    /// Scale to (or stay at) this count.
    Scale(u32),
    /// A failed policy held back a scale-down the others proposed.
    ScaleDownBlocked,
    /// No policy could propose anything.
    NoProposal,
}

/// Safety first: a scale-up beats no change, which beats a scale-down; between ups the larger
/// wins, between downs the smaller reduction. That is the highest count proposed. A policy that
/// failed blocks a scale-down but never a scale-up.
pub fn combine(current: u32, votes: &[Vote]) -> Combined {
    let highest = votes
        .iter()
        .filter_map(|vote| match vote {
            Vote::Propose(count) => Some(*count),
            Vote::Failed | Vote::Abstain => None,
        })
        .max();
    let failed = votes.contains(&Vote::Failed);
    match highest {
        None => Combined::NoProposal,
        Some(count) if count < current && failed => Combined::ScaleDownBlocked,
        Some(count) => Combined::Scale(count),
    }
}

/// What a policy proposes once its metric has failed `after` times in a row (KEDA's fallback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallbackAction {
    /// Stay at the current count.
    Hold,
    /// Go to this count.
    Fixed(u32),
    /// Go to this count only if it is higher than the current one.
    FixedIfHigher(u32),
}

/// A policy's fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fallback {
    /// Consecutive failed reads before it applies.
    pub after: u32,
    /// What it proposes then.
    pub action: FallbackAction,
}

impl Fallback {
    /// The vote of a policy whose metric failed `failures` times in a row: [`Vote::Failed`]
    /// until the fallback applies.
    pub fn vote(&self, current: u32, failures: u32) -> Vote {
        if failures < self.after.max(1) {
            return Vote::Failed;
        }
        Vote::Propose(match self.action {
            FallbackAction::Hold => current,
            FallbackAction::Fixed(count) => count,
            FallbackAction::FixedIfHigher(count) => count.max(current),
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_hpas_rows_for_several_metrics() {
        // TestScaleUpOneMetricEmpty: CPU wants 4, the external metric errors: scale up.
        assert_eq!(combine(3, &[Vote::Propose(4), Vote::Failed]), Combined::Scale(4));
        // TestNoScaleDownOneMetricInvalid: CPU wants 3, the other is invalid: no scale-down.
        assert_eq!(combine(5, &[Vote::Propose(3), Vote::Failed]), Combined::ScaleDownBlocked);
        assert_eq!(combine(5, &[Vote::Failed, Vote::Failed]), Combined::NoProposal);
        assert_eq!(
            combine(5, &[Vote::Propose(3), Vote::Abstain]),
            Combined::Scale(3),
            "an abstention holds nothing back"
        );
        assert_eq!(combine(5, &[]), Combined::NoProposal);
    }

    #[test]
    fn safety_first() {
        assert_eq!(combine(5, &[Vote::Propose(3), Vote::Propose(7), Vote::Propose(5)]), Combined::Scale(7), "up wins");
        assert_eq!(combine(5, &[Vote::Propose(3), Vote::Propose(5)]), Combined::Scale(5), "no change beats down");
        assert_eq!(combine(5, &[Vote::Propose(2), Vote::Propose(4)]), Combined::Scale(4), "the smaller reduction");
        assert_eq!(combine(5, &[Vote::Propose(6), Vote::Propose(9)]), Combined::Scale(9), "the larger scale-up");
    }

    #[test]
    fn a_fallback_applies_after_its_failures() {
        let fixed = Fallback { after: 3, action: FallbackAction::Fixed(2) };
        assert_eq!(fixed.vote(5, 2), Vote::Failed);
        assert_eq!(fixed.vote(5, 3), Vote::Propose(2));
        let higher = Fallback { after: 1, action: FallbackAction::FixedIfHigher(4) };
        assert_eq!((higher.vote(6, 1), higher.vote(2, 1)), (Vote::Propose(6), Vote::Propose(4)));
        assert_eq!(Fallback { after: 1, action: FallbackAction::Hold }.vote(6, 9), Vote::Propose(6));
    }

    fn vote() -> impl Strategy<Value = Vote> {
        prop_oneof![Just(Vote::Failed), Just(Vote::Abstain), (0u32..50).prop_map(Vote::Propose)]
    }

    proptest! {
        #[test]
        fn the_combination_never_prefers_a_scale_down_to_no_change(
            current in 0u32..50, votes in proptest::collection::vec(vote(), 0..6),
        ) {
            if let Combined::Scale(count) = combine(current, &votes) {
                let no_change_proposed = votes.contains(&Vote::Propose(current));
                prop_assert!(!(no_change_proposed && count < current));
                // A failure never lowers the count.
                if votes.contains(&Vote::Failed) {
                    prop_assert!(count >= current);
                }
            }
        }
    }
}
