//! Cloud Foundry App Autoscaler's policy document (`cf-app-autoscaler.md` §1): validated
//! exactly as Cloud Foundry does — its JSON Schema first (every error, gojsonschema's words),
//! then, only when that passes, the semantic checks — and echoed normalised (§1.6).
//!
//! A policy is three settings of a group seen Cloud Foundry's way: its instance limits are
//! the group's `minEntities`/`maxEntities`, its `schedules` are the group's time windows
//! ([`crate::windows`]), and its `scaling_rules` (with the custom-metric `configuration`)
//! are the group's [`MetricRules`].
//!
//! Deviations from Cloud Foundry, each on purpose: time zones are IANA names as the time-zone
//! database spells them (CF's fixed list of 582 names, some with a trailing space, is matched
//! after trimming); instance counts are at most [`crate::limits::MAX_ENTITIES`] and window
//! counts at least 0; `stats_window_secs` is dropped, as CF ignores it.

mod schema;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::limits::MAX_ENTITIES;
use crate::metrics::rule::{Adjustment, Operator, Rule};
use crate::records::GroupWindows;
use crate::windows::Windows;
use schema::Checker;

/// How long a rule must be breached when the policy does not say (CF's deployed default).
pub const DEFAULT_BREACH: SignedDuration = SignedDuration::from_secs(120);

/// The cooldown after a scale by a rule when the policy does not say (CF's deployed default).
pub const DEFAULT_COOLDOWN: SignedDuration = SignedDuration::from_secs(300);

/// One error of a rejected policy, as Cloud Foundry answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PolicyError {
    /// Where: `(root)`, `(root).scaling_rules.1.adjustment`, ...
    pub context: String,
    /// What is wrong, in gojsonschema's or the validator's words.
    pub description: String,
}

/// Who may submit a group's custom metrics (`configuration.custom_metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllowFrom {
    /// The group itself (its tenant, or its metric credential).
    #[default]
    SameApp,
    /// Also anything bound to the same service instance.
    BoundApp,
}

impl AllowFrom {
    fn is_default(&self) -> bool {
        *self == AllowFrom::SameApp
    }
}

/// A scaling rule as the policy states it (absent durations stay absent, so the policy is
/// echoed as it was given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalingRule {
    /// The metric it reads.
    pub metric_type: String,
    /// How long it must be breached, in seconds (absent: [`DEFAULT_BREACH`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach_duration_secs: Option<u32>,
    /// What the aggregated value is compared with.
    pub threshold: i64,
    /// How it is compared.
    pub operator: Operator,
    /// The group's cooldown after a scale by this rule, in seconds (absent: [`DEFAULT_COOLDOWN`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cool_down_secs: Option<u32>,
    /// What a breach changes.
    pub adjustment: Adjustment,
}

impl ScalingRule {
    /// The rule to evaluate, with defaults filled in.
    pub fn rule(&self) -> Rule {
        let secs = |s: Option<u32>, default: SignedDuration| s.map_or(default, |s| SignedDuration::from_secs(s.into()));
        Rule {
            metric: self.metric_type.clone(),
            unit: unit_of(&self.metric_type).to_string(),
            operator: self.operator,
            threshold: self.threshold,
            breach: secs(self.breach_duration_secs, DEFAULT_BREACH),
            cooldown: secs(self.cool_down_secs, DEFAULT_COOLDOWN),
            adjustment: self.adjustment,
        }
    }
}

/// The unit Cloud Foundry reports a metric in (custom metrics have none of their own here).
pub fn unit_of(metric: &str) -> &'static str {
    match metric {
        "memoryused" | "disk" => "MB",
        "memoryutil" | "cpu" | "cpuutil" | "diskutil" => "%",
        "responsetime" => "ms",
        "throughput" => "rps",
        _ => "",
    }
}

/// A group's metric rules: the policy's `scaling_rules` and who may submit custom metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricRules {
    /// The rules, in policy order (the first breached wins).
    pub scaling_rules: Vec<ScalingRule>,
    /// Who may submit custom metrics.
    #[serde(default, skip_serializing_if = "AllowFrom::is_default")]
    pub allow_from: AllowFrom,
    /// Whether they came from a service instance's default policy (a group bound to the
    /// service broker without a policy of its own), so that changing that default reaches
    /// them; `false` for a policy set explicitly.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_default: bool,
}

