//! What each type of collector reads, validated from its `args`.

use serde_json::Value;

use crate::Invalid;
use crate::json::{self, Obj};

/// The collector types, as spelt in documents.
pub const KINDS: [&str; 8] =
    ["http_probe", "app_decision", "prometheus", "redis", "rabbitmq", "nats", "sql", "lb_stats"];

const MAX_TEXT: usize = 4096;
const MAX_HEADERS: usize = 32;

/// Where a collector reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// autoscalebot's response-time backends: how long a request takes, or a header's value.
    HttpProbe(HttpProbe),
    /// autoscalebot's AppDecisionBackend: a number in a JSON answer.
    AppDecision(AppDecision),
    /// An instant PromQL query.
    Prometheus(Prometheus),
    /// A Redis key's length or a stream consumer group's lag.
    Redis(Redis),
    /// A RabbitMQ queue's messages.
    RabbitMq(RabbitMq),
    /// A NATS JetStream consumer's pending messages.
    Nats(Nats),
    /// One read-only SQL query returning one number.
    Sql(Sql),
    /// A load balancer's statistics.
    LbStats(LbStats),
}

/// An HTTP request a collector makes.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The URL (http or https).
    pub url: String,
    /// GET, HEAD, POST, PUT or OPTIONS.
    pub method: String,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// A request body.
    pub body: Option<String>,
    /// The statuses that count as a success; empty: any 2xx.
    pub expect_status: Vec<u16>,
}

impl Request {
    /// Whether `status` counts as a success.
    pub fn expected(&self, status: u16) -> bool {
        if self.expect_status.is_empty() { (200..300).contains(&status) } else { self.expect_status.contains(&status) }
    }
}

/// What an HTTP probe records.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeValue {
    /// The time to the whole response, ms.
    ResponseTime,
    /// A number in a response header (Heroku's service time, say).
    Header(String),
}

/// An `http_probe`.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpProbe {
    /// The request.
    pub request: Request,
    /// What it records.
    pub value: ProbeValue,
    /// Recorded as well when the probe fails (a timeout or an error is a failure either way).
    pub penalty: Option<f64>,
}

/// An `app_decision`.
#[derive(Debug, Clone, PartialEq)]
pub struct AppDecision {
    /// The request.
    pub request: Request,
    /// The JSON pointer (RFC 6901) of the number in the answer.
    pub pointer: String,
}

/// A `prometheus` query.
#[derive(Debug, Clone, PartialEq)]
pub struct Prometheus {
    /// The server's base URL (`http://prometheus:9090`).
    pub url: String,
    /// The PromQL expression.
    pub query: String,
    /// Request headers (authentication).
    pub headers: Vec<(String, String)>,
}

/// What a `redis` collector reads.
#[derive(Debug, Clone, PartialEq)]
pub enum RedisRead {
    /// A list's length (`LLEN`): Celery's queues.
    List(String),
    /// A sorted set's size (`ZCARD`).
    SortedSet(String),
    /// A stream consumer group's lag (`XINFO GROUPS`).
    Stream {
        /// The stream.
        stream: String,
        /// The consumer group.
        group: String,
    },
}

/// A `redis` collector.
#[derive(Debug, Clone, PartialEq)]
pub struct Redis {
    /// `redis://[user:password@]host[:port][/db]`.
    pub url: String,
    /// What it reads.
    pub read: RedisRead,
}

/// How a `rabbitmq` collector asks.
#[derive(Debug, Clone, PartialEq)]
pub enum RabbitProtocol {
    /// AMQP 0-9-1, a passive queue declare (messages ready only).
    Amqp,
    /// The management HTTP API.
    Http {
        /// The virtual host.
        vhost: String,
    },
}

/// A `rabbitmq` collector.
#[derive(Debug, Clone, PartialEq)]
pub struct RabbitMq {
    /// `amqp://user:password@host:5672/vhost`, or the management API's base URL.
    pub url: String,
    /// How it asks.
    pub protocol: RabbitProtocol,
    /// The queue.
    pub queue: String,
    /// Counts unacknowledged messages too (management API only).
    pub include_unacknowledged: bool,
}

/// A `nats` collector.
#[derive(Debug, Clone, PartialEq)]
pub struct Nats {
    /// `nats://[user:password@]host:4222`.
    pub url: String,
    /// The JetStream stream.
    pub stream: String,
    /// The consumer.
    pub consumer: String,
}

/// A database a `sql` collector queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlEngine {
    /// PostgreSQL (`postgres://`).
    Postgres,
    /// MariaDB or MySQL (`mysql://` or `mariadb://`).
    MySql,
}

