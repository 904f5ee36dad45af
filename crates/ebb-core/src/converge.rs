//! The convergence planner: from what a group should be (its desired capacity) and what is
//! observed of its members, the steps that bring the two together.
//!
//! It is a pure function, so every rule is a row of a table test. The engine gathers the
//! observation, runs the steps through a provider and the load balancer, and plans again
//! until nothing is left to do: convergence is level-triggered and idempotent (Otter §4.9).
//!
//! Member destinies, adapted from Otter's table of Nova statuses to members in general:
//!
//! | observed | counts toward capacity | step |
//! |---|---|---|
//! | `Ready` | yes | join the load balancer if not in it |
//! | `Starting`, younger than the build timeout | yes | wait |
//! | `Starting`, older than the build timeout | no | stop (and so be replaced) |
//! | `Draining` | no | stop once nothing is in flight or the draining timeout passed |
//! | `Stopping` | no | wait for the exit |
//! | `Exited` | no | forget (and so be replaced) |
//!
//! Scaling down removes members still starting first (newest first), then the oldest ready
//! members; a ready member behind a load balancer is drained before it is stopped.

use jiff::{SignedDuration, Timestamp};

/// What is observed of one member.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedMember {
    /// Its id.
    pub id: String,
    /// When it was started.
    pub created_at: Timestamp,
    /// Its lifecycle state.
    pub state: MemberState,
    /// Whether every load balancer of the group routes to it.
    pub in_balancer: bool,
    /// Requests in flight to it through the load balancers.
    pub in_flight: u64,
}

/// The lifecycle of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    /// Running, not ready yet.
    Starting,
    /// Running and ready.
    Ready,
    /// Chosen for removal: no new requests since `since`.
    Draining {
        /// When draining started.
        since: Timestamp,
    },
    /// Asked to stop; waiting for it to exit.
    Stopping,
    /// Gone.
    Exited,
}

/// Everything a plan depends on.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    /// How many members the group should have (0 for a group being deleted).
    pub desired: u32,
    /// The group's members.
    pub members: &'a [ObservedMember],
    /// Now.
    pub now: Timestamp,
    /// How long a member may take to become ready.
    pub build_timeout: SignedDuration,
    /// How long a removed member keeps its in-flight requests.
    pub draining_timeout: SignedDuration,
    /// Whether the group's members sit behind a load balancer.
    pub has_balancer: bool,
    /// The most members started in one pass.
    pub max_starts: usize,
}

/// Why a member is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Desired capacity went down.
    ScaleDown,
    /// It did not become ready within the build timeout.
    BuildTimeout,
    /// It was drained.
    Drained,
}

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Start one new member.
    Start,
    /// Route requests to a ready member.
    AddToBalancer {
        /// The member.
        member: String,
    },
    /// Stop routing new requests to a member and start its draining clock.
    Drain {
        /// The member.
        member: String,
    },
    /// Ask a member to stop.
    Stop {
        /// The member.
        member: String,
        /// Why.
        reason: StopReason,
    },
    /// Forget a member that is gone.
    Forget {
        /// The member.
        member: String,
    },
}

/// The outcome of planning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// What to do now.
    pub steps: Vec<Step>,
    /// Members that count toward capacity and serve (ready, and in the balancer if any).
    pub active: Vec<String>,
    /// Whether the group is converged once `steps` are done: nothing is starting, draining or
    /// stopping and the count is right.
    pub settled: bool,
}

