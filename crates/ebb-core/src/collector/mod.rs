//! Collectors: a group's pulled signals. A collector reads one number from a source — an HTTP
//! probe, an app's decision URL, a Prometheus query, a Redis key, a RabbitMQ queue, a NATS
//! JetStream consumer, a SQL query, a load balancer's statistics — every `interval` seconds,
//! each read cut off at `timeout`, and its value is a sample of `metric` for the whole group.
//!
//! This module is the configuration side, pure: the document validated into typed values
//! ([`Collector::parse`]), which of its fields are secrets and how they are kept out of
//! answers ([`secrets`]), what a collector's reads come to ([`health`]), and when it reads
//! next ([`schedule`]). Reading is the engine's.

pub mod health;
pub mod schedule;
pub mod secrets;
pub mod sources;

use jiff::SignedDuration;
use serde_json::Value;

use crate::Invalid;
use crate::json::{self, Obj};
pub use sources::Source;

/// The shortest interval between reads, in seconds.
pub const MIN_INTERVAL_SECS: f64 = 1.0;
/// The longest interval between reads, in seconds (a day).
pub const MAX_INTERVAL_SECS: f64 = 86_400.0;
/// The longest a read may take, in seconds.
pub const MAX_TIMEOUT_SECS: f64 = 300.0;
/// The default timeout of a read, in seconds (capped by the interval).
pub const DEFAULT_TIMEOUT_SECS: f64 = 10.0;
/// The longest name.
pub const MAX_NAME_LEN: usize = 255;

/// A validated collector.
#[derive(Debug, Clone, PartialEq)]
pub struct Collector {
    /// Its name.
    pub name: String,
    /// The metric its samples are stored under.
    pub metric: String,
    /// Time between the starts of two reads (jittered, [`schedule`]).
    pub interval: SignedDuration,
    /// How long one read may take before it is cut off and counted as failed.
    pub timeout: SignedDuration,
    /// Where it reads.
    pub source: Source,
}

impl Collector {
    /// Validates a collector document found at `path`:
    /// `{"name", "type", "metric", "interval", "timeout", "args"}`.
    pub fn parse(value: &Value, path: &str) -> Result<Collector, Invalid> {
        let obj = Obj::new(value, path)?;
        obj.only(&["name", "type", "metric", "interval", "timeout", "args"])?;
        let name = json::non_blank(obj.required("name")?, &obj.path_of("name"), MAX_NAME_LEN)?.to_string();
        let kind = json::one_of(obj.required("type")?, &obj.path_of("type"), &sources::KINDS)?;
        let metric_path = obj.path_of("metric");
        let metric = json::string(obj.required("metric")?, &metric_path, crate::metrics::MAX_NAME_LEN)?;
        crate::metrics::check_name(metric, &metric_path)?;
        if crate::metrics::is_built_in(metric) {
            return Err(Invalid::schema(format!(
                "{metric_path}: {metric:?} is one of the metrics Ebb measures itself: name a collector's metric otherwise"
            )));
        }
        let interval = match obj.get("interval") {
            None => 15.0,
            Some(value) => json::number(value, &obj.path_of("interval"), MIN_INTERVAL_SECS, MAX_INTERVAL_SECS)?,
        };
        let timeout = match obj.get("timeout") {
            None => DEFAULT_TIMEOUT_SECS.min(interval),
            Some(value) => {
                let timeout = json::number(value, &obj.path_of("timeout"), 0.0, MAX_TIMEOUT_SECS)?;
                if timeout <= 0.0 {
                    return Err(Invalid::schema(format!("{}: must be greater than 0", obj.path_of("timeout"))));
                }
                if timeout > interval {
                    return Err(Invalid::schema(format!(
                        "{}: {timeout} s is longer than the interval ({interval} s): a read would still run when the next is due",
                        obj.path_of("timeout")
                    )));
                }
                timeout
            }
        };
        let source = Source::parse(kind, obj.required("args")?, &obj.path_of("args"))?;
        Ok(Collector {
            name,
            metric: metric.to_string(),
            interval: SignedDuration::from_secs_f64(interval),
            timeout: SignedDuration::from_secs_f64(timeout),
            source,
        })
    }

    /// Its type, as in its document.
    pub fn kind(&self) -> &'static str {
        self.source.kind()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn probe(extra: Value) -> Value {
        let mut body = json!({"name": "latency", "type": "http_probe", "metric": "latency_ms",
            "args": {"url": "http://127.0.0.1:8080/health"}});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    }

    #[test]
    fn a_collector_has_a_name_a_type_a_metric_and_timings_with_defaults() {
        let collector = Collector::parse(&probe(json!({})), "").unwrap();
        assert_eq!(
            (collector.name.as_str(), collector.metric.as_str(), collector.kind()),
            ("latency", "latency_ms", "http_probe")
        );
        assert_eq!(
            (collector.interval, collector.timeout),
            (SignedDuration::from_secs(15), SignedDuration::from_secs(10))
        );
        let quick = Collector::parse(&probe(json!({"interval": 2})), "").unwrap();
        assert_eq!(quick.timeout, SignedDuration::from_secs(2), "the default timeout is capped by the interval");
        let set = Collector::parse(&probe(json!({"interval": 1.5, "timeout": 0.5})), "").unwrap();
        assert_eq!((set.interval, set.timeout), (SignedDuration::from_millis(1500), SignedDuration::from_millis(500)));
    }

    #[test]
    fn bad_documents_name_the_field_at_fault() {
        for (extra, says) in [
            (json!({"interval": 0.5}), "[0].interval: 0.5 is out of range (it must be between 1 and 86400)"),
            (json!({"interval": 10, "timeout": 20}), "timeout: 20 s is longer than the interval"),
            (json!({"timeout": 0}), "timeout: must be greater than 0"),
            (json!({"type": "ftp"}), "type"),
            (json!({"metric": "no spaces"}), "metric"),
            (json!({"metric": "cpuutil"}), "[0].metric: \"cpuutil\" is one of the metrics Ebb measures itself"),
            (json!({"name": " "}), "name"),
            (json!({"colour": "red"}), "colour"),
        ] {
            let err = Collector::parse(&probe(extra.clone()), "[0]").unwrap_err().to_string();
            assert!(err.contains(says), "{extra}: {err}");
        }
        let none = Collector::parse(&json!({"name": "x", "type": "redis", "metric": "q"}), "").unwrap_err();
        assert!(none.to_string().contains("args"), "{none}");
    }
}