/// A `sql` collector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    /// The connection URL.
    pub url: String,
    /// Which database it is.
    pub engine: SqlEngine,
    /// One statement returning one number.
    pub query: String,
}

/// The load balancer an `lb_stats` collector reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Balancer {
    /// Ebb's built-in balancer of the collector's own group.
    Builtin,
    /// HAProxy's runtime API on a Unix socket (`show stat`).
    HaProxySocket(String),
    /// HAProxy's statistics page as CSV (`http://host:8404/stats;csv`).
    HaProxyHttp(String),
}

/// What an `lb_stats` collector records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LbValue {
    /// Connections open to the members (HAProxy: `scur`).
    Connections,
    /// Requests a second (HAProxy: `req_rate`, or `rate` for TCP backends).
    RequestsPerSecond,
    /// Requests in flight (built-in only).
    InFlight,
    /// Requests queued in the balancer (HAProxy only: `qcur`).
    Queue,
}

/// An `lb_stats` collector.
#[derive(Debug, Clone, PartialEq)]
pub struct LbStats {
    /// The balancer.
    pub balancer: Balancer,
    /// HAProxy's backend (required for HAProxy).
    pub backend: Option<String>,
    /// What it records.
    pub value: LbValue,
    /// The mean over the members that are up (loadscale's connections per server), or the
    /// total.
    pub per_member: bool,
}

impl Source {
    /// Validates the `args` of a collector of type `kind` (one of [`KINDS`]).
    pub fn parse(kind: &str, value: &Value, path: &str) -> Result<Source, Invalid> {
        let args = Obj::new(value, path)?;
        Ok(match kind {
            "http_probe" => {
                args.only(&["url", "method", "headers", "body", "expect_status", "header", "penalty"])?;
                let value = match args.get("header") {
                    None => ProbeValue::ResponseTime,
                    Some(name) => ProbeValue::Header(header_name(name, &args.path_of("header"))?),
                };
                let penalty =
                    args.get("penalty").map(|p| json::number(p, &args.path_of("penalty"), f64::MIN, f64::MAX));
                Source::HttpProbe(HttpProbe { request: request(&args)?, value, penalty: penalty.transpose()? })
            }
            "app_decision" => {
                args.only(&["url", "method", "headers", "body", "expect_status", "pointer"])?;
                let pointer = match args.get("pointer") {
                    None => String::new(),
                    Some(value) => {
                        let pointer = json::string(value, &args.path_of("pointer"), MAX_TEXT)?;
                        if !pointer.is_empty() && !pointer.starts_with('/') {
                            return Err(Invalid::schema(format!(
                                "{}: {pointer:?} is not a JSON pointer: it is empty or starts with '/' (\"/queue/length\")",
                                args.path_of("pointer")
                            )));
                        }
                        pointer.to_string()
                    }
                };
                Source::AppDecision(AppDecision { request: request(&args)?, pointer })
            }
            "prometheus" => {
                args.only(&["url", "query", "headers"])?;
                Source::Prometheus(Prometheus {
                    url: url(&args, &["http", "https"])?,
                    query: text(&args, "query")?,
                    headers: headers(&args)?,
                })
            }
            "redis" => {
                args.only(&["url", "list", "sorted_set", "stream", "group"])?;
                let url = url(&args, &["redis", "rediss"])?;
                let read = match (args.get("list"), args.get("sorted_set"), args.get("stream")) {
                    (Some(_), None, None) => RedisRead::List(text(&args, "list")?),
                    (None, Some(_), None) => RedisRead::SortedSet(text(&args, "sorted_set")?),
                    (None, None, Some(_)) => {
                        RedisRead::Stream { stream: text(&args, "stream")?, group: text(&args, "group")? }
                    }
                    _ => {
                        return Err(Invalid::schema(format!(
                            "{}: exactly one of list, sorted_set or stream (with group) says what to read",
                            args.path()
                        )));
                    }
                };
                if args.has("group") && !matches!(read, RedisRead::Stream { .. }) {
                    return Err(Invalid::schema(format!("{}: only a stream has a group", args.path_of("group"))));
                }
                Source::Redis(Redis { url, read })
            }
            "rabbitmq" => {
                args.only(&["url", "protocol", "vhost", "queue", "include_unacknowledged"])?;
                let protocol = match args.get("protocol") {
                    None => "amqp",
                    Some(value) => json::one_of(value, &args.path_of("protocol"), &["amqp", "http"])?,
                };
                let include_unacknowledged = match args.get("include_unacknowledged") {
                    None => false,
                    Some(value) => json::boolean(value, &args.path_of("include_unacknowledged"))?,
                };
                let protocol = if protocol == "amqp" {
                    if include_unacknowledged {
                        return Err(Invalid::schema(format!(
                            "{}: AMQP tells only the messages ready; use \"protocol\": \"http\" (the management API) to count unacknowledged ones",
                            args.path_of("include_unacknowledged")
                        )));
                    }
                    if args.has("vhost") {
                        return Err(Invalid::schema(format!(
                            "{}: over AMQP the virtual host is the URL's path",
                            args.path_of("vhost")
                        )));
                    }
                    RabbitProtocol::Amqp
                } else {
                    let vhost = match args.get("vhost") {
                        None => "/".to_string(),
                        Some(value) => json::string(value, &args.path_of("vhost"), MAX_TEXT)?.to_string(),
                    };
                    RabbitProtocol::Http { vhost }
                };
                let schemes: &[&str] =
                    if protocol == RabbitProtocol::Amqp { &["amqp", "amqps"] } else { &["http", "https"] };
                Source::RabbitMq(RabbitMq {
                    url: url(&args, schemes)?,
                    protocol,
                    queue: text(&args, "queue")?,
                    include_unacknowledged,
                })
            }
            "nats" => {
                args.only(&["url", "stream", "consumer"])?;
                Source::Nats(Nats {
                    url: url(&args, &["nats", "tls"])?,
                    stream: text(&args, "stream")?,
                    consumer: text(&args, "consumer")?,
                })
            }
            "sql" => {
                args.only(&["url", "query"])?;
                let url = url(&args, &["postgres", "postgresql", "mysql", "mariadb"])?;
                let engine = if url.starts_with("postgres") { SqlEngine::Postgres } else { SqlEngine::MySql };
                let query = text(&args, "query")?;
                if query.trim_end().trim_end_matches(';').contains(';') {
                    return Err(Invalid::schema(format!("{}: one statement only", args.path_of("query"))));
                }
                Source::Sql(Sql { url, engine, query: query.trim_end().trim_end_matches(';').to_string() })
            }
            "lb_stats" => lb_stats(&args)?,
            other => return Err(Invalid::schema(format!("type: unknown collector type {other:?}"))),
        })
    }

