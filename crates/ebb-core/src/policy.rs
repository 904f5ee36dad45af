//! Scaling policies: what a policy changes (its adjustment, or for a metric policy the
//! strategy that decides), when it may run again (its cooldown) and, for schedule policies,
//! when it fires.

use jiff::Timestamp;
use serde_json::Value;

use crate::Invalid;
use crate::json::{self, Obj};
use crate::limits::MAX_COOLDOWN;
use crate::schedule::{self, Schedule};
use crate::strategy::metric_policy::MetricPolicy;

/// How a policy changes desired capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Adjustment {
    /// Add this many members (negative removes).
    Change(i64),
    /// Add this percentage of the current desired capacity, rounded away from zero.
    ChangePercent(f64),
    /// Set desired capacity to this number.
    DesiredCapacity(i64),
}

/// What starts a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyType {
    /// An API call or a capability URL.
    Webhook,
    /// A time (`at`) or a recurring time (`cron`).
    Schedule,
    /// A Rackspace Cloud Monitoring alarm (not available in Ebb).
    CloudMonitoring,
    /// Keeps a metric at a target per member (Kubernetes HPA).
    TargetTracking,
    /// AWS step scaling on a metric's alarm.
    Step,
    /// autoscalebot's thresholds on a metric.
    Threshold,
    /// RightScale's instance voting.
    Votes,
}

impl PolicyType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::Webhook => "webhook",
            PolicyType::Schedule => "schedule",
            PolicyType::CloudMonitoring => "cloud_monitoring",
            PolicyType::TargetTracking => "target_tracking",
            PolicyType::Step => "step",
            PolicyType::Threshold => "threshold",
            PolicyType::Votes => "votes",
        }
    }

    /// Every type, in the order error messages list them.
    pub const ALL: [PolicyType; 7] = [
        PolicyType::Webhook,
        PolicyType::Schedule,
        PolicyType::CloudMonitoring,
        PolicyType::TargetTracking,
        PolicyType::Step,
        PolicyType::Threshold,
        PolicyType::Votes,
    ];
}

/// What a policy does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Webhook and schedule policies: an adjustment, applied when the policy is executed.
    Adjust(Adjustment),
    /// Metric policies: a strategy, evaluated when its inputs change; never executed.
    Metric(Box<MetricPolicy>),
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Not unique; at least one non-whitespace character.
    pub name: String,
    /// What starts it.
    pub kind: PolicyType,
    /// Seconds after a successful execution during which this policy may not execute again.
    pub cooldown: f64,
    /// What it does.
    pub action: Action,
    /// When it fires, for schedule policies.
    pub schedule: Option<Schedule>,
}

/// Whether a policy body comes from a user now (an `at` time must be in the future) or from
/// the store (it was checked when it was written).
#[derive(Debug, Clone, Copy)]
pub enum Origin {
    /// Submitted at this instant.
    Submitted(Timestamp),
    /// Read back from the store.
    Stored,
}

impl Policy {
    /// A policy body read back from the store. It was validated when it was stored; only
    /// what a submission must also satisfy at the time (an `at` in the future) is not asked
    /// of it again.
    pub fn from_stored(value: &Value) -> Result<Self, Invalid> {
        Policy::parse(value, "", Origin::Stored)
    }

