//! Cloud Foundry's policy validation table (`cf-app-autoscaler.md` §1.3–1.8), kept as data in
//! `tests/data/cf_policy_cases.json` so that the same cases also run through the HTTP API
//! (`crates/ebb/tests/cf.rs`): each rejected policy must yield its `(context, description)`
//! among the errors, each accepted one must pass.

use ebb_core::cf_policy::{self, ThresholdRanges};
use jiff::Timestamp;
use serde_json::Value;

#[test]
fn every_case_of_the_table() {
    let cases: Value = serde_json::from_str(include_str!("data/cf_policy_cases.json")).unwrap();
    let now: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
    let ranges = ThresholdRanges::default();
    let rejected = cases["rejected"].as_array().unwrap();
    assert!(rejected.len() > 50);
    for case in rejected {
        let errors = cf_policy::parse(&case["policy"], now, &ranges).expect_err(case["name"].as_str().unwrap());
        assert!(
            errors.iter().any(|e| e.context == case["context"] && e.description == case["description"]),
            "{}: expected ({}, {}), got {errors:?}",
            case["name"],
            case["context"],
            case["description"]
        );
    }
    for case in cases["accepted"].as_array().unwrap() {
        if let Err(errors) = cf_policy::parse(&case["policy"], now, &ranges) {
            panic!("{}: rejected with {errors:?}", case["name"]);
        }
    }
}