    /// Its type, as in its document.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::HttpProbe(_) => "http_probe",
            Source::AppDecision(_) => "app_decision",
            Source::Prometheus(_) => "prometheus",
            Source::Redis(_) => "redis",
            Source::RabbitMq(_) => "rabbitmq",
            Source::Nats(_) => "nats",
            Source::Sql(_) => "sql",
            Source::LbStats(_) => "lb_stats",
        }
    }
}

fn lb_stats(args: &Obj<'_>) -> Result<Source, Invalid> {
    args.only(&["balancer", "socket", "url", "backend", "value", "per_member"])?;
    let kind = json::one_of(args.required("balancer")?, &args.path_of("balancer"), &["builtin", "haproxy"])?;
    let balancer = match (kind, args.get("socket"), args.get("url")) {
        ("builtin", None, None) => Balancer::Builtin,
        ("builtin", _, _) => {
            return Err(Invalid::schema(format!(
                "{}: the built-in balancer is the group's own: no socket or url",
                args.path()
            )));
        }
        (_, Some(socket), None) => {
            let socket = json::string(socket, &args.path_of("socket"), MAX_TEXT)?;
            if !socket.starts_with('/') {
                return Err(Invalid::schema(format!("{}: an absolute path", args.path_of("socket"))));
            }
            Balancer::HaProxySocket(socket.to_string())
        }
        (_, None, Some(_)) => Balancer::HaProxyHttp(url(args, &["http", "https"])?),
        _ => {
            return Err(Invalid::schema(format!(
                "{}: HAProxy is read on its admin socket (\"socket\") or its CSV statistics page (\"url\"), one of them",
                args.path()
            )));
        }
    };
    let backend = match (&balancer, args.get("backend")) {
        (Balancer::Builtin, None) => None,
        (Balancer::Builtin, Some(_)) => {
            return Err(Invalid::schema(format!("{}: the built-in balancer has no backends", args.path_of("backend"))));
        }
        (_, _) => Some(text(args, "backend")?),
    };
    let value = match json::one_of(
        args.required("value")?,
        &args.path_of("value"),
        &["connections", "requests_per_second", "inflight", "queue"],
    )? {
        "connections" => LbValue::Connections,
        "requests_per_second" => LbValue::RequestsPerSecond,
        "inflight" => LbValue::InFlight,
        _ => LbValue::Queue,
    };
    let builtin = balancer == Balancer::Builtin;
    if (value == LbValue::InFlight && !builtin) || (value == LbValue::Queue && builtin) {
        let which = if builtin { "HAProxy" } else { "the built-in balancer" };
        return Err(Invalid::schema(format!("{}: only {which} reports it", args.path_of("value"))));
    }
    let per_member = match args.get("per_member") {
        None => true,
        Some(value) => json::boolean(value, &args.path_of("per_member"))?,
    };
    Ok(Source::LbStats(LbStats { balancer, backend, value, per_member }))
}