    /// Validates a policy body found at `path`.
    pub fn parse(value: &Value, path: &str, origin: Origin) -> Result<Self, Invalid> {
        let obj = Obj::new(value, path)?;
        obj.only(&[
            "name",
            "type",
            "cooldown",
            "change",
            "changePercent",
            "desiredCapacity",
            "args",
            "dry_run",
            "fallback",
        ])?;
        let name = json::non_blank(obj.required("name")?, &obj.path_of("name"), 256)?;
        let names = PolicyType::ALL.map(PolicyType::as_str);
        let name_of_kind = json::one_of(obj.required("type")?, &obj.path_of("type"), &names)?;
        let kind = PolicyType::ALL.into_iter().find(|k| k.as_str() == name_of_kind).unwrap_or(PolicyType::Webhook);
        let cooldown = json::number(obj.required("cooldown")?, &obj.path_of("cooldown"), 0.0, MAX_COOLDOWN as f64)?;
        let present: Vec<&str> =
            ["change", "changePercent", "desiredCapacity"].into_iter().filter(|key| obj.has(key)).collect();
        if let Some(metric) = MetricPolicy::parse(kind.as_str(), &obj)? {
            if let Some(key) = present.first() {
                return Err(Invalid::schema(format!(
                    "{}: {} policies decide their own change",
                    obj.path_of(key),
                    kind.as_str()
                )));
            }
            if let Origin::Submitted(_) = origin {
                crate::documents::conforms::<crate::documents::PolicyDocument>(value, path)?;
            }
            let action = Action::Metric(Box::new(metric));
            return Ok(Policy { name: name.to_string(), kind, cooldown, action, schedule: None });
        }
        for key in ["dry_run", "fallback"] {
            if obj.has(key) {
                return Err(Invalid::schema(format!("{}: only metric policies take it", obj.path_of(key))));
            }
        }
        let adjustment = match present.as_slice() {
            ["change"] => {
                let change = json::integer(obj.required("change")?, &obj.path_of("change"), i64::MIN, i64::MAX)?;
                if change == 0 {
                    return Err(Invalid::schema(format!("{}: must not be 0", obj.path_of("change"))));
                }
                Adjustment::Change(change)
            }
            ["changePercent"] => {
                let percent =
                    json::number(obj.required("changePercent")?, &obj.path_of("changePercent"), f64::MIN, f64::MAX)?;
                if percent == 0.0 {
                    return Err(Invalid::schema(format!("{}: must not be 0", obj.path_of("changePercent"))));
                }
                Adjustment::ChangePercent(percent)
            }
            ["desiredCapacity"] => Adjustment::DesiredCapacity(json::integer(
                obj.required("desiredCapacity")?,
                &obj.path_of("desiredCapacity"),
                0,
                i64::MAX,
            )?),
            _ => {
                let at = if obj.path().is_empty() { String::new() } else { format!("{}: ", obj.path()) };
                return Err(Invalid::schema(format!(
                    "{at}exactly one of 'change', 'changePercent' and 'desiredCapacity' is required"
                )));
            }
        };
        let schedule = match kind {
            PolicyType::Schedule => Some(parse_schedule_args(obj.required("args")?, &obj.path_of("args"), origin)?),
            PolicyType::CloudMonitoring => {
                let args = Obj::new(obj.required("args")?, &obj.path_of("args"))?;
                args.only(&["alarm_criteria", "check"])?;
                args.required("alarm_criteria")?;
                args.required("check")?;
                return Err(Invalid::schema("cloud_monitoring policy disabled"));
            }
            _ => {
                if obj.has("args") {
                    return Err(Invalid::schema(format!("{}: webhook policies take no args", obj.path_of("args"))));
                }
                None
            }
        };
        if let Origin::Submitted(_) = origin {
            crate::documents::conforms::<crate::documents::PolicyDocument>(value, path)?;
        }
        Ok(Policy { name: name.to_string(), kind, cooldown, action: Action::Adjust(adjustment), schedule })
    }

    /// The adjustment an execution applies; `None` for a metric policy, which is never executed.
    pub fn adjustment(&self) -> Option<Adjustment> {
        match &self.action {
            Action::Adjust(adjustment) => Some(*adjustment),
            Action::Metric(_) => None,
        }
    }

    /// The metric policy, if it is one.
    pub fn metric(&self) -> Option<&MetricPolicy> {
        match &self.action {
            Action::Metric(metric) => Some(metric),
            Action::Adjust(_) => None,
        }
    }

    /// Checks a replacement body: same rules, and the type may not change.
    pub fn parse_replacement(value: &Value, current: &Policy, now: Timestamp) -> Result<Self, Invalid> {
        let replacement = Policy::parse(value, "", Origin::Submitted(now))?;
        if replacement.kind != current.kind {
            return Err(Invalid::schema("Cannot change type of a scaling policy"));
        }
        Ok(replacement)
    }
}