impl MetricRules {
    /// Whether some rule reads `metric`.
    pub fn reads(&self, metric: &str) -> bool {
        self.scaling_rules.iter().any(|r| r.metric_type == metric)
    }
}

/// The ranges thresholds must lie in for the built-in metrics whose range the operator sets
/// (CF's `autoscaler.apiserver.scaling_rules.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThresholdRanges {
    /// `cpu` (percent of one core; raise the top for many-core hosts).
    pub cpu: (i64, i64),
    /// `cpuutil`.
    pub cpuutil: (i64, i64),
    /// `disk` (MB).
    pub disk: (i64, i64),
    /// `diskutil`.
    pub diskutil: (i64, i64),
}

impl Default for ThresholdRanges {
    fn default() -> Self {
        ThresholdRanges { cpu: (1, 100), cpuutil: (1, 100), disk: (1, 2048), diskutil: (1, 100) }
    }
}

/// A valid policy.
#[derive(Debug, Clone, PartialEq)]
pub struct CfPolicy {
    /// The group's `minEntities`.
    pub instance_min_count: u32,
    /// The group's `maxEntities`.
    pub instance_max_count: u32,
    /// The group's metric rules.
    pub rules: MetricRules,
    /// The group's time windows (normalised), when the policy has schedules.
    pub schedules: Option<GroupWindows>,
}

/// What the schema phase kept, before the semantic checks.
struct Shaped {
    min: i64,
    max: i64,
    rules: Vec<ScalingRule>,
    schedules: Option<Value>,
    allow_from: AllowFrom,
}

const RULE_KEYS: [&str; 4] = ["metric_type", "threshold", "operator", "adjustment"];

fn shape(value: &Value, c: &mut Checker) -> Option<Shaped> {
    let root = c.object(value, "(root)")?;
    let versioned = match root.get("schema-version") {
        None | Some(Value::Null) => false,
        Some(version) => c.one_of(version, "(root).schema-version", &["0.1"]).is_some(),
    };
    if versioned {
        const ROOT_KEYS: [&str; 7] = [
            "schema-version",
            "instance_min_count",
            "instance_max_count",
            "scaling_rules",
            "schedules",
            "configuration",
            "credential-type",
        ];
        for key in root.keys().filter(|k| !ROOT_KEYS.contains(&k.as_str())) {
            c.error("(root)", format!("Additional property {key} is not allowed"));
        }
    }
    c.required(root, "(root)", &["instance_min_count", "instance_max_count"]);
    if !root.contains_key("scaling_rules") && !root.contains_key("schedules") {
        c.error("(root)", "Must validate at least one schema (anyOf)");
        c.error("(root)", "scaling_rules is required");
    }
    let count = |c: &mut Checker, key: &str, min: i64| {
        root.get(key).and_then(|v| c.integer(v, &format!("(root).{key}"), Some(min), Some(MAX_ENTITIES)))
    };
    let min = count(c, "instance_min_count", 1);
    let max = count(c, "instance_max_count", 0);
    let rules = match root.get("scaling_rules") {
        Some(list) => scaling_rules(list, c),
        None => Some(Vec::new()),
    };
    let schedules = root.get("schedules").map(|s| schedules(s, c));
    let allow_from = root.get("configuration").map(|conf| configuration(conf, c));
    if let Some(kind) = root.get("credential-type") {
        c.one_of(kind, "(root).credential-type", &["x509", "binding-secret"]);
    }
    if !c.errors.is_empty() {
        return None;
    }
    Some(Shaped {
        min: min?,
        max: max?,
        rules: rules?,
        schedules: schedules.flatten(),
        allow_from: allow_from.flatten().unwrap_or_default(),
    })
}

