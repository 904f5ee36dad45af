//! The `target_tracking` policy's `args`, with the HPA's field names so that operators
//! recognise them, validated into the strategy's types:
//!
//! ```json
//! {"metric": "cpuutil", "target": {"type": "Utilization", "averageUtilization": 60},
//!  "tolerance": {"up": 0.05, "down": 0.2},
//!  "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
//!               "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}}}
//! ```

use jiff::SignedDuration;
use serde_json::Value;

use super::behavior::{Behavior, RateKind, RatePolicy, Rules, Select};
use super::replicas::{Target, Tolerance};
use crate::Invalid;
use crate::json::{self, Obj};

/// The most a stabilization window may be, in seconds (the HPA's limit).
pub const MAX_STABILIZATION_SECS: i64 = 3600;
/// The longest period of a rate policy, in seconds (the HPA's limit).
pub const MAX_PERIOD_SECS: i64 = 1800;

/// A validated `target_tracking` policy.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetTracking {
    /// The metric kept at the target.
    pub metric: String,
    /// The target.
    pub target: Target,
    /// The band around the target inside which nothing changes.
    pub tolerance: Tolerance,
    /// Stabilization and rate policies, per direction.
    pub behavior: Behavior,
    /// Whether members still starting are left out of the average (`excludeUnready`, true by
    /// default: a scale-up or a rollout never inflates the count; the HPA does this for CPU
    /// only).
    pub exclude_unready: bool,
}

impl TargetTracking {
    /// Validates `args` found at `path`.
    pub fn parse(value: &Value, path: &str) -> Result<Self, Invalid> {
        let args = Obj::new(value, path)?;
        args.only(&["metric", "target", "tolerance", "behavior", "excludeUnready"])?;
        let metric = super::metric_policy::metric(&args)?;
        let target = parse_target(args.required("target")?, &args.path_of("target"))?;
        let tolerance = match args.get("tolerance") {
            None => Tolerance::default(),
            Some(value @ Value::Object(_)) => {
                let band = Obj::new(value, &args.path_of("tolerance"))?;
                band.only(&["up", "down"])?;
                let side = |key: &str| match band.get(key) {
                    None => Ok(0.1),
                    Some(value) => json::number(value, &band.path_of(key), 0.0, 1.0),
                };
                Tolerance { up: side("up")?, down: side("down")? }
            }
            Some(value) => {
                let both = json::number(value, &args.path_of("tolerance"), 0.0, 1.0)?;
                Tolerance { up: both, down: both }
            }
        };
        let behavior = match args.get("behavior") {
            None => Behavior::default(),
            Some(value) => parse_behavior(value, &args.path_of("behavior"))?,
        };
        let exclude_unready = match args.get("excludeUnready") {
            None => true,
            Some(value) => json::boolean(value, &args.path_of("excludeUnready"))?,
        };
        Ok(TargetTracking { metric, target, tolerance, behavior, exclude_unready })
    }
}

fn parse_target(value: &Value, path: &str) -> Result<Target, Invalid> {
    let target = Obj::new(value, path)?;
    let kinds = ["Utilization", "AverageValue", "Value"];
    let kind = json::one_of(target.required("type")?, &target.path_of("type"), &kinds)?;
    let (key, make): (&str, fn(f64) -> Target) = match kind {
        "Utilization" => ("averageUtilization", Target::Utilization),
        "AverageValue" => ("averageValue", Target::AverageValue),
        _ => ("value", Target::Value),
    };
    target.only(&["type", key])?;
    let amount = json::number(target.required(key)?, &target.path_of(key), 0.0, f64::MAX)?;
    if amount <= 0.0 {
        return Err(Invalid::schema(format!("{}: must be greater than 0", target.path_of(key))));
    }
    if kind == "Utilization" && amount.fract() != 0.0 {
        return Err(Invalid::schema(format!("{}: must be a whole percentage", target.path_of(key))));
    }
    Ok(make(amount))
}

fn parse_behavior(value: &Value, path: &str) -> Result<Behavior, Invalid> {
    let behavior = Obj::new(value, path)?;
    behavior.only(&["scaleUp", "scaleDown"])?;
    let defaults = Behavior::default();
    let up = match behavior.get("scaleUp") {
        None => defaults.up,
        Some(value) => parse_rules(value, &behavior.path_of("scaleUp"), defaults.up)?,
    };
    let down = match behavior.get("scaleDown") {
        None => defaults.down,
        Some(value) => parse_rules(value, &behavior.path_of("scaleDown"), defaults.down)?,
    };
    Ok(Behavior { up, down })
}

