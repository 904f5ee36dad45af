//! RightScale's instance voting (`../shared/seeds/001_*.txt`): members vote to grow, to shrink
//! or not at all; when the share of one vote among live members reaches the decision threshold,
//! the group resizes by that direction's step, then stays calm for a while.

use jiff::{SignedDuration, Timestamp};

/// A member's vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ballot {
    /// Add members.
    Grow,
    /// Remove members.
    Shrink,
}

/// A voting policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VotesPolicy {
    /// The share of live members (percent) one vote needs (51).
    pub decision_threshold: f64,
    /// Members added on `grow`.
    pub resize_up_by: u32,
    /// Members removed on `shrink`.
    pub resize_down_by: u32,
    /// How long after a resize votes are not acted on (15 minutes, RightScale's default).
    pub resize_calm_time: SignedDuration,
    /// How long a vote counts after it was cast.
    pub vote_lifetime: SignedDuration,
}

impl Default for VotesPolicy {
    fn default() -> Self {
        VotesPolicy {
            decision_threshold: 51.0,
            resize_up_by: 1,
            resize_down_by: 1,
            resize_calm_time: SignedDuration::from_secs(900),
            vote_lifetime: SignedDuration::from_secs(600),
        }
    }
}

/// The tally, as an explanation shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tally {
    /// Live members.
    pub live: usize,
    /// Unexpired `grow` votes of live members.
    pub grow: usize,
    /// Unexpired `shrink` votes of live members.
    pub shrink: usize,
}

impl VotesPolicy {
    /// Counts the unexpired votes of live members (`votes` holds only theirs).
    pub fn tally(&self, live: usize, votes: &[(Ballot, Timestamp)], now: Timestamp) -> Tally {
        let fresh = |ballot| votes.iter().filter(|(b, at)| *b == ballot && now < *at + self.vote_lifetime).count();
        Tally { live, grow: fresh(Ballot::Grow), shrink: fresh(Ballot::Shrink) }
    }

    /// The count proposed for a group at `current` members: grow when the share of `grow`
    /// votes among live members reaches the threshold, shrink likewise (grow first when both
    /// do: the safer change); `None` when neither does or the group is still calm.
    pub fn propose(&self, current: u32, tally: Tally, last_resized: Option<Timestamp>, now: Timestamp) -> Option<u32> {
        if tally.live == 0 || last_resized.is_some_and(|at| now < at + self.resize_calm_time) {
            return None;
        }
        let reaches = |votes: usize| votes as f64 * 100.0 / tally.live as f64 >= self.decision_threshold;
        if reaches(tally.grow) {
            Some(current.saturating_add(self.resize_up_by))
        } else if reaches(tally.shrink) {
            Some(current.saturating_sub(self.resize_down_by))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::at::{ago, now};

    #[test]
    fn a_majority_of_live_members_decides() {
        let policy = VotesPolicy { resize_up_by: 2, ..VotesPolicy::default() };
        let votes = [(Ballot::Grow, ago(10)), (Ballot::Grow, ago(20)), (Ballot::Shrink, ago(5))];
        let tally = policy.tally(4, &votes, now());
        assert_eq!((tally.grow, tally.shrink), (2, 1));
        assert_eq!(policy.propose(4, tally, None, now()), None, "2 of 4 is 50 %, under 51 %");
        let tally = policy.tally(3, &votes, now());
        assert_eq!(policy.propose(3, tally, None, now()), Some(5), "2 of 3 grow by 2");
        let shrink = policy.tally(2, &[(Ballot::Shrink, ago(1)), (Ballot::Shrink, ago(2))], now());
        assert_eq!(policy.propose(2, shrink, None, now()), Some(1));
    }

    #[test]
    fn votes_expire_and_calm_time_holds() {
        let policy = VotesPolicy::default();
        let stale = policy.tally(1, &[(Ballot::Grow, ago(601))], now());
        assert_eq!((stale.grow, policy.propose(1, stale, None, now())), (0, None));
        let fresh = policy.tally(1, &[(Ballot::Grow, ago(599))], now());
        assert_eq!(policy.propose(1, fresh, Some(ago(899)), now()), None, "calm for 15 minutes");
        assert_eq!(policy.propose(1, fresh, Some(ago(900)), now()), Some(2));
        assert_eq!(policy.propose(0, policy.tally(0, &[], now()), None, now()), None, "nobody to vote");
    }

    #[test]
    fn with_a_low_threshold_grow_wins_a_tie() {
        let policy = VotesPolicy { decision_threshold: 50.0, ..VotesPolicy::default() };
        let tally = policy.tally(2, &[(Ballot::Grow, ago(1)), (Ballot::Shrink, ago(1))], now());
        assert_eq!(policy.propose(2, tally, None, now()), Some(3));
    }
}
