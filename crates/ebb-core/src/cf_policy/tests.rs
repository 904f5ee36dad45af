//! The policy's validation beyond single cases (those are a table of data in
//! `tests/data/cf_policy_cases.json`, run by `tests/cf_policy_cases.rs` and through HTTP):
//! the order of the phases, every error reported, the echo, the stored form.

use serde_json::{Value, json};

use super::*;

fn now() -> Timestamp {
    "2026-06-01T12:00:00Z".parse().unwrap()
}

fn rule(metric: &str, threshold: Value, operator: &str, adjustment: &str) -> Value {
    json!({"metric_type": metric, "threshold": threshold, "operator": operator, "adjustment": adjustment})
}

fn policy_with_rules(rules: Value) -> Value {
    json!({"instance_min_count": 1, "instance_max_count": 4, "scaling_rules": rules})
}

fn errors(policy: &Value) -> Vec<(String, String)> {
    match parse(policy, now(), &ThresholdRanges::default()) {
        Ok(parsed) => panic!("accepted {policy}: {parsed:?}"),
        Err(errors) => errors.into_iter().map(|e| (e.context, e.description)).collect(),
    }
}

#[track_caller]
fn rejects(policy: Value, context: &str, description: &str) {
    let found = errors(&policy);
    assert!(
        found.iter().any(|(c, d)| c == context && d == description),
        "expected ({context}, {description}) for {policy}, got {found:?}"
    );
}

#[track_caller]
fn accepts(policy: Value) -> CfPolicy {
    parse(&policy, now(), &ThresholdRanges::default()).unwrap_or_else(|e| panic!("rejected {policy}: {e:?}"))
}

#[test]
fn schema_errors_come_first_and_the_semantic_checks_report_every_error() {
    // Schema errors stop validation before the semantic checks.
    let both = json!({"instance_min_count": 10, "instance_max_count": 4,
        "scaling_rules": [rule("memoryutil", json!(500), ">", "5")]});
    assert_eq!(
        errors(&both),
        [(
            "(root).scaling_rules.0.adjustment".to_string(),
            "Does not match pattern '^[-+][1-9]+[0-9]*%?$'".to_string()
        )]
    );
    // The semantic checks report every error they find.
    let semantic = json!({"instance_min_count": 10, "instance_max_count": 4,
        "scaling_rules": [rule("memoryutil", json!(500), ">", "+1"), rule("cpu", json!(0), "<", "-1")]});
    assert_eq!(errors(&semantic).len(), 3);
}