fn scaling_rules(list: &Value, c: &mut Checker) -> Option<Vec<ScalingRule>> {
    let items = c.array(list, "(root).scaling_rules", 0)?;
    let mut rules = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let context = format!("(root).scaling_rules.{index}");
        let Some(obj) = c.object(item, &context) else { continue };
        c.required(obj, &context, &RULE_KEYS);
        let at = |key: &str| format!("{context}.{key}");
        let metric = obj.get("metric_type").and_then(|v| {
            let name = c.pattern(v, &at("metric_type"), schema::METRIC_PATTERN, schema::is_metric_name)?;
            if name.len() > crate::metrics::MAX_NAME_LEN {
                c.error(&at("metric_type"), "String length must be less than or equal to 100");
                return None;
            }
            Some(name.to_string())
        });
        let threshold = obj.get("threshold").and_then(|v| c.integer(v, &at("threshold"), None, None));
        let operator = obj
            .get("operator")
            .and_then(|v| c.one_of(v, &at("operator"), &["<", ">", "<=", ">="]))
            .and_then(Operator::parse);
        let adjustment = obj
            .get("adjustment")
            .and_then(|v| c.pattern(v, &at("adjustment"), schema::ADJUSTMENT_PATTERN, schema::is_adjustment))
            .and_then(|text| Adjustment::parse(text).ok());
        let mut duration = |key: &str| match obj.get(key) {
            None => Some(None),
            Some(v) => c.integer(v, &at(key), Some(60), Some(3600)).map(|s| Some(s as u32)),
        };
        let breach = duration("breach_duration_secs");
        let cooldown = duration("cool_down_secs");
        if let (Some(metric), Some(threshold), Some(operator), Some(adjustment), Some(breach), Some(cooldown)) =
            (metric, threshold, operator, adjustment, breach, cooldown)
        {
            rules.push(ScalingRule {
                metric_type: metric,
                breach_duration_secs: breach,
                threshold,
                operator,
                cool_down_secs: cooldown,
                adjustment,
            });
        }
    }
    Some(rules)
}

/// Checks the shape of `schedules` and returns it normalised (known keys only, empty and zero
/// optional fields left out, the time zone trimmed), ready for [`Windows::parse`].
fn schedules(value: &Value, c: &mut Checker) -> Option<Value> {
    let context = "(root).schedules";
    let obj = c.object(value, context)?;
    c.required(obj, context, &["timezone"]);
    let before = c.errors.len();
    let timezone = obj.get("timezone").and_then(|v| c.string(v, "(root).schedules.timezone")).map(str::trim);
    if let Some(zone) = timezone
        && let Err(err) = crate::schedule::parse_timezone(zone)
    {
        c.error("(root).schedules.timezone", format!("schedules.timezone must be an IANA time zone name: {err}"));
    }
    if !obj.contains_key("recurring_schedule") && !obj.contains_key("specific_date") {
        c.error(context, "Must validate at least one schema (anyOf)");
        c.error(context, "recurring_schedule is required");
    }
    let mut normalised = Map::new();
    normalised.insert("timezone".into(), json!(timezone.unwrap_or_default()));
    if let Some(list) = obj.get("recurring_schedule") {
        let items = recurring(list, c);
        if !items.is_empty() {
            normalised.insert("recurring_schedule".into(), Value::Array(items));
        }
    }
    if let Some(list) = obj.get("specific_date") {
        let items = specific(list, c);
        if !items.is_empty() {
            normalised.insert("specific_date".into(), Value::Array(items));
        }
    }
    (c.errors.len() == before).then_some(Value::Object(normalised))
}

fn window_counts(obj: &Map<String, Value>, context: &str, c: &mut Checker, into: &mut Map<String, Value>) {
    for key in ["instance_min_count", "instance_max_count", "initial_min_instance_count"] {
        if let Some(n) =
            obj.get(key).and_then(|v| c.integer(v, &format!("{context}.{key}"), Some(0), Some(MAX_ENTITIES)))
            && (n != 0 || key != "initial_min_instance_count")
        {
            into.insert(key.into(), json!(n));
        }
    }
}

fn days(value: &Value, context: &str, max: i64, c: &mut Checker) -> Option<Vec<i64>> {
    let items = c.array(value, context, 1)?;
    let mut days = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let day = c.integer(item, &format!("{context}.{index}"), Some(1), Some(max))?;
        if let Some(first) = days.iter().position(|d| *d == day) {
            c.error(context, format!("array items[{first},{index}] must be unique"));
            return None;
        }
        days.push(day);
    }
    Some(days)
}

