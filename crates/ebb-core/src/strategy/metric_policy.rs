//! Metric policies as the Otter policy API takes them: a `type` naming a strategy, its `args`,
//! and what every metric policy may add (`dry_run`, `fallback`), validated into typed values.
//!
//! ```json
//! {"type": "step", "args": {"metric": "cpuutil", "threshold": 70, "comparison": ">=",
//!   "steps": [{"lower": 0, "upper": 20, "change": 1}, {"lower": 20, "change": 3}]}}
//! {"type": "threshold", "args": {"metric": "responsetime", "decision": "consecutive"}}
//! {"type": "votes", "args": {"decision_threshold": 51}}
//! ```

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::combine::{Fallback, FallbackAction};
use super::step::{Adjustment, Side, Step, StepPolicy};
use super::target_tracking::TargetTracking;
use super::threshold::{Decision, ThresholdPolicy};
use super::votes::VotesPolicy;
use crate::Invalid;
use crate::json::{self, Obj};
use crate::metrics::group::Window;

/// The longest of the durations a metric policy sets, in seconds (a day).
pub const MAX_SECONDS: i64 = 86_400;
/// The most steps of a step policy.
pub const MAX_STEPS: usize = 20;

/// What a metric policy decides with.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// Keep a metric at a target per member (the HPA).
    TargetTracking(TargetTracking),
    /// AWS step scaling on one metric.
    Step {
        /// The metric.
        metric: String,
        /// The alarm and its steps.
        policy: StepPolicy,
        /// How long a new member's samples do not count.
        warmup: SignedDuration,
    },
    /// autoscalebot's thresholds on one metric.
    Threshold {
        /// The metric.
        metric: String,
        /// The backend and its settings.
        policy: ThresholdPolicy,
    },
    /// RightScale's instance voting.
    Votes(VotesPolicy),
}

impl Strategy {
    /// Which of each member's samples it reads at `now`, samples counting for `stale_after`:
    /// the newest of target tracking, the last `history_length` of a threshold, and for a step
    /// alarm those of its evaluation period with each member's value when it began.
    pub fn window(&self, now: Timestamp, stale_after: SignedDuration) -> Window {
        match self {
            Strategy::TargetTracking(_) | Strategy::Votes(_) => Window::recent(now - stale_after, 1),
            Strategy::Step { policy, .. } => {
                let since = now - policy.evaluation;
                Window { since, most: usize::MAX, carry_from: Some(since - stale_after) }
            }
            Strategy::Threshold { policy, .. } => {
                let history = policy.history_length.max(1);
                let lookback = stale_after * i32::try_from(history).unwrap_or(i32::MAX);
                Window::recent(now - stale_after - lookback, history as usize)
            }
        }
    }

    /// Its policy type, as the API names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Strategy::TargetTracking(_) => "target_tracking",
            Strategy::Step { .. } => "step",
            Strategy::Threshold { .. } => "threshold",
            Strategy::Votes(_) => "votes",
        }
    }

    /// The metric it reads, if any (votes read none).
    pub fn metric(&self) -> Option<&str> {
        match self {
            Strategy::TargetTracking(tracking) => Some(&tracking.metric),
            Strategy::Step { metric, .. } | Strategy::Threshold { metric, .. } => Some(metric),
            Strategy::Votes(_) => None,
        }
    }
}

/// A validated metric policy.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPolicy {
    /// How it decides.
    pub strategy: Strategy,
    /// Its decisions are recorded ("would scale from A to B because …") but never applied.
    pub dry_run: bool,
    /// What it proposes once its metric has failed so many reads in a row.
    pub fallback: Option<Fallback>,
}