fn parse_schedule_args(value: &Value, path: &str, origin: Origin) -> Result<Schedule, Invalid> {
    let args = Obj::new(value, path)?;
    args.only(&["at", "cron", "timezone"])?;
    match (args.get("at"), args.get("cron")) {
        (Some(_), None) if args.has("timezone") => {
            Err(Invalid::schema(format!("{path}: 'timezone' goes with 'cron'; 'at' is always UTC")))
        }
        (Some(at), None) => {
            let text = json::string(at, &args.path_of("at"), 64)?;
            let now = match origin {
                Origin::Submitted(now) => Some(now),
                Origin::Stored => None,
            };
            Ok(Schedule::At(schedule::parse_at(text, now)?))
        }
        (None, Some(cron)) => {
            let text = json::string(cron, &args.path_of("cron"), 256)?;
            schedule::parse_cron(text)?;
            let timezone = match args.get("timezone") {
                None => None,
                Some(value) => {
                    let name = json::string(value, &args.path_of("timezone"), 64)?;
                    schedule::parse_timezone(name)?;
                    Some(name.to_string())
                }
            };
            Ok(Schedule::Cron { expression: text.to_string(), timezone })
        }
        _ => Err(Invalid::schema(format!("{path}: exactly one of 'at' and 'cron' is required"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn parse(value: Value) -> Result<Policy, Invalid> {
        Policy::parse(&value, "", Origin::Submitted(now()))
    }

    #[test]
    fn accepts_each_adjustment() {
        let p = parse(json!({"name": "up", "type": "webhook", "cooldown": 1.5, "change": 1})).unwrap();
        assert_eq!(p.adjustment(), Some(Adjustment::Change(1)));
        let p = parse(json!({"name": "up", "type": "webhook", "cooldown": 0, "change": i64::MAX})).unwrap();
        assert_eq!(p.adjustment(), Some(Adjustment::Change(i64::MAX)));
        let p = parse(json!({"name": "p", "type": "webhook", "cooldown": 0, "changePercent": -12.5})).unwrap();
        assert_eq!(p.adjustment(), Some(Adjustment::ChangePercent(-12.5)));
        let p = parse(json!({"name": "d", "type": "webhook", "cooldown": 0, "desiredCapacity": 0})).unwrap();
        assert_eq!(p.adjustment(), Some(Adjustment::DesiredCapacity(0)));
        let p = parse(
            json!({"name": "s", "type": "schedule", "cooldown": 0, "change": 1, "args": {"cron": "0 8 * * 1-5"}}),
        )
        .unwrap();
        assert_eq!(p.schedule, Some(Schedule::Cron { expression: "0 8 * * 1-5".into(), timezone: None }));
        let p = parse(json!({"name": "s", "type": "schedule", "cooldown": 0, "change": 1, "args": {"cron": "0 8 * * 1-5", "timezone": "Europe/Berlin"}})).unwrap();
        assert_eq!(p.schedule.unwrap().timezone(), "Europe/Berlin");
        assert!(parse(json!({"name": "s", "type": "schedule", "cooldown": 0, "change": 1, "args": {"cron": "* * * * *", "timezone": "Nowhere/City"}})).is_err());
        assert!(parse(json!({"name": "s", "type": "schedule", "cooldown": 0, "change": 1, "args": {"at": "2099-01-01T00:00:00Z", "timezone": "UTC"}})).is_err());
    }

    #[test]
    fn rejects_what_otter_rejects() {
        let cases = [
            json!({"type": "webhook", "cooldown": 0, "change": 1}),
            json!({"name": " ", "type": "webhook", "cooldown": 0, "change": 1}),
            json!({"name": "a", "type": "webhook", "cooldown": -1, "change": 1}),
            json!({"name": "a", "type": "webhook", "cooldown": 86401, "change": 1}),
            json!({"name": "a", "type": "webhook", "change": 1}),
            json!({"name": "a", "type": "webhook", "cooldown": 0, "change": 0}),
            json!({"name": "a", "type": "webhook", "cooldown": 0, "change": 1.5}),
            json!({"name": "a", "type": "webhook", "cooldown": 0, "change": 0.001}),
            json!({"name": "a", "type": "webhook", "cooldown": 0, "changePercent": 0}),
            json!({"name": "a", "type": "webhook", "cooldown": 0, "desiredCapacity": -1}),
            json!({"name": "a", "type": "webhook", "cooldown": 0, "change": 1, "desiredCapacity": 1}),
            json!({"name": "a", "type": "webhook", "cooldown": 0, "change": 1, "changePercent": 1, "desiredCapacity": 1}),
            json!({"name": "a", "type": "webhook", "cooldown": 0}),
            json!({"name": "a", "type": "other", "cooldown": 0, "change": 1}),
            json!({"name": "a", "type": "webhook", "cooldown": 0, "change": 1, "args": {}}),
            json!({"name": "a", "type": "schedule", "cooldown": 0, "change": 1}),
            json!({"name": "a", "type": "schedule", "cooldown": 0, "change": 1, "args": {"at": "2030-01-01T00:00:00Z", "cron": "* * * * *"}}),
            json!({"name": "a", "type": "schedule", "cooldown": 0, "change": 1, "args": {"cron": "* * * * *", "x": 1}}),
            json!({"name": "a", "type": "schedule", "cooldown": 0, "change": 1, "args": {}}),
            json!({"name": "a", "type": "webhook", "cooldown": 0, "change": 1, "extra": true}),
        ];
        for body in cases {
            assert!(parse(body.clone()).is_err(), "should reject {body}");
        }
    }

    #[test]
    fn metric_policies_take_args_instead_of_a_change() {
        let tracking = json!({"type": "target_tracking", "name": "cpu", "cooldown": 0, "args": {"metric": "cpuutil",
            "target": {"type": "Utilization", "averageUtilization": 60}, "tolerance": 0.1}});
        let policy = parse(tracking.clone()).unwrap();
        assert_eq!(
            (policy.kind, policy.adjustment(), policy.schedule.as_ref()),
            (PolicyType::TargetTracking, None, None)
        );
        assert_eq!(policy.metric().and_then(|m| m.strategy.metric()), Some("cpuutil"));
        assert_eq!(Policy::from_stored(&tracking).unwrap(), policy, "read back as it was");
        let mut with_change = tracking.clone();
        with_change["change"] = json!(1);
        assert_eq!(parse(with_change).unwrap_err().message, "change: target_tracking policies decide their own change");
        let dry = parse(json!({"type": "votes", "name": "v", "cooldown": 0, "dry_run": true})).unwrap();
        assert!(dry.metric().unwrap().dry_run);
        let webhook_dry = parse(json!({"name": "w", "type": "webhook", "cooldown": 0, "change": 1, "dry_run": true}));
        assert_eq!(webhook_dry.unwrap_err().message, "dry_run: only metric policies take it");
        let unknown = parse(json!({"name": "a", "type": "hpa", "cooldown": 0})).unwrap_err().message;
        assert!(unknown.contains("'target_tracking', 'step', 'threshold', 'votes'"), "{unknown}");
        assert!(parse(json!({"name": "s", "type": "step", "cooldown": 0})).unwrap_err().message.contains("args"));
    }

    #[test]
    fn cloud_monitoring_is_disabled() {
        let err = parse(json!({"name": "a", "type": "cloud_monitoring", "cooldown": 0, "change": 1, "args": {"check": {}, "alarm_criteria": {}}})).unwrap_err();
        assert_eq!(err.message, "cloud_monitoring policy disabled");
    }

    #[test]
    fn replacement_may_not_change_type() {
        let current = parse(json!({"name": "a", "type": "webhook", "cooldown": 0, "change": 1})).unwrap();
        let err = Policy::parse_replacement(
            &json!({"name": "a", "type": "schedule", "cooldown": 0, "change": 1, "args": {"cron": "* * * * *"}}),
            &current,
            now(),
        )
        .unwrap_err();
        assert_eq!(err.message, "Cannot change type of a scaling policy");
        assert!(
            Policy::parse_replacement(
                &json!({"name": "b", "type": "webhook", "cooldown": 3, "desiredCapacity": 2}),
                &current,
                now()
            )
            .is_ok()
        );
    }
}