/// Plans one pass.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let mut steps = Vec::new();
    let mut counted: Vec<&ObservedMember> = Vec::new();
    let mut transitional = false;
    for member in input.members {
        match member.state {
            MemberState::Exited => steps.push(Step::Forget { member: member.id.clone() }),
            MemberState::Stopping => transitional = true,
            MemberState::Draining { since } => {
                let drained = member.in_flight == 0 || input.now.duration_since(since) >= input.draining_timeout;
                if drained {
                    steps.push(Step::Stop { member: member.id.clone(), reason: StopReason::Drained });
                }
                transitional = true;
            }
            MemberState::Starting => {
                if input.now.duration_since(member.created_at) >= input.build_timeout {
                    steps.push(Step::Stop { member: member.id.clone(), reason: StopReason::BuildTimeout });
                    transitional = true;
                } else {
                    counted.push(member);
                }
            }
            MemberState::Ready => counted.push(member),
        }
    }

    let desired = input.desired as usize;
    let mut kept: Vec<&ObservedMember> = counted.clone();
    if counted.len() < desired {
        let missing = desired - counted.len();
        steps.extend(std::iter::repeat_n(Step::Start, missing.min(input.max_starts)));
        transitional = true;
    } else if counted.len() > desired {
        let mut victims: Vec<&ObservedMember> = Vec::new();
        let mut starting: Vec<&ObservedMember> =
            counted.iter().copied().filter(|m| m.state == MemberState::Starting).collect();
        starting.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
        let mut ready: Vec<&ObservedMember> =
            counted.iter().copied().filter(|m| m.state == MemberState::Ready).collect();
        ready.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        victims.extend(starting.into_iter().chain(ready).take(counted.len() - desired));
        for victim in &victims {
            let step = if victim.state == MemberState::Ready && input.has_balancer {
                Step::Drain { member: victim.id.clone() }
            } else {
                Step::Stop { member: victim.id.clone(), reason: StopReason::ScaleDown }
            };
            steps.push(step);
        }
        kept.retain(|m| !victims.iter().any(|v| v.id == m.id));
        transitional = true;
    }

    let mut active = Vec::new();
    for member in &kept {
        if member.state == MemberState::Starting {
            transitional = true;
            continue;
        }
        if input.has_balancer && !member.in_balancer {
            steps.push(Step::AddToBalancer { member: member.id.clone() });
        }
        active.push(member.id.clone());
    }
    Plan { settled: steps.is_empty() && !transitional, steps, active }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn member(id: &str, created: i64, state: MemberState) -> ObservedMember {
        ObservedMember {
            id: id.into(),
            created_at: t(created),
            state,
            in_balancer: state == MemberState::Ready,
            in_flight: 0,
        }
    }

    fn input(desired: u32, members: &[ObservedMember]) -> PlanInput<'_> {
        PlanInput {
            desired,
            members,
            now: t(100),
            build_timeout: SignedDuration::from_secs(30),
            draining_timeout: SignedDuration::from_secs(10),
            has_balancer: true,
            max_starts: 10,
        }
    }

    fn stop(id: &str, reason: StopReason) -> Step {
        Step::Stop { member: id.into(), reason }
    }

    #[test]
    fn an_empty_group_starts_its_desired_members_within_the_step_limit() {
        let plan = plan(&input(3, &[]));
        assert_eq!(plan.steps, vec![Step::Start; 3]);
        assert!(!plan.settled);
        let mut many = input(25, &[]);
        many.max_starts = 10;
        assert_eq!(super::plan(&many).steps.len(), 10);
    }

    #[test]
    fn destinies_by_state() {
        // One row per destiny of the table in the module documentation.
        let cases: Vec<(ObservedMember, Vec<Step>, bool)> = vec![
            (member("r", 0, MemberState::Ready), vec![], true),
            (
                ObservedMember { in_balancer: false, ..member("r", 0, MemberState::Ready) },
                vec![Step::AddToBalancer { member: "r".into() }],
                true,
            ),
            (member("s", 90, MemberState::Starting), vec![], true),
            (member("s", 50, MemberState::Starting), vec![stop("s", StopReason::BuildTimeout), Step::Start], false),
            (
                member("d", 0, MemberState::Draining { since: t(99) }),
                vec![stop("d", StopReason::Drained), Step::Start],
                false,
            ),
            (
                ObservedMember { in_flight: 2, ..member("d", 0, MemberState::Draining { since: t(95) }) },
                vec![Step::Start],
                false,
            ),
            (
                ObservedMember { in_flight: 2, ..member("d", 0, MemberState::Draining { since: t(90) }) },
                vec![stop("d", StopReason::Drained), Step::Start],
                false,
            ),
            (member("x", 0, MemberState::Stopping), vec![Step::Start], false),
            (member("e", 0, MemberState::Exited), vec![Step::Forget { member: "e".into() }, Step::Start], false),
        ];
        for (observed, expected, counts) in cases {
            let members = [observed.clone()];
            let plan = plan(&input(1, &members));
            assert_eq!(plan.steps, expected, "{observed:?}");
            let started = plan.steps.contains(&Step::Start);
            assert_eq!(!started, counts, "{observed:?} counts toward capacity");
        }
    }

    #[test]
    fn scale_down_removes_starting_members_first_then_the_oldest_ready() {
        let members = [
            member("old", 1, MemberState::Ready),
            member("mid", 2, MemberState::Ready),
            member("new", 3, MemberState::Ready),
            member("s1", 95, MemberState::Starting),
            member("s2", 96, MemberState::Starting),
        ];
        let plan = plan(&input(3, &members));
        assert_eq!(plan.steps, vec![stop("s2", StopReason::ScaleDown), stop("s1", StopReason::ScaleDown)]);
        let plan = super::plan(&input(1, &members));
        assert_eq!(
            plan.steps,
            vec![
                stop("s2", StopReason::ScaleDown),
                stop("s1", StopReason::ScaleDown),
                Step::Drain { member: "old".into() },
                Step::Drain { member: "mid".into() },
            ]
        );
        assert_eq!(plan.active, vec!["new".to_string()]);
    }

    #[test]
    fn without_a_balancer_ready_members_stop_at_once() {
        let members = [member("a", 1, MemberState::Ready), member("b", 2, MemberState::Ready)];
        let mut no_balancer = input(1, &members);
        no_balancer.has_balancer = false;
        assert_eq!(plan(&no_balancer).steps, vec![stop("a", StopReason::ScaleDown)]);
    }

    #[test]
    fn a_converged_group_is_settled_and_lists_its_active_members() {
        let members = [member("a", 1, MemberState::Ready), member("b", 2, MemberState::Ready)];
        let plan = plan(&input(2, &members));
        assert!(plan.settled);
        assert!(plan.steps.is_empty());
        assert_eq!(plan.active, vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn draining_members_do_not_count_so_replacements_start_alongside() {
        let members = [member("a", 1, MemberState::Ready), member("d", 2, MemberState::Draining { since: t(99) })];
        let mut busy = members.clone();
        busy[1].in_flight = 3;
        let plan = plan(&input(2, &busy));
        assert_eq!(plan.steps, vec![Step::Start]);
        assert!(!plan.settled);
    }

    #[test]
    fn a_deleted_group_drains_and_stops_everything() {
        let members = [member("a", 1, MemberState::Ready), member("s", 99, MemberState::Starting)];
        let plan = plan(&input(0, &members));
        assert_eq!(plan.steps, vec![stop("s", StopReason::ScaleDown), Step::Drain { member: "a".into() }]);
        assert!(plan.active.is_empty());
    }
}