impl MetricPolicy {
    /// Validates a metric policy of type `kind` from the policy body `obj`'s `args`, `dry_run`
    /// and `fallback`; `None` when `kind` is not a metric policy's type.
    pub fn parse(kind: &str, obj: &Obj<'_>) -> Result<Option<Self>, Invalid> {
        let path = obj.path_of("args");
        let strategy = match kind {
            "target_tracking" => Strategy::TargetTracking(TargetTracking::parse(obj.required("args")?, &path)?),
            "step" => parse_step(obj.required("args")?, &path)?,
            "threshold" => parse_threshold(obj.required("args")?, &path)?,
            "votes" => Strategy::Votes(parse_votes(obj.get("args").unwrap_or(&Value::Null), &path)?),
            _ => return Ok(None),
        };
        let dry_run = match obj.get("dry_run") {
            None => false,
            Some(value) => json::boolean(value, &obj.path_of("dry_run"))?,
        };
        let fallback = obj.get("fallback").map(|value| parse_fallback(value, &obj.path_of("fallback"))).transpose()?;
        Ok(Some(MetricPolicy { strategy, dry_run, fallback }))
    }
}

fn seconds(obj: &Obj<'_>, key: &str, default: i64) -> Result<SignedDuration, Invalid> {
    match obj.get(key) {
        None => Ok(SignedDuration::from_secs(default)),
        Some(value) => Ok(SignedDuration::from_secs(json::integer(value, &obj.path_of(key), 0, MAX_SECONDS)?)),
    }
}

fn count(obj: &Obj<'_>, key: &str, default: u32) -> Result<u32, Invalid> {
    match obj.get(key) {
        None => Ok(default),
        Some(value) => Ok(json::integer(value, &obj.path_of(key), 1, 10_000)? as u32),
    }
}

/// The `metric` a policy reads: a valid metric name.
pub(super) fn metric(obj: &Obj<'_>) -> Result<String, Invalid> {
    let name = json::string(obj.required("metric")?, &obj.path_of("metric"), crate::metrics::MAX_NAME_LEN)?;
    crate::metrics::check_name(name, &obj.path_of("metric"))?;
    Ok(name.to_string())
}

fn parse_step(value: &Value, path: &str) -> Result<Strategy, Invalid> {
    let args = Obj::new(value, path)?;
    args.only(&[
        "metric",
        "threshold",
        "comparison",
        "evaluationSeconds",
        "steps",
        "minAdjustmentMagnitude",
        "warmupSeconds",
    ])?;
    let metric = metric(&args)?;
    let threshold = json::number(args.required("threshold")?, &args.path_of("threshold"), f64::MIN, f64::MAX)?;
    let side = match json::one_of(args.required("comparison")?, &args.path_of("comparison"), &[">=", "<="])? {
        ">=" => Side::Above,
        _ => Side::Below,
    };
    let list = json::array(args.required("steps")?, &args.path_of("steps"), MAX_STEPS)?;
    if list.is_empty() {
        return Err(Invalid::schema(format!("{}: at least one step is required", args.path_of("steps"))));
    }
    let at = |i: usize| format!("{}[{i}]", args.path_of("steps"));
    let steps: Vec<Step> = list.iter().enumerate().map(|(i, s)| parse_one_step(s, &at(i))).collect::<Result<_, _>>()?;
    let mut ranges: Vec<(f64, f64, usize)> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.lower.unwrap_or(f64::NEG_INFINITY), s.upper.unwrap_or(f64::INFINITY), i))
        .collect();
    ranges.sort_by(|a, b| a.0.total_cmp(&b.0));
    for pair in ranges.windows(2) {
        if pair[1].0 < pair[0].1 {
            return Err(Invalid::schema(format!("{}: overlaps {}", at(pair[1].2), at(pair[0].2))));
        }
    }
    let min_magnitude = match args.get("minAdjustmentMagnitude") {
        None => 0,
        Some(value) => json::integer(value, &args.path_of("minAdjustmentMagnitude"), 0, 10_000)? as u32,
    };
    let policy =
        StepPolicy { threshold, side, evaluation: seconds(&args, "evaluationSeconds", 60)?, steps, min_magnitude };
    Ok(Strategy::Step { metric, policy, warmup: seconds(&args, "warmupSeconds", 300)? })
}