#[test]
fn legacy_policies_drop_unknown_keys_and_v0_1_policies_refuse_them_at_the_root() {
    let mut legacy = policy_with_rules(json!([rule("memoryused", json!(30), ">=", "+1")]));
    legacy["stats_window_secs"] = json!(120);
    legacy["is_admin"] = json!(true);
    legacy["scaling_rules"][0]["stat_window_secs"] = json!(300);
    let parsed = accepts(legacy.clone());
    assert_eq!(
        render(parsed.instance_min_count, parsed.instance_max_count, &parsed.rules, None),
        json!({"instance_min_count": 1, "instance_max_count": 4,
            "scaling_rules": [{"metric_type": "memoryused", "threshold": 30, "operator": ">=", "adjustment": "+1"}]})
    );
    let mut versioned = legacy;
    versioned["schema-version"] = json!("0.1");
    rejects(versioned.clone(), "(root)", "Additional property is_admin is not allowed");
    versioned["schema-version"] = json!("0.2");
    rejects(versioned, "(root).schema-version", r#"schema-version must be one of the following: "0.1""#);
    let mut clean = policy_with_rules(json!([rule("memoryused", json!(30), ">=", "+1")]));
    clean["schema-version"] = json!("0.1");
    clean["credential-type"] = json!("binding-secret");
    accepts(clean.clone());
    clean["credential-type"] = json!("password");
    rejects(
        clean,
        "(root).credential-type",
        r#"credential-type must be one of the following: "x509", "binding-secret""#,
    );
}

#[test]
fn custom_metric_configuration() {
    let mut policy = policy_with_rules(json!([rule("queue_length", json!(100), ">", "+2")]));
    policy["configuration"] = json!({"custom_metrics": {"metric_submission_strategy": {"allow_from": "bound_app"}}});
    let parsed = accepts(policy.clone());
    assert_eq!(parsed.rules.allow_from, AllowFrom::BoundApp);
    assert_eq!(render(1, 4, &parsed.rules, None)["configuration"], policy["configuration"]);
    policy["configuration"]["custom_metrics"]["metric_submission_strategy"]["allow_from"] = json!("any_app");
    rejects(
        policy.clone(),
        "(root).configuration.custom_metrics.metric_submission_strategy.allow_from",
        r#"configuration.custom_metrics.metric_submission_strategy.allow_from must be one of the following: "bound_app", "same_app""#,
    );
    policy["configuration"] = json!({"custom_metrics": {}});
    rejects(policy, "(root).configuration.custom_metrics", "metric_submission_strategy is required");
}

#[test]
fn a_valid_policy_is_echoed_normalised() {
    let policy = json!({
        "instance_min_count": 1,
        "instance_max_count": 4,
        "scaling_rules": [
            {"metric_type": "memoryutil", "breach_duration_secs": 600, "threshold": 30, "operator": "<", "cool_down_secs": 300, "adjustment": "-1"},
            {"metric_type": "responsetime", "threshold": 200, "operator": ">", "adjustment": "+50%"}
        ],
        "schedules": {
            "timezone": "Asia/Shanghai",
            "recurring_schedule": [
                {"start_time": "10:00", "end_time": "18:00", "days_of_week": [1, 2, 3], "instance_min_count": 1, "instance_max_count": 10, "initial_min_instance_count": 5},
                {"start_date": "", "end_date": "2099-07-23", "start_time": "11:00", "end_time": "19:30", "days_of_month": [5, 15, 25], "instance_min_count": 3, "instance_max_count": 10, "initial_min_instance_count": 0}
            ],
            "specific_date": [
                {"start_date_time": "2099-06-02T10:00", "end_date_time": "2099-06-15T13:59", "instance_min_count": 1, "instance_max_count": 4, "initial_min_instance_count": 2}
            ]
        }
    });
    let parsed = accepts(policy);
    let schedules = parsed.schedules.as_ref().map(|s| &s.document);
    let echoed = render(parsed.instance_min_count, parsed.instance_max_count, &parsed.rules, schedules);
    assert_eq!(
        echoed["scaling_rules"][1],
        json!({"metric_type": "responsetime", "threshold": 200, "operator": ">", "adjustment": "+50%"})
    );
    assert_eq!(
        echoed["schedules"]["recurring_schedule"][1],
        json!({"start_time": "11:00", "end_time": "19:30", "days_of_month": [5, 15, 25], "end_date": "2099-07-23",
            "instance_min_count": 3, "instance_max_count": 10})
    );
    // The echo is itself a valid policy that parses to the same thing.
    assert_eq!(accepts(echoed.clone()), parsed);
    let keys: Vec<&str> = echoed.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["instance_min_count", "instance_max_count", "scaling_rules", "schedules"]);
    // Rules evaluate with Cloud Foundry's defaults where the policy is silent.
    let second = parsed.rules.scaling_rules[1].rule();
    assert_eq!((second.breach, second.cooldown, second.unit.as_str()), (DEFAULT_BREACH, DEFAULT_COOLDOWN, "ms"));
    assert_eq!(second.reason(), "+50% instance(s) because responsetime > 200ms for 120 seconds");
}

#[test]
fn stored_rules_round_trip() {
    let parsed = accepts(policy_with_rules(json!([rule("queue_length", json!(100), ">=", "-10%")])));
    let text = serde_json::to_string(&parsed.rules).unwrap();
    assert_eq!(serde_json::from_str::<MetricRules>(&text).unwrap(), parsed.rules);
    assert!(parsed.rules.reads("queue_length") && !parsed.rules.reads("cpu"));
}

#[test]
fn a_stored_policy_parses_again_after_its_dates_are_past_and_its_ranges_changed() {
    let mut document = policy_with_rules(json!([rule("cpu", json!(90), ">", "+1")]));
    document["schedules"] = json!({"timezone": "UTC", "specific_date": [{"start_date_time": "2026-06-02T10:00",
        "end_date_time": "2026-06-02T12:00", "instance_min_count": 1, "instance_max_count": 4}]});
    let parsed = accepts(document);
    let stored = parsed.document();
    let later = now() + jiff::SignedDuration::from_hours(24 * 30);
    let narrow = ThresholdRanges { cpu: (1, 50), ..ThresholdRanges::default() };
    assert!(parse(&stored, later, &narrow).is_err(), "as a new policy it would be refused");
    assert_eq!(parse_stored(&stored).unwrap(), parsed, "as a stored one it is what it was");
    // Where the rules came from is kept with them, and only when they came from a default.
    assert!(!serde_json::to_string(&parsed.rules).unwrap().contains("from_default"));
    let followed = MetricRules { from_default: true, ..parsed.rules.clone() };
    let text = serde_json::to_string(&followed).unwrap();
    assert_eq!(serde_json::from_str::<MetricRules>(&text).unwrap(), followed);
}
