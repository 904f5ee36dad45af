//! Metrics and the rules that scale on them, as pure functions: metric names, bounded series
//! of samples, aggregation, and Cloud Foundry's scaling rules (breach evaluation and the new
//! instance count), as `cf-app-autoscaler.md` §2 describes them.
//!
//! Nothing here stores or collects anything: the engine's metric store keeps the series, and
//! the decision path applies what a rule decides.
//!
//! Layout: [`series`] holds one series of samples in a bounded window; [`group`] holds a
//! group's series per metric and member slot and aggregates them into the group's points;
//! [`rule`] evaluates a scaling rule on those points and computes the count it asks for.

pub mod group;
pub mod minutes;
pub mod rule;
pub mod series;

use crate::Invalid;

/// Metrics Ebb measures itself for `local_process` groups. The first eight are Cloud
/// Foundry's built-in names; a custom metric may not take any of them.
pub const BUILT_IN: [&str; 10] = [
    "memoryused",
    "memoryutil",
    "cpu",
    "cpuutil",
    "disk",
    "diskutil",
    "responsetime",
    "throughput",
    "inflight",
    "connections",
];

/// The longest metric name.
pub const MAX_NAME_LEN: usize = 100;

/// Whether `name` is one Ebb measures itself.
pub fn is_built_in(name: &str) -> bool {
    BUILT_IN.contains(&name)
}

/// Checks a metric name: letters, digits and `_`, at most [`MAX_NAME_LEN`] (Cloud Foundry's
/// pattern `^[a-zA-Z0-9_]+$`).
pub fn check_name(name: &str, at: &str) -> Result<(), Invalid> {
    let well_formed =
        !name.is_empty() && name.len() <= MAX_NAME_LEN && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if well_formed {
        Ok(())
    } else {
        Err(Invalid::schema(format!(
            "{at}: metric name {name:?} must be 1 to {MAX_NAME_LEN} letters, digits or underscores"
        )))
    }
}

/// The value one aggregation step gives for `values` (every sample of every member in the
/// window, across members and across time): the ceiling of their mean, as Cloud Foundry's
/// eventgenerator computes it (§2.3). `None` when there is none, which blocks evaluation.
pub fn aggregate(values: impl IntoIterator<Item = f64>) -> Option<i64> {
    let (sum, count) = values.into_iter().filter(|v| v.is_finite()).fold((0.0, 0u64), |(s, n), v| (s + v, n + 1));
    (count > 0).then(|| (sum / count as f64).ceil() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_cloud_foundrys_pattern() {
        for good in ["queue_length", "cpu", "Q1", &"a".repeat(100)] {
            assert!(check_name(good, "name").is_ok(), "{good}");
        }
        for bad in ["", "queue-length", "queue length", "ünicode", &"a".repeat(101)] {
            assert!(check_name(bad, "name").is_err(), "{bad}");
        }
    }

    #[test]
    fn built_in_names_are_cloud_foundrys_and_ebbs_own() {
        assert!(is_built_in("memoryused") && is_built_in("throughput") && is_built_in("inflight"));
        assert!(!is_built_in("queue_length"));
    }

    #[test]
    fn aggregation_is_the_ceiling_of_the_mean() {
        let table: [(&[f64], Option<i64>); 6] = [
            (&[], None),
            (&[1.0], Some(1)),
            (&[1.0, 2.0], Some(2)),
            (&[10.0, 10.0, 11.0], Some(11)),
            (&[-1.5, -1.5], Some(-1)),
            (&[f64::NAN, 4.0], Some(4)),
        ];
        for (values, expected) in table {
            assert_eq!(aggregate(values.iter().copied()), expected, "{values:?}");
        }
    }
}
