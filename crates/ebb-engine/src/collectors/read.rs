//! One read of a source: what each type asks, and the number it answers — or why not, in
//! words with no secret in them. The connection a source keeps between reads (Redis's) lives
//! in its [`Reader`].

use ebb_core::collector::sources::{Balancer, RabbitProtocol, SqlEngine};
use ebb_core::collector::{Source, secrets};
use ebb_core::ids::GroupId;
use ebb_store::CollectorRecord;

use super::{balancers, http, queues, redis, sql};
use crate::engine::Engine;

/// Why a collector cannot run on this server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// Whether this server can run a collector reading `source`: what the API checks before it
/// stores one.
pub fn check(source: &Source) -> Result<(), Unavailable> {
    let https = |url: &str| url.starts_with("https:");
    let unavailable = match source {
        Source::Redis(redis) if redis.url.starts_with("rediss:") => {
            Some("Redis over TLS (rediss://) is not available on this server".to_string())
        }
        Source::HttpProbe(probe) if https(&probe.request.url) => Some(no_tls()),
        Source::AppDecision(decision) if https(&decision.request.url) => Some(no_tls()),
        Source::Prometheus(prometheus) if https(&prometheus.url) => Some(no_tls()),
        Source::RabbitMq(rabbit) if https(&rabbit.url) || rabbit.url.starts_with("amqps:") => Some(no_tls()),
        Source::Nats(nats) if nats.url.starts_with("tls:") => Some(no_tls()),
        Source::LbStats(lb) if matches!(&lb.balancer, Balancer::HaProxyHttp(url) if https(url)) => Some(no_tls()),
        _ => None,
    };
    unavailable.map_or(Ok(()), |why| Err(Unavailable(why)))
}

fn no_tls() -> String {
    "TLS (https, amqps, tls) is not available on this server: reach the source on a private network".to_string()
}

/// What reads one collector's source.
pub(super) struct Reader {
    source: Source,
    group: GroupId,
    http: reqwest::Client,
    redis: Option<redis::Connection>,
    nats: Option<queues::NatsClient>,
    /// What an error message must not show.
    secrets: Vec<String>,
}

impl Reader {
    /// The reader of `record`'s source, sharing `http`.
    pub(super) fn build(record: &CollectorRecord, http: reqwest::Client) -> Reader {
        Reader {
            source: record.collector.source.clone(),
            group: record.group_id.clone(),
            http,
            redis: None,
            nats: None,
            secrets: secrets::values(&record.body),
        }
    }

    /// One read: the number, or why there is none.
    pub(super) async fn read(&mut self, engine: &Engine) -> Result<f64, String> {
        check(&self.source).map_err(|err| err.0)?;
        let value = match &self.source {
            Source::HttpProbe(probe) => http::probe(&self.http, probe).await,
            Source::AppDecision(decision) => http::decision(&self.http, decision).await,
            Source::Prometheus(prometheus) => http::prometheus(&self.http, prometheus).await,
            Source::RabbitMq(rabbit) => match rabbit.protocol {
                RabbitProtocol::Amqp => queues::amqp(rabbit).await,
                RabbitProtocol::Http { .. } => http::rabbitmq(&self.http, rabbit).await,
            },
            Source::Redis(source) => redis::read(&mut self.redis, source).await,
            Source::Sql(query) => match query.engine {
                SqlEngine::Postgres => sql::postgres(query).await,
                SqlEngine::MySql => sql::mysql(query).await,
            },
            Source::Nats(source) => queues::nats(&mut self.nats, source).await,
            Source::LbStats(lb) => match &lb.balancer {
                Balancer::Builtin => balancers::builtin(engine, &self.group, lb),
                Balancer::HaProxySocket(path) => balancers::socket(path, lb).await,
                Balancer::HaProxyHttp(url) => balancers::page(&self.http, url, lb).await,
            },
        };
        value.and_then(finite).map_err(|message| secrets::scrub(&message, &self.secrets))
    }

    /// A message about this source with its secrets taken out.
    pub(super) fn scrubbed(&self, message: &str) -> String {
        secrets::scrub(message, &self.secrets)
    }
}

fn finite(value: f64) -> Result<f64, String> {
    if value.is_finite() { Ok(value) } else { Err(format!("the source answered {value}, not a finite number")) }
}

/// A number from a JSON value: a number, or a string holding one.
pub(super) fn number(value: &serde_json::Value, what: &str) -> Result<f64, String> {
    let parsed = match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| format!("{what} is {}, not a number", ebb_core::json::show(value)))
}
