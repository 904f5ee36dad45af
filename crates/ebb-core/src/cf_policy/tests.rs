//! Cloud Foundry's validation table (`cf-app-autoscaler.md` §1.3–1.8): each case is a policy
//! and the `(context, description)` Cloud Foundry answers, which must be among ours.

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

fn policy_with_schedules(schedules: Value) -> Value {
    json!({"instance_min_count": 1, "instance_max_count": 4, "schedules": schedules})
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
fn the_representative_invalid_policies_of_section_1_8() {
    let memory_rule = rule("memoryused", json!(30), "<", "-1");
    rejects(
        json!({"instance_min_count": 0, "instance_max_count": 4, "scaling_rules": [memory_rule]}),
        "(root).instance_min_count",
        "Must be greater than or equal to 1",
    );
    rejects(
        json!({"instance_min_count": 10, "instance_max_count": 4, "scaling_rules": [memory_rule]}),
        "(root).instance_min_count",
        "instance_min_count 10 is higher than instance_max_count 4",
    );
    rejects(
        policy_with_rules(json!([rule("memoryused", json!(30), "<", "5")])),
        "(root).scaling_rules.0.adjustment",
        "Does not match pattern '^[-+][1-9]+[0-9]*%?$'",
    );
    rejects(
        policy_with_schedules(json!({"timezone": "Asia/Kolkata", "recurring_schedule": [
            {"start_time": "10:00", "end_time": "18:00", "days_of_week": [1, 2, 3], "days_of_month": [1, 2, 3],
             "instance_min_count": 1, "instance_max_count": 5}]})),
        "(root).schedules.recurring_schedule.0",
        "Must validate one and only one schema (oneOf)",
    );
    rejects(
        policy_with_schedules(json!({"timezone": "Asia/Kolkata", "recurring_schedule": [
            {"start_time": "10:00", "end_time": "18:00", "days_of_week": [1, 2, 3], "instance_min_count": 1, "instance_max_count": 5},
            {"start_time": "08:00", "end_time": "20:00", "days_of_week": [2, 4, 6], "instance_min_count": 1, "instance_max_count": 5}]})),
        "(root).schedules.recurring_schedule.0",
        "recurring_schedule[0] and recurring_schedule[1] are overlapping",
    );
    let bare = json!({"instance_min_count": 1, "instance_max_count": 2});
    rejects(bare.clone(), "(root)", "Must validate at least one schema (anyOf)");
    rejects(bare, "(root)", "scaling_rules is required");
    rejects(
        policy_with_rules(json!([rule("memoryutil", json!(-90), ">", "+1")])),
        "(root).scaling_rules.0",
        "scaling_rules[0].threshold for metric_type memoryutil should be greater than or equal 1 and less than or equal to 100",
    );
    rejects(
        policy_with_schedules(json!({"timezone": "UTC", "specific_date": [
            {"start_date_time": "2010-01-04T20:00", "end_date_time": "2010-01-05T20:00", "instance_min_count": 1, "instance_max_count": 2}]})),
        "(root).schedules.specific_date.0",
        "specific_date[0].start_date_time is before current date time",
    );
}

#[test]
fn rule_fields_follow_the_schema() {
    let table = [
        (
            rule("memoryused", json!(90.55), ">", "+1"),
            "(root).scaling_rules.0.threshold",
            "Invalid type. Expected: integer, given: number",
        ),
        (
            rule("memory-used", json!(1), ">", "+1"),
            "(root).scaling_rules.0.metric_type",
            "Does not match pattern '^[a-zA-Z0-9_]+$'",
        ),
        (
            rule(&"m".repeat(101), json!(1), ">", "+1"),
            "(root).scaling_rules.0.metric_type",
            "String length must be less than or equal to 100",
        ),
        (
            rule("memoryused", json!(1), "=", "+1"),
            "(root).scaling_rules.0.operator",
            r#"scaling_rules.0.operator must be one of the following: "<", ">", "<=", ">=""#,
        ),
        (
            rule("memoryused", json!(1), ">", "+0"),
            "(root).scaling_rules.0.adjustment",
            "Does not match pattern '^[-+][1-9]+[0-9]*%?$'",
        ),
        (
            rule("memoryused", json!(1), ">", "+05"),
            "(root).scaling_rules.0.adjustment",
            "Does not match pattern '^[-+][1-9]+[0-9]*%?$'",
        ),
        (
            rule("memoryused", json!(1), ">", "+a1"),
            "(root).scaling_rules.0.adjustment",
            "Does not match pattern '^[-+][1-9]+[0-9]*%?$'",
        ),
        (
            json!({"threshold": 1, "operator": ">", "adjustment": "+1"}),
            "(root).scaling_rules.0",
            "metric_type is required",
        ),
        (
            json!({"metric_type": "cpu", "operator": ">", "adjustment": "+1"}),
            "(root).scaling_rules.0",
            "threshold is required",
        ),
        (
            json!({"metric_type": "cpu", "threshold": 1, "adjustment": "+1"}),
            "(root).scaling_rules.0",
            "operator is required",
        ),
        (
            json!({"metric_type": "cpu", "threshold": 1, "operator": ">"}),
            "(root).scaling_rules.0",
            "adjustment is required",
        ),
    ];
    for (bad, context, description) in table {
        rejects(policy_with_rules(json!([bad])), context, description);
    }
    for (key, value, description) in [
        ("breach_duration_secs", json!(59), "Must be greater than or equal to 60"),
        ("breach_duration_secs", json!(3601), "Must be less than or equal to 3600"),
        ("cool_down_secs", json!(0), "Must be greater than or equal to 60"),
        ("cool_down_secs", json!("300"), "Invalid type. Expected: integer, given: string"),
    ] {
        let mut bad = rule("cpu", json!(50), ">", "+1");
        bad[key] = value;
        rejects(policy_with_rules(json!([bad])), &format!("(root).scaling_rules.0.{key}"), description);
    }
    rejects(
        json!({"instance_min_count": "1", "instance_max_count": 2, "scaling_rules": []}),
        "(root).instance_min_count",
        "Invalid type. Expected: integer, given: string",
    );
    rejects(json!({"instance_max_count": 2, "scaling_rules": []}), "(root)", "instance_min_count is required");
    rejects(json!([]), "(root)", "Invalid type. Expected: object, given: array");
    rejects(
        json!({"instance_min_count": 1, "instance_max_count": 2, "scaling_rules": {}}),
        "(root).scaling_rules",
        "Invalid type. Expected: array, given: object",
    );
}

#[test]
fn thresholds_are_checked_per_metric_after_the_schema() {
    let table = [
        (
            "memoryused",
            -1,
            Some("scaling_rules[0].threshold for metric_type memoryused should be greater than or equal 1"),
        ),
        ("memoryused", 0, None),
        (
            "memoryutil",
            0,
            Some(
                "scaling_rules[0].threshold for metric_type memoryutil should be greater than or equal 1 and less than or equal to 100",
            ),
        ),
        (
            "memoryutil",
            101,
            Some(
                "scaling_rules[0].threshold for metric_type memoryutil should be greater than or equal 1 and less than or equal to 100",
            ),
        ),
        ("memoryutil", 100, None),
        (
            "responsetime",
            -1,
            Some("scaling_rules[0].threshold for metric_type responsetime should be greater than or equal 1"),
        ),
        ("responsetime", 0, None),
        (
            "throughput",
            -5,
            Some("scaling_rules[0].threshold for metric_type throughput should be greater than or equal 1"),
        ),
        (
            "cpu",
            0,
            Some(
                "scaling_rules[0].threshold for metric_type cpu should be greater than or equal 1 and less than or equal to 100",
            ),
        ),
        (
            "cpu",
            101,
            Some(
                "scaling_rules[0].threshold for metric_type cpu should be greater than or equal 1 and less than or equal to 100",
            ),
        ),
        (
            "cpuutil",
            101,
            Some(
                "scaling_rules[0].threshold for metric_type cpuutil should be greater than or equal 1 and less than or equal to 100",
            ),
        ),
        (
            "diskutil",
            0,
            Some(
                "scaling_rules[0].threshold for metric_type diskutil should be greater than or equal 1 and less than or equal to 100",
            ),
        ),
        (
            "disk",
            2049,
            Some(
                "scaling_rules[0].threshold for metric_type disk should be greater than or equal 1 and less than or equal to 2048",
            ),
        ),
        ("disk", 2048, None),
        ("queue_length", -1_000_000, None),
    ];
    for (metric, threshold, expected) in table {
        let policy = policy_with_rules(json!([rule(metric, json!(threshold), ">", "+1")]));
        match expected {
            Some(description) => rejects(policy, "(root).scaling_rules.0", description),
            None => {
                accepts(policy);
            }
        }
    }
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

fn recurring(extra: Value) -> Value {
    let mut window = json!({"start_time": "10:00", "end_time": "18:00", "days_of_week": [1, 2, 3],
        "instance_min_count": 1, "instance_max_count": 5});
    for (key, value) in extra.as_object().unwrap() {
        if value.is_null() {
            window.as_object_mut().unwrap().remove(key);
        } else {
            window[key] = value.clone();
        }
    }
    window
}

fn specific(start: &str, end: &str) -> Value {
    json!({"start_date_time": start, "end_date_time": end, "instance_min_count": 1, "instance_max_count": 5})
}

#[test]
fn schedules_follow_the_schema_and_the_validator() {
    let in_tz = |items: Value| policy_with_schedules(json!({"timezone": "Asia/Shanghai", "recurring_schedule": items}));
    let r = "(root).schedules.recurring_schedule.0";
    let table = [
        (in_tz(json!([recurring(json!({"start_time": "9:00"}))])), format!("{r}.start_time"), "Does not match pattern '^(2[0-3]|1[0-9]|0[0-9]):([0-5][0-9])$'".to_string()),
        (in_tz(json!([recurring(json!({"days_of_week": null}))])), r.to_string(), "Must validate one and only one schema (oneOf)".to_string()),
        (in_tz(json!([recurring(json!({"days_of_week": [8]}))])), format!("{r}.days_of_week.0"), "Must be less than or equal to 7".to_string()),
        (in_tz(json!([recurring(json!({"days_of_week": null, "days_of_month": [0]}))])), format!("{r}.days_of_month.0"), "Must be greater than or equal to 1".to_string()),
        (in_tz(json!([recurring(json!({"start_time": "18:00", "end_time": "18:00"}))])), r.to_string(), "recurring_schedule[0].start_time is same or after recurring_schedule[0].end_time".to_string()),
        (in_tz(json!([recurring(json!({"start_date": "2020-01-01"}))])), r.to_string(), "recurring_schedule[0].start_date is before recurring_schedule[0].current_date".to_string()),
        (in_tz(json!([recurring(json!({"end_date": "2020-01-01"}))])), r.to_string(), "recurring_schedule[0].end_date is before recurring_schedule[0].current_date".to_string()),
        (in_tz(json!([recurring(json!({"start_date": "2099-02-01", "end_date": "2099-01-01"}))])), r.to_string(), "recurring_schedule[0].start_date is after recurring_schedule[0].end_date".to_string()),
        (in_tz(json!([recurring(json!({"instance_min_count": 6}))])), format!("{r}.instance_min_count"), "recurring_schedule[0].instance_min_count 6 is higher than recurring_schedule[0].instance_max_count 5".to_string()),
        (in_tz(json!([recurring(json!({"initial_min_instance_count": 7}))])), format!("{r}.initial_min_instance_count"), "recurring_schedule[0].initial_min_instance_count 7 is greater than recurring_schedule[0].instance_max_count 5".to_string()),
        (in_tz(json!([recurring(json!({"instance_min_count": 3, "initial_min_instance_count": 2}))])), format!("{r}.initial_min_instance_count"), "recurring_schedule[0].initial_min_instance_count 2 is smaller than recurring_schedule[0].instance_min_count 3".to_string()),
        (in_tz(json!([recurring(json!({"start_time": null}))])), r.to_string(), "start_time is required".to_string()),
        (policy_with_schedules(json!({"recurring_schedule": [recurring(json!({}))]})), "(root).schedules".to_string(), "timezone is required".to_string()),
        (policy_with_schedules(json!({"timezone": "UTC"})), "(root).schedules".to_string(), "Must validate at least one schema (anyOf)".to_string()),
    ];
    for (policy, context, description) in table {
        rejects(policy, &context, &description);
    }
    let s = "(root).schedules.specific_date.0";
    let dated = |items: Value| policy_with_schedules(json!({"timezone": "UTC", "specific_date": items}));
    rejects(
        dated(json!([specific("2099-01-04 20:00", "2099-01-05T20:00")])),
        &format!("{s}.start_date_time"),
        "Does not match pattern '^2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T(2[0-3]|1[0-9]|0[0-9]):([0-5][0-9])$'",
    );
    rejects(
        dated(json!([specific("2099-01-05T20:00", "2099-01-04T20:00")])),
        s,
        "specific_date[0].start_date_time is after specific_date[0].end_date_time",
    );
    rejects(
        dated(json!([
            specific("2099-01-04T10:00", "2099-01-04T20:00"),
            specific("2099-01-04T19:00", "2099-01-05T20:00")
        ])),
        s,
        "specific_date[0]:{start_date_time: 2099-01-04T10:00, end_date_time: 2099-01-04T20:00} and specific_date[1]:{start_date_time: 2099-01-04T19:00, end_date_time: 2099-01-05T20:00} are overlapping",
    );
    // Touching specific dates do not overlap; touching recurring times do.
    accepts(dated(json!([
        specific("2099-01-04T10:00", "2099-01-04T20:00"),
        specific("2099-01-04T20:00", "2099-01-05T20:00")
    ])));
    rejects(
        in_tz(json!([
            recurring(json!({})),
            recurring(json!({"start_time": "18:00", "end_time": "20:00", "days_of_week": [3]}))
        ])),
        r,
        "recurring_schedule[0] and recurring_schedule[1] are overlapping",
    );
    // Week-based and month-based windows are never compared.
    accepts(in_tz(json!([recurring(json!({})), recurring(json!({"days_of_week": null, "days_of_month": [1, 2, 3]}))])));
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