/// One direction's rules; what is left out keeps the HPA's default for that direction.
fn parse_rules(value: &Value, path: &str, defaults: Rules) -> Result<Rules, Invalid> {
    let rules = Obj::new(value, path)?;
    rules.only(&["stabilizationWindowSeconds", "selectPolicy", "policies"])?;
    let stabilization = match rules.get("stabilizationWindowSeconds") {
        None => defaults.stabilization,
        Some(value) => SignedDuration::from_secs(json::integer(
            value,
            &rules.path_of("stabilizationWindowSeconds"),
            0,
            MAX_STABILIZATION_SECS,
        )?),
    };
    let select = match rules.get("selectPolicy") {
        None => defaults.select,
        Some(value) => match json::one_of(value, &rules.path_of("selectPolicy"), &["Max", "Min", "Disabled"])? {
            "Max" => Select::Max,
            "Min" => Select::Min,
            _ => Select::Disabled,
        },
    };
    let policies = match rules.get("policies") {
        None => defaults.policies,
        Some(value) => {
            let list = json::array(value, &rules.path_of("policies"), 10)?;
            if list.is_empty() && select != Select::Disabled {
                return Err(Invalid::schema(format!(
                    "{}: at least one policy is required unless selectPolicy is 'Disabled'",
                    rules.path_of("policies")
                )));
            }
            let at = |i: usize| format!("{}[{i}]", rules.path_of("policies"));
            list.iter().enumerate().map(|(i, p)| parse_rate(p, &at(i))).collect::<Result<_, _>>()?
        }
    };
    Ok(Rules { stabilization, select, policies })
}

fn parse_rate(value: &Value, path: &str) -> Result<RatePolicy, Invalid> {
    let policy = Obj::new(value, path)?;
    policy.only(&["type", "value", "periodSeconds"])?;
    let kind = match json::one_of(policy.required("type")?, &policy.path_of("type"), &["Pods", "Members", "Percent"])? {
        "Percent" => RateKind::Percent,
        _ => RateKind::Members,
    };
    let amount = json::integer(policy.required("value")?, &policy.path_of("value"), 1, i64::from(u32::MAX))?;
    let period =
        json::integer(policy.required("periodSeconds")?, &policy.path_of("periodSeconds"), 1, MAX_PERIOD_SECS)?;
    Ok(RatePolicy { kind, value: amount as u32, period: SignedDuration::from_secs(period) })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: Value) -> Result<TargetTracking, Invalid> {
        TargetTracking::parse(&value, "args")
    }

    #[test]
    fn the_issues_example_is_accepted_with_defaults_for_what_it_leaves_out() {
        let parsed = parse(json!({"metric": "cpuutil", "target": {"type": "Utilization", "averageUtilization": 60},
            "tolerance": 0.1, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}}}))
        .unwrap();
        assert_eq!(parsed.target, Target::Utilization(60.0));
        assert_eq!(parsed.behavior, Behavior::default(), "it spells out the defaults");
        assert!(parsed.exclude_unready);
        let minimal =
            parse(json!({"metric": "queue_length", "target": {"type": "AverageValue", "averageValue": 50}})).unwrap();
        assert_eq!((minimal.tolerance, minimal.behavior), (Tolerance::default(), Behavior::default()));
    }

    #[test]
    fn tolerance_may_differ_per_direction_and_rate_policies_take_both_names() {
        let parsed = parse(json!({"metric": "inflight", "target": {"type": "AverageValue", "averageValue": 4},
            "tolerance": {"up": 0.05, "down": 0.2},
            "behavior": {"scaleUp": {"policies": [{"type": "Members", "value": 2, "periodSeconds": 30}, {"type": "Pods", "value": 3, "periodSeconds": 60}]},
                         "scaleDown": {"selectPolicy": "Disabled", "policies": []}}}))
        .unwrap();
        assert_eq!(parsed.tolerance, Tolerance { up: 0.05, down: 0.2 });
        assert_eq!(parsed.behavior.up.policies.iter().map(|p| p.kind).collect::<Vec<_>>(), [RateKind::Members; 2]);
        assert_eq!(parsed.behavior.up.stabilization, SignedDuration::ZERO, "the up default stays");
        assert_eq!(parsed.behavior.down.select, Select::Disabled);
        assert_eq!(parsed.behavior.down.stabilization, SignedDuration::from_secs(300));
    }

    #[test]
    fn bad_args_name_the_field() {
        let base = json!({"metric": "cpuutil", "target": {"type": "Utilization", "averageUtilization": 60}});
        let with = |key: &str, value: Value| {
            let mut args = base.clone();
            args[key] = value;
            parse(args).unwrap_err().message
        };
        assert!(with("target", json!({"type": "Utilization", "averageValue": 3})).contains("args.target"));
        assert!(with("target", json!({"type": "Average"})).contains("args.target.type"));
        assert!(with("target", json!({"type": "Value", "value": 0})).contains("must be greater than 0"));
        assert!(with("tolerance", json!(1.5)).contains("args.tolerance"));
        assert!(with("tolerance", json!({"sideways": 0.1})).contains("args.tolerance"));
        let too_long = json!({"scaleDown": {"stabilizationWindowSeconds": 3601}});
        assert!(with("behavior", too_long).contains("args.behavior.scaleDown.stabilizationWindowSeconds"));
        let period = json!({"scaleUp": {"policies": [{"type": "Percent", "value": 10, "periodSeconds": 0}]}});
        assert!(with("behavior", period).contains("args.behavior.scaleUp.policies[0].periodSeconds"));
        let empty = json!({"scaleUp": {"policies": []}});
        assert!(with("behavior", empty).contains("at least one policy"));
        assert!(with("metric", json!("")).contains("args.metric"));
        assert!(with("extra", json!(1)).contains("extra"));
    }
}
