//! `ebb simulate --group`: a live group's recorded stretch, read from a running server through
//! the Cloud Foundry history API — each member slot's `throughput` minute by minute
//! (`metric_histories`) and the changes of its desired capacity (`scaling_histories`) — and
//! made replayable by [`ebb_sim::recorded`].

use ebb_sim::recorded::{Change, Minute, Recorded};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::cli::autoscaling::{Range, app, pages};
use crate::cli::{Client, Connection, Failure};

/// The metric a replay reads: requests a second each member served.
const THROUGHPUT: &str = "throughput";

/// `--since`/`--until`: an RFC 3339 time, or a duration before `now` (`6h`, `90m`, `2h 30m`).
pub fn when(text: &str, now: Timestamp, flag: &str) -> anyhow::Result<Timestamp> {
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    let ago: SignedDuration = text.parse().map_err(|_| {
        anyhow::anyhow!(
            "--{flag} {text:?} is neither an RFC 3339 time (2026-12-02T08:00:00Z) nor a duration ago (6h, 90m)"
        )
    })?;
    anyhow::ensure!(!ago.is_negative(), "--{flag} {text:?}: a duration ago cannot be negative");
    now.checked_sub(ago).map_err(|_| anyhow::anyhow!("--{flag} {text:?} is too long ago"))
}

/// The recorded stretch of `group` from `since` to `until`.
pub async fn fetch(
    connection: &Connection,
    group: &str,
    since: Timestamp,
    until: Timestamp,
) -> Result<Recorded, Failure> {
    if since >= until {
        return Err(Failure::Usage(anyhow::anyhow!("--since {since} is not before --until {until}")));
    }
    let client = Client::new(connection)?;
    let stretch = Range { start: Some(since.to_string()), end: Some(until.to_string()), desc: false, limit: None };
    let minutes = pages(&client, &app(group, &format!("/metric_histories/{THROUGHPUT}")), &stretch).await?;
    let minutes: Vec<Minute> = resources(&minutes).filter_map(minute).collect();
    let mut changes: Vec<Change> =
        resources(&pages(&client, &app(group, "/scaling_histories"), &stretch).await?).filter_map(change).collect();
    // The last change before the stretch: the capacity it starts with.
    let before = Range { start: None, end: Some(since.to_string()), desc: true, limit: Some(1) };
    changes.extend(resources(&pages(&client, &app(group, "/scaling_histories"), &before).await?).filter_map(change));
    Recorded::of(&minutes, &changes, since, until).map_err(|err| Failure::Usage(err.into()))
}

fn resources(page: &Value) -> impl Iterator<Item = &Value> {
    page["resources"].as_array().into_iter().flatten()
}

fn at(resource: &Value) -> Option<Timestamp> {
    Timestamp::from_nanosecond(i128::from(resource["timestamp"].as_i64()?)).ok()
}

fn minute(resource: &Value) -> Option<Minute> {
    Some(Minute {
        at: at(resource)?,
        slot: u32::try_from(resource["instance_index"].as_u64()?).ok()?,
        value: resource["value"].as_str()?.parse().ok()?,
    })
}

fn change(resource: &Value) -> Option<Change> {
    let count = |key: &str| resource[key].as_u64().and_then(|n| u32::try_from(n).ok());
    Some(Change { at: at(resource)?, from: count("old_instances")?, to: count("new_instances")? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_a_time_or_a_duration_ago() {
        let now: Timestamp = "2026-12-02T12:00:00Z".parse().unwrap();
        assert_eq!(when("2026-12-02T08:00:00Z", now, "since").unwrap(), "2026-12-02T08:00:00Z".parse().unwrap());
        assert_eq!(when("6h", now, "since").unwrap(), "2026-12-02T06:00:00Z".parse().unwrap());
        assert_eq!(when("90m", now, "since").unwrap(), "2026-12-02T10:30:00Z".parse().unwrap());
        let bad = when("yesterday", now, "since").unwrap_err().to_string();
        assert!(bad.contains("--since \"yesterday\" is neither"), "{bad}");
    }

    #[test]
    fn the_histories_resources_are_read_and_odd_ones_left_out() {
        let page = serde_json::json!({"resources": [
            {"instance_index": 1, "value": "12", "timestamp": 1_700_000_040_000_000_000i64},
            {"instance_index": 0, "value": "n/a", "timestamp": 1_700_000_040_000_000_000i64},
            {"old_instances": 2, "new_instances": 3, "timestamp": 1_700_000_100_000_000_000i64}]});
        let minutes: Vec<Minute> = resources(&page).filter_map(minute).collect();
        assert_eq!(minutes.len(), 1);
        assert_eq!((minutes[0].slot, minutes[0].value), (1, 12.0));
        let changes: Vec<Change> = resources(&page).filter_map(change).collect();
        assert_eq!(changes.len(), 1);
        assert_eq!((changes[0].from, changes[0].to), (2, 3));
    }
}
