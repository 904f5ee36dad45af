//! Property tests over the request validators: any JSON value, however odd, gets an answer
//! (accepted or a message) and never a panic; documents built to the rules are accepted.

use ebb_core::cf_policy;
use ebb_core::group::{GroupConfig, Mode};
use ebb_core::launch::LaunchConfig;
use ebb_core::policy::{Origin, Policy};
use ebb_core::webhook::WebhookBody;
use jiff::Timestamp;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        prop::sample::select(vec![
            "launch_server",
            "launch_stack",
            "local_process",
            "webhook",
            "schedule",
            "cloud_monitoring",
            "* * * * *",
            "2099-01-01T00:00:00Z",
            "builtin",
            "RackConnectV3",
            "CloudLoadBalancer",
            "SIGTERM",
            "memoryutil",
            "+1",
            "-10%",
            ">=",
            "10:00",
            "2099-01-04T20:00",
            "Asia/Shanghai",
            "0.1",
        ])
        .prop_map(|s| Value::String(s.to_string())),
    ];
    let keys = prop::sample::select(vec![
        "name",
        "cooldown",
        "minEntities",
        "maxEntities",
        "metadata",
        "type",
        "args",
        "server",
        "flavorRef",
        "imageRef",
        "personality",
        "path",
        "contents",
        "loadBalancers",
        "loadBalancerId",
        "port",
        "draining_timeout",
        "change",
        "changePercent",
        "desiredCapacity",
        "at",
        "cron",
        "process",
        "command",
        "readiness",
        "http",
        "tcp",
        "none",
        "env",
        "stop_signal",
        "stop_timeout",
        "stack",
        "template",
        "block_device_mapping",
        "networks",
        "uuid",
        "other",
        "instance_min_count",
        "instance_max_count",
        "scaling_rules",
        "metric_type",
        "threshold",
        "operator",
        "adjustment",
        "breach_duration_secs",
        "schedules",
        "timezone",
        "recurring_schedule",
        "specific_date",
        "start_time",
        "end_time",
        "days_of_week",
        "days_of_month",
        "start_date_time",
        "end_date_time",
        "configuration",
        "custom_metrics",
        "schema-version",
    ]);
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..8).prop_map(|pairs| Value::Object(
                pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>()
            )),
        ]
    })
}

fn now() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn validators_answer_every_value_without_panicking(value in arbitrary_json()) {
        for mode in [Mode::Create, Mode::Replace] {
            if let Err(err) = GroupConfig::parse(&value, "groupConfiguration", mode) {
                prop_assert!(!err.message.is_empty());
            }
        }
        if let Err(err) = LaunchConfig::parse(&value, "launchConfiguration") {
            prop_assert!(!err.message.is_empty());
        }
        for origin in [Origin::Submitted(now()), Origin::Stored] {
            if let Err(err) = Policy::parse(&value, "policy", origin) {
                prop_assert!(!err.message.is_empty());
            }
        }
        if let Err(errors) = cf_policy::parse(&value, now(), &cf_policy::ThresholdRanges::default()) {
            prop_assert!(!errors.is_empty() && errors.iter().all(|e| !e.description.is_empty()));
        }
        for replace in [false, true] {
            if let Err(err) = WebhookBody::parse(&value, "webhook", replace) {
                prop_assert!(!err.message.is_empty());
            }
        }
    }

    #[test]
    fn well_formed_group_configurations_are_accepted(
        name in "[a-z][a-z0-9 -]{0,40}", cooldown in 0i64..=86_400, min in 0i64..=1000, span in 0i64..=1000,
        metadata in prop::collection::btree_map("[a-z]{1,10}", ".{0,20}", 0..5),
    ) {
        let max = (min + span).min(1000);
        let value = json!({"name": name, "cooldown": cooldown, "minEntities": min, "maxEntities": max, "metadata": metadata});
        let config = GroupConfig::parse(&value, "", Mode::Replace).unwrap();
        prop_assert!(config.min_entities <= config.max_entities);
        let stored = serde_json::to_value(&config).unwrap();
        prop_assert_eq!(stored, value, "stored as submitted");
    }

    #[test]
    fn well_formed_policies_are_accepted(
        cooldown in 0.0f64..=86_400.0, change in any::<i64>().prop_filter("non-zero", |c| *c != 0), pick in 0u8..3,
    ) {
        let mut value = json!({"name": "p", "type": "webhook", "cooldown": cooldown});
        match pick {
            0 => value["change"] = json!(change),
            1 => value["changePercent"] = json!((change % 1000) as f64 / 7.0 + 0.5),
            _ => value["desiredCapacity"] = json!(change.unsigned_abs() / 2),
        }
        prop_assert!(Policy::parse(&value, "", Origin::Submitted(now())).is_ok(), "{}", value);
    }
}