fn parse_one_step(value: &Value, path: &str) -> Result<Step, Invalid> {
    let step = Obj::new(value, path)?;
    step.only(&["lower", "upper", "change", "changePercent", "desiredCapacity"])?;
    let bound = |key: &str| step.get(key).map(|v| json::number(v, &step.path_of(key), f64::MIN, f64::MAX)).transpose();
    let (lower, upper) = (bound("lower")?, bound("upper")?);
    if lower.is_none() && upper.is_none() {
        return Err(Invalid::schema(format!("{path}: at least one of 'lower' and 'upper' is required")));
    }
    if let (Some(lower), Some(upper)) = (lower, upper)
        && lower >= upper
    {
        return Err(Invalid::schema(format!("{path}: 'lower' must be less than 'upper'")));
    }
    let present: Vec<&str> =
        ["change", "changePercent", "desiredCapacity"].into_iter().filter(|k| step.has(k)).collect();
    let adjustment = match present.as_slice() {
        ["change"] => {
            Adjustment::Change(json::integer(step.required("change")?, &step.path_of("change"), -10_000, 10_000)?)
        }
        ["changePercent"] => Adjustment::Percent(json::number(
            step.required("changePercent")?,
            &step.path_of("changePercent"),
            -100.0,
            10_000.0,
        )?),
        ["desiredCapacity"] => Adjustment::Exact(json::integer(
            step.required("desiredCapacity")?,
            &step.path_of("desiredCapacity"),
            0,
            i64::from(u32::MAX),
        )? as u32),
        _ => {
            return Err(Invalid::schema(format!(
                "{path}: exactly one of 'change', 'changePercent' and 'desiredCapacity' is required"
            )));
        }
    };
    Ok(Step { lower, upper, adjustment })
}

fn parse_threshold(value: &Value, path: &str) -> Result<Strategy, Invalid> {
    let args = Obj::new(value, path)?;
    args.only(&[
        "metric",
        "decision",
        "min",
        "max",
        "increment",
        "post_scale_wait",
        "history_length",
        "fails_to_scale_up",
        "passes_to_scale_down",
        "measurements",
    ])?;
    let metric = metric(&args)?;
    let defaults =
        match json::one_of(args.required("decision")?, &args.path_of("decision"), &["consecutive", "average"])? {
            "consecutive" => ThresholdPolicy::consecutive(),
            _ => ThresholdPolicy::average(),
        };
    let decision = match defaults.decision {
        Decision::Consecutive { fails_to_scale_up, passes_to_scale_down } => Decision::Consecutive {
            fails_to_scale_up: count(&args, "fails_to_scale_up", fails_to_scale_up)?,
            passes_to_scale_down: count(&args, "passes_to_scale_down", passes_to_scale_down)?,
        },
        Decision::Average { measurements } => {
            Decision::Average { measurements: count(&args, "measurements", measurements)? }
        }
    };
    for key in ["fails_to_scale_up", "passes_to_scale_down", "measurements"] {
        let belongs = matches!(
            (key, decision),
            ("measurements", Decision::Average { .. })
                | ("fails_to_scale_up" | "passes_to_scale_down", Decision::Consecutive { .. })
        );
        if args.has(key) && !belongs {
            return Err(Invalid::schema(format!("{}: does not apply to this decision", args.path_of(key))));
        }
    }
    let bound = |key: &str, default: f64| match args.get(key) {
        None => Ok(default),
        Some(value) => json::number(value, &args.path_of(key), f64::MIN, f64::MAX),
    };
    let (min, max) = (bound("min", defaults.min)?, bound("max", defaults.max)?);
    if min >= max {
        return Err(Invalid::schema(format!("{}: must be less than 'max'", args.path_of("min"))));
    }
    let policy = ThresholdPolicy {
        decision,
        min,
        max,
        increment: count(&args, "increment", defaults.increment)?,
        post_scale_wait: seconds(&args, "post_scale_wait", defaults.post_scale_wait.as_secs())?,
        history_length: count(&args, "history_length", defaults.history_length)?,
    };
    let needed = match decision {
        Decision::Consecutive { fails_to_scale_up, passes_to_scale_down } => {
            fails_to_scale_up.max(passes_to_scale_down)
        }
        Decision::Average { measurements } => measurements,
    };
    if policy.history_length < needed {
        return Err(Invalid::schema(format!(
            "{}: keeps fewer measurements ({}) than the decision needs ({needed})",
            args.path_of("history_length"),
            policy.history_length
        )));
    }
    Ok(Strategy::Threshold { metric, policy })
}