fn recurring(list: &Value, c: &mut Checker) -> Vec<Value> {
    let Some(items) = c.array(list, "(root).schedules.recurring_schedule", 0) else { return Vec::new() };
    let mut out = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let context = format!("(root).schedules.recurring_schedule.{index}");
        let Some(obj) = c.object(item, &context) else { continue };
        c.required(obj, &context, &["start_time", "end_time", "instance_min_count", "instance_max_count"]);
        let mut window = Map::new();
        for key in ["start_time", "end_time"] {
            if let Some(time) = obj
                .get(key)
                .and_then(|v| c.pattern(v, &format!("{context}.{key}"), schema::TIME_PATTERN, schema::is_time))
            {
                window.insert(key.into(), json!(time));
            }
        }
        match (obj.get("days_of_week"), obj.get("days_of_month")) {
            (Some(week), None) => {
                if let Some(d) = days(week, &format!("{context}.days_of_week"), 7, c) {
                    window.insert("days_of_week".into(), json!(d));
                }
            }
            (None, Some(month)) => {
                if let Some(d) = days(month, &format!("{context}.days_of_month"), 31, c) {
                    window.insert("days_of_month".into(), json!(d));
                }
            }
            (Some(_), Some(_)) => c.error(&context, "Must validate one and only one schema (oneOf)"),
            (None, None) => {
                c.error(&context, "Must validate one and only one schema (oneOf)");
                c.error(&context, "days_of_week is required");
            }
        }
        for key in ["start_date", "end_date"] {
            let date = obj.get(key).and_then(|v| {
                c.pattern(v, &format!("{context}.{key}"), schema::DATE_PATTERN, |t| t.is_empty() || schema::is_date(t))
            });
            if let Some(date) = date.filter(|d| !d.is_empty()) {
                window.insert(key.into(), json!(date));
            }
        }
        window_counts(obj, &context, c, &mut window);
        out.push(Value::Object(window));
    }
    out
}

fn specific(list: &Value, c: &mut Checker) -> Vec<Value> {
    let Some(items) = c.array(list, "(root).schedules.specific_date", 0) else { return Vec::new() };
    let mut out = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let context = format!("(root).schedules.specific_date.{index}");
        let Some(obj) = c.object(item, &context) else { continue };
        c.required(obj, &context, &["start_date_time", "end_date_time", "instance_min_count", "instance_max_count"]);
        let mut window = Map::new();
        for key in ["start_date_time", "end_date_time"] {
            if let Some(at) = obj.get(key).and_then(|v| {
                c.pattern(v, &format!("{context}.{key}"), schema::DATE_TIME_PATTERN, schema::is_date_time)
            }) {
                window.insert(key.into(), json!(at));
            }
        }
        window_counts(obj, &context, c, &mut window);
        out.push(Value::Object(window));
    }
    out
}

fn configuration(value: &Value, c: &mut Checker) -> Option<AllowFrom> {
    let context = "(root).configuration";
    let obj = c.object(value, context)?;
    if obj.contains_key("app_guid") {
        c.error(context, "Must not validate the schema (not)");
    }
    let metrics = obj.get("custom_metrics")?;
    let metrics = c.object(metrics, "(root).configuration.custom_metrics")?;
    c.required(metrics, "(root).configuration.custom_metrics", &["metric_submission_strategy"]);
    let strategy_context = "(root).configuration.custom_metrics.metric_submission_strategy";
    let strategy = c.object(metrics.get("metric_submission_strategy")?, strategy_context)?;
    c.required(strategy, strategy_context, &["allow_from"]);
    let allow_from = c.one_of(
        strategy.get("allow_from")?,
        "(root).configuration.custom_metrics.metric_submission_strategy.allow_from",
        &["bound_app", "same_app"],
    )?;
    Some(if allow_from == "bound_app" { AllowFrom::BoundApp } else { AllowFrom::SameApp })
}

/// The semantic check of a rule's threshold for its metric (`validateScalingRuleThreshold`).
fn threshold_error(rule: &ScalingRule, index: usize, ranges: &ThresholdRanges) -> Option<String> {
    let t = rule.threshold;
    let name = &rule.metric_type;
    let prefix = format!("scaling_rules[{index}].threshold for metric_type {name} should be");
    let within = |(low, high): (i64, i64)| {
        (t < low || t > high).then(|| format!("{prefix} greater than or equal {low} and less than or equal to {high}"))
    };
    match name.as_str() {
        "memoryused" | "responsetime" | "throughput" | "inflight" | "connections" => {
            (t < 0).then(|| format!("{prefix} greater than or equal 1"))
        }
        "memoryutil" => within((1, 100)),
        "cpu" => within(ranges.cpu),
        "cpuutil" => within(ranges.cpuutil),
        "disk" => within(ranges.disk),
        "diskutil" => within(ranges.diskutil),
        _ => None,
    }
}