fn text(args: &Obj<'_>, key: &str) -> Result<String, Invalid> {
    Ok(json::non_blank(args.required(key)?, &args.path_of(key), MAX_TEXT)?.to_string())
}

/// A URL of one of `schemes`, as written.
fn url(args: &Obj<'_>, schemes: &[&str]) -> Result<String, Invalid> {
    let path = args.path_of("url");
    let text = json::non_blank(args.required("url")?, &path, MAX_TEXT)?;
    let parsed = url::Url::parse(text).map_err(|err| Invalid::schema(format!("{path}: not a URL ({err})")))?;
    if !schemes.contains(&parsed.scheme()) {
        return Err(Invalid::schema(format!("{path}: the scheme must be one of {}", schemes.join(", "))));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(Invalid::schema(format!("{path}: a URL with a host")));
    }
    Ok(text.to_string())
}

fn header_name(value: &Value, path: &str) -> Result<String, Invalid> {
    let name = json::token(value, path, 256)?;
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)) {
        return Err(Invalid::schema(format!("{path}: {name:?} is not a header name")));
    }
    Ok(name.to_string())
}

fn headers(args: &Obj<'_>) -> Result<Vec<(String, String)>, Invalid> {
    let Some(value) = args.get("headers") else { return Ok(Vec::new()) };
    let obj = Obj::new(value, &args.path_of("headers"))?;
    if obj.map().len() > MAX_HEADERS {
        return Err(Invalid::schema(format!("{}: at most {MAX_HEADERS} headers", obj.path())));
    }
    let mut headers = Vec::with_capacity(obj.map().len());
    for (name, value) in obj.map() {
        let path = obj.path_of(name);
        let name = header_name(&Value::String(name.clone()), &path)?;
        let value = json::string(value, &path, MAX_TEXT)?;
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(Invalid::schema(format!("{path}: a header value has no control characters")));
        }
        headers.push((name, value.to_string()));
    }
    Ok(headers)
}