fn parse_votes(value: &Value, path: &str) -> Result<VotesPolicy, Invalid> {
    let defaults = VotesPolicy::default();
    if value.is_null() {
        return Ok(defaults);
    }
    let args = Obj::new(value, path)?;
    args.only(&["decision_threshold", "resize_up_by", "resize_down_by", "resize_calm_time", "vote_lifetime"])?;
    let decision_threshold = match args.get("decision_threshold") {
        None => defaults.decision_threshold,
        Some(value) => json::number(value, &args.path_of("decision_threshold"), 1.0, 100.0)?,
    };
    Ok(VotesPolicy {
        decision_threshold,
        resize_up_by: count(&args, "resize_up_by", defaults.resize_up_by)?,
        resize_down_by: count(&args, "resize_down_by", defaults.resize_down_by)?,
        resize_calm_time: seconds(&args, "resize_calm_time", defaults.resize_calm_time.as_secs())?,
        vote_lifetime: seconds(&args, "vote_lifetime", defaults.vote_lifetime.as_secs())?,
    })
}

fn parse_fallback(value: &Value, path: &str) -> Result<Fallback, Invalid> {
    let fallback = Obj::new(value, path)?;
    fallback.only(&["after", "action", "members"])?;
    let after = count(&fallback, "after", 3)?;
    let members = || -> Result<u32, Invalid> {
        let value = fallback.required("members")?;
        Ok(json::integer(value, &fallback.path_of("members"), 0, i64::from(u32::MAX))? as u32)
    };
    let actions = ["hold", "fixed", "fixed_if_higher"];
    let action = match json::one_of(fallback.required("action")?, &fallback.path_of("action"), &actions)? {
        "hold" if fallback.has("members") => {
            return Err(Invalid::schema(format!("{}: 'hold' takes no members", fallback.path_of("members"))));
        }
        "hold" => FallbackAction::Hold,
        "fixed" => FallbackAction::Fixed(members()?),
        _ => FallbackAction::FixedIfHigher(members()?),
    };
    Ok(Fallback { after, action })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(body: Value) -> Result<Option<MetricPolicy>, Invalid> {
        let obj = Obj::new(&body, "").unwrap();
        MetricPolicy::parse(body["type"].as_str().unwrap(), &obj)
    }

    fn strategy(body: Value) -> Strategy {
        parse(body).unwrap().unwrap().strategy
    }

    fn error(body: Value) -> String {
        parse(body).unwrap_err().message
    }

    #[test]
    fn step_policies_take_the_issues_steps() {
        let parsed =
            strategy(json!({"type": "step", "args": {"metric": "cpuutil", "threshold": 70, "comparison": ">=",
            "steps": [{"lower": 0, "upper": 20, "change": 1}, {"lower": 20, "change": 3}]}}));
        let Strategy::Step { metric, policy, warmup } = parsed else { panic!("a step policy") };
        assert_eq!((metric.as_str(), warmup), ("cpuutil", SignedDuration::from_secs(300)));
        assert_eq!(
            (policy.threshold, policy.side, policy.evaluation),
            (70.0, Side::Above, SignedDuration::from_secs(60))
        );
        assert_eq!(policy.steps[1], Step { lower: Some(20.0), upper: None, adjustment: Adjustment::Change(3) });
        let overlap = json!({"type": "step", "args": {"metric": "cpu", "threshold": 70, "comparison": ">=",
            "steps": [{"lower": 0, "upper": 20, "change": 1}, {"lower": 10, "change": 3}]}});
        assert_eq!(error(overlap), "args.steps[1]: overlaps args.steps[0]");
        let neither = json!({"type": "step", "args": {"metric": "cpu", "threshold": 70, "comparison": ">=",
            "steps": [{"change": 1}]}});
        assert!(error(neither).contains("args.steps[0]: at least one of 'lower' and 'upper'"));
        let two = json!({"type": "step", "args": {"metric": "cpu", "threshold": 70, "comparison": "<=",
            "steps": [{"upper": 0, "change": -1, "changePercent": -10}]}});
        assert!(error(two).contains("exactly one of"));
        let operator =
            json!({"type": "step", "args": {"metric": "cpu", "threshold": 70, "comparison": ">", "steps": []}});
        assert!(error(operator).contains("args.comparison"));
    }

    #[test]
    fn threshold_policies_take_autoscalebots_defaults() {
        let Strategy::Threshold { policy, .. } =
            strategy(json!({"type": "threshold", "args": {"metric": "responsetime", "decision": "consecutive"}}))
        else {
            panic!("a threshold policy")
        };
        assert_eq!(policy, ThresholdPolicy::consecutive());
        let Strategy::Threshold { policy, .. } = strategy(json!({"type": "threshold", "args": {"metric": "queue",
            "decision": "average", "measurements": 4, "max": 50, "post_scale_wait": 60}}))
        else {
            panic!("a threshold policy")
        };
        assert_eq!(policy.decision, Decision::Average { measurements: 4 });
        assert_eq!((policy.min, policy.max, policy.post_scale_wait.as_secs()), (0.0, 50.0, 60));
        let mixed =
            json!({"type": "threshold", "args": {"metric": "q", "decision": "average", "fails_to_scale_up": 2}});
        assert!(error(mixed).contains("args.fails_to_scale_up: does not apply"));
        let band = json!({"type": "threshold", "args": {"metric": "q", "decision": "average", "min": 30, "max": 20}});
        assert!(error(band).contains("args.min: must be less than 'max'"));
        let short =
            json!({"type": "threshold", "args": {"metric": "q", "decision": "consecutive", "history_length": 4}});
        assert!(error(short).contains("fewer measurements (4) than the decision needs (5)"));
    }

    #[test]
    fn votes_dry_run_and_fallback() {
        let parsed = parse(json!({"type": "votes", "dry_run": true})).unwrap().unwrap();
        assert_eq!(parsed.strategy, Strategy::Votes(VotesPolicy::default()));
        assert!(parsed.dry_run);
        let Strategy::Votes(votes) =
            strategy(json!({"type": "votes", "args": {"decision_threshold": 75, "resize_up_by": 3}}))
        else {
            panic!("a votes policy")
        };
        assert_eq!((votes.decision_threshold, votes.resize_up_by, votes.resize_down_by), (75.0, 3, 1));
        let fallback = parse(json!({"type": "threshold", "args": {"metric": "q", "decision": "average"},
            "fallback": {"after": 2, "action": "fixed_if_higher", "members": 4}}))
        .unwrap()
        .unwrap();
        assert_eq!(fallback.fallback, Some(Fallback { after: 2, action: FallbackAction::FixedIfHigher(4) }));
        let bad = json!({"type": "votes", "fallback": {"action": "fixed"}});
        assert!(error(bad).contains("fallback"));
        assert_eq!(parse(json!({"type": "webhook"})).unwrap(), None, "not a metric policy");
        assert!(error(json!({"type": "votes", "args": {"decision_threshold": 0}})).contains("args.decision_threshold"));
    }
}