/// Validates a policy at `now` (what is past is judged in the schedules' time zone): the
/// schema phase, then the semantic checks, each reporting every error it finds.
pub fn parse(value: &Value, now: Timestamp, ranges: &ThresholdRanges) -> Result<CfPolicy, Vec<PolicyError>> {
    parse_at(value, Some(now), Some(ranges))
}

/// Parses a policy stored after [`parse`] accepted it: its dates may since be past and the
/// operator's threshold ranges may since have changed, neither of which makes it invalid.
pub fn parse_stored(value: &Value) -> Result<CfPolicy, Vec<PolicyError>> {
    parse_at(value, None, None)
}

impl CfPolicy {
    /// The policy as Cloud Foundry echoes it (see [`render`]).
    pub fn document(&self) -> Value {
        render(
            self.instance_min_count,
            self.instance_max_count,
            &self.rules,
            self.schedules.as_ref().map(|s| &s.document),
        )
    }
}

fn parse_at(
    value: &Value,
    now: Option<Timestamp>,
    ranges: Option<&ThresholdRanges>,
) -> Result<CfPolicy, Vec<PolicyError>> {
    let mut checker = Checker::default();
    let Some(shaped) = shape(value, &mut checker) else { return Err(checker.errors) };
    let mut errors = Vec::new();
    if shaped.min > shaped.max {
        errors.push(PolicyError {
            context: "(root).instance_min_count".into(),
            description: format!("instance_min_count {} is higher than instance_max_count {}", shaped.min, shaped.max),
        });
    }
    for (index, rule) in shaped.rules.iter().enumerate() {
        if let Some(description) = ranges.and_then(|ranges| threshold_error(rule, index, ranges)) {
            errors.push(PolicyError { context: format!("(root).scaling_rules.{index}"), description });
        }
    }
    let schedules = match shaped.schedules {
        None => None,
        Some(document) => match Windows::parse(&document, now) {
            Ok(windows) => Some(GroupWindows { document, windows }),
            Err(invalid) => {
                let (context, description) =
                    invalid.message.split_once(": ").unwrap_or(("(root).schedules", invalid.message.as_str()));
                errors.push(PolicyError { context: context.into(), description: description.into() });
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CfPolicy {
        instance_min_count: shaped.min as u32,
        instance_max_count: shaped.max as u32,
        rules: MetricRules { scaling_rules: shaped.rules, allow_from: shaped.allow_from, from_default: false },
        schedules,
    })
}

/// The policy as Cloud Foundry echoes it (§1.6): `configuration` only when not the default,
/// the instance limits, `scaling_rules` (when there are rules or no schedules), `schedules`.
pub fn render(min: u32, max: u32, rules: &MetricRules, schedules: Option<&Value>) -> Value {
    let mut policy = Map::new();
    if rules.allow_from == AllowFrom::BoundApp {
        policy.insert(
            "configuration".into(),
            json!({"custom_metrics": {"metric_submission_strategy": {"allow_from": "bound_app"}}}),
        );
    }
    policy.insert("instance_min_count".into(), json!(min));
    policy.insert("instance_max_count".into(), json!(max));
    if !rules.scaling_rules.is_empty() || schedules.is_none() {
        policy.insert("scaling_rules".into(), json!(rules.scaling_rules));
    }
    if let Some(schedules) = schedules {
        policy.insert("schedules".into(), without_empty_fields(schedules));
    }
    Value::Object(policy)
}

/// A schedules document without the optional fields Cloud Foundry leaves out when empty or
/// zero (windows set through Ebb's own API may carry them).
fn without_empty_fields(schedules: &Value) -> Value {
    let mut schedules = schedules.clone();
    for list in ["recurring_schedule", "specific_date"] {
        if let Some(Value::Array(items)) = schedules.get_mut(list) {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                item.retain(|key, value| match key.as_str() {
                    "start_date" | "end_date" => value.as_str().is_some_and(|s| !s.is_empty()),
                    "initial_min_instance_count" => value.as_u64().is_some_and(|n| n != 0),
                    "days_of_week" | "days_of_month" => value.as_array().is_some_and(|d| !d.is_empty()),
                    _ => true,
                });
            }
        }
    }
    schedules
}

#[cfg(test)]
mod tests;