fn request(args: &Obj<'_>) -> Result<Request, Invalid> {
    let method = match args.get("method") {
        None => "GET",
        Some(value) => json::one_of(value, &args.path_of("method"), &["GET", "HEAD", "POST", "PUT", "OPTIONS"])?,
    };
    let body = args.get("body").map(|b| json::string(b, &args.path_of("body"), 65_536).map(str::to_string));
    let expect_status = match args.get("expect_status") {
        None => Vec::new(),
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= 32 => items
            .iter()
            .enumerate()
            .map(|(i, s)| {
                json::integer(s, &format!("{}[{i}]", args.path_of("expect_status")), 100, 599).map(|s| s as u16)
            })
            .collect::<Result<_, _>>()?,
        Some(value @ Value::Number(_)) => vec![json::integer(value, &args.path_of("expect_status"), 100, 599)? as u16],
        Some(_) => {
            return Err(Invalid::schema(format!(
                "{}: a status or an array of 1 to 32 statuses",
                args.path_of("expect_status")
            )));
        }
    };
    Ok(Request {
        url: url(args, &["http", "https"])?,
        method: method.to_string(),
        headers: headers(args)?,
        body: body.transpose()?,
        expect_status,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(kind: &str, args: Value) -> Result<Source, String> {
        Source::parse(kind, &args, "args").map_err(|e| e.to_string())
    }

    #[test]
    fn every_type_reads_its_args() {
        let probe = parse("http_probe", json!({"url": "https://app.example/health", "method": "HEAD",
            "headers": {"Authorization": "Bearer x"}, "expect_status": [200, 204], "header": "X-Service-Time", "penalty": 5000}))
        .unwrap();
        let Source::HttpProbe(probe) = probe else { panic!() };
        assert_eq!(probe.value, ProbeValue::Header("X-Service-Time".into()));
        assert_eq!((probe.request.method.as_str(), probe.penalty), ("HEAD", Some(5000.0)));
        assert!(probe.request.expected(204) && !probe.request.expected(201));
        let Source::AppDecision(decision) =
            parse("app_decision", json!({"url": "http://app/decision", "pointer": "/workers/wanted"})).unwrap()
        else {
            panic!()
        };
        assert!(decision.request.expected(201), "any 2xx by default");
        assert_eq!(
            parse("redis", json!({"url": "redis://:pw@127.0.0.1:6379/0", "stream": "jobs", "group": "workers"}))
                .unwrap(),
            Source::Redis(Redis {
                url: "redis://:pw@127.0.0.1:6379/0".into(),
                read: RedisRead::Stream { stream: "jobs".into(), group: "workers".into() }
            })
        );
        let Source::RabbitMq(http) = parse(
            "rabbitmq",
            json!({"url": "http://guest:guest@127.0.0.1:15672",
            "protocol": "http", "queue": "jobs", "include_unacknowledged": true}),
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(http.protocol, RabbitProtocol::Http { vhost: "/".into() });
        let Source::Sql(sql) =
            parse("sql", json!({"url": "mysql://root@127.0.0.1/test", "query": "SELECT count(*) FROM jobs;"})).unwrap()
        else {
            panic!()
        };
        assert_eq!((sql.engine, sql.query.as_str()), (SqlEngine::MySql, "SELECT count(*) FROM jobs"));
        assert!(parse("nats", json!({"url": "nats://127.0.0.1:4222", "stream": "S", "consumer": "c"})).is_ok());
        assert!(parse("prometheus", json!({"url": "http://127.0.0.1:9090", "query": "sum(up)"})).is_ok());
        let Source::LbStats(lb) = parse(
            "lb_stats",
            json!({"balancer": "haproxy", "socket": "/run/haproxy.sock",
            "backend": "web", "value": "connections"}),
        )
        .unwrap() else {
            panic!()
        };
        assert!(lb.per_member && lb.backend.as_deref() == Some("web"));
        assert!(parse("lb_stats", json!({"balancer": "builtin", "value": "inflight", "per_member": false})).is_ok());
    }

    #[test]
    fn bad_args_are_refused_with_the_field_at_fault() {
        for (kind, args, says) in [
            ("http_probe", json!({"url": "ftp://x/"}), "args.url: the scheme must be one of http, https"),
            ("http_probe", json!({"url": "not a url"}), "args.url: not a URL"),
            ("http_probe", json!({"url": "http://x/", "expect_status": 700}), "args.expect_status"),
            ("http_probe", json!({"url": "http://x/", "headers": {"Bad Name": "x"}}), "args.headers.Bad Name"),
            ("app_decision", json!({"url": "http://x/", "pointer": "workers"}), "is not a JSON pointer"),
            ("redis", json!({"url": "redis://x", "list": "a", "sorted_set": "b"}), "exactly one of list"),
            ("redis", json!({"url": "redis://x", "list": "a", "group": "g"}), "only a stream has a group"),
            ("redis", json!({"url": "redis://x", "stream": "s"}), "'group' is a required property"),
            ("rabbitmq", json!({"url": "amqp://x", "queue": "q", "include_unacknowledged": true}), "management API"),
            ("rabbitmq", json!({"url": "http://x", "queue": "q"}), "one of amqp, amqps"),
            ("sql", json!({"url": "sqlite://x", "query": "SELECT 1"}), "args.url: the scheme"),
            ("sql", json!({"url": "postgres://x/db", "query": "SELECT 1; DROP TABLE jobs"}), "one statement only"),
            ("lb_stats", json!({"balancer": "builtin", "value": "queue"}), "only HAProxy reports it"),
            (
                "lb_stats",
                json!({"balancer": "haproxy", "socket": "/s", "value": "inflight", "backend": "b"}),
                "only the built-in",
            ),
            ("lb_stats", json!({"balancer": "haproxy", "value": "connections", "backend": "b"}), "one of them"),
            (
                "lb_stats",
                json!({"balancer": "haproxy", "socket": "/s", "value": "connections"}),
                "'backend' is a required",
            ),
            ("nats", json!({"url": "nats://x", "stream": "s", "consumer": "c", "x": 1}), "x"),
        ] {
            let err = parse(kind, args.clone()).unwrap_err();
            assert!(err.contains(says), "{kind} {args}: {err}");
        }
    }
}
