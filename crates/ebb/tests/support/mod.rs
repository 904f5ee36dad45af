//! Test support: a real `ebb serve` on a free port with its own SQLite file, and an HTTP
//! client that checks what every response must carry.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub mod mimic;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub const OPERATOR_TOKEN: &str = "operator-secret-for-tests";

/// The `ebb` binary under test.
pub fn ebb_bin() -> &'static str {
    env!("CARGO_BIN_EXE_ebb")
}

/// A running `ebb serve`; killed when dropped.
///
/// Its store is SQLite in its folder, or, with `EBB_TEST_BACKEND=postgres`, a schema of its
/// own in the PostgreSQL of `EBB_TEST_POSTGRES` (made with `psql`), so the end-to-end suites
/// run unchanged against both.
pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub dir: tempfile::TempDir,
    options: Options,
    port: u16,
    store: String,
}

/// The store of a new server: SQLite in `dir`, or a fresh PostgreSQL schema.
fn new_store(dir: &Path) -> String {
    if std::env::var("EBB_TEST_BACKEND").as_deref() != Ok("postgres") {
        return format!("sqlite://{}", dir.join("ebb.db").display());
    }
    let base = std::env::var("EBB_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let schema = format!("ebb_e2e_{}", uuid_like());
    let created =
        Command::new("psql").args([&base, "-q", "-c", &format!("CREATE SCHEMA {schema}")]).status().expect("psql runs");
    assert!(created.success(), "cannot create schema {schema} in {base}");
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-csearch_path%3D{schema}")
}

/// 32 random hex characters, for names that must not collide.
fn uuid_like() -> String {
    let bytes = std::fs::read("/proc/sys/kernel/random/uuid").unwrap_or_default();
    String::from_utf8_lossy(&bytes).trim().replace('-', "")
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Options {
    /// Extra `ebb serve` flags.
    pub args: Vec<String>,
    /// Extra environment variables of the server.
    pub env: Vec<(String, String)>,
    /// `EBB_LOG`.
    pub log_level: &'static str,
    /// The server's limit of open files (`ulimit -n`), when not inherited.
    pub open_files: Option<u32>,
    /// Whether to pass the test operator token in `EBB_OPERATOR_TOKEN`.
    pub operator_token_env: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { args: Vec::new(), env: Vec::new(), log_level: "warn", open_files: None, operator_token_env: true }
    }
}

impl Options {
    /// Default options with these flags.
    pub fn args(args: &[&str]) -> Options {
        Options { args: args.iter().map(|s| s.to_string()).collect(), ..Options::default() }
    }
}

impl Server {
    /// A server with default settings.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// A server with extra `ebb serve` flags.
    pub fn start_with(extra: &[&str]) -> Server {
        Server::start_options(Options::args(extra))
    }

    /// A server that logs everything, down to debug lines.
    pub fn start_verbose() -> Server {
        Server::start_options(Options { log_level: "debug", ..Options::default() })
    }

    /// A server started with `options`.
    pub fn start_options(options: Options) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = new_store(dir.path());
        let mut server = Server { child: None, url: String::new(), dir, options, port: 0, store };
        server.spawn();
        server
    }

    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("ebb.db")
    }

    /// Whether the store is PostgreSQL (else SQLite in [`Server::store_path`]).
    fn on_postgres(&self) -> bool {
        self.store.starts_with("postgres")
    }

    /// The PostgreSQL connection and schema of the store.
    fn postgres(&self) -> (String, String) {
        let (base, options) = self.store.split_once("options=-csearch_path%3D").expect("a postgres store");
        (base.trim_end_matches(['?', '&']).to_string(), options.to_string())
    }

    /// Runs one SQL statement on the server's store, behind its back.
    pub fn sql(&self, statement: &str) {
        if self.on_postgres() {
            let (base, schema) = self.postgres();
            let script = format!("SET search_path TO {schema}; {statement}");
            let status = Command::new("psql")
                .args([&base, "-q", "-v", "ON_ERROR_STOP=1", "-c", &script])
                .status()
                .expect("psql");
            assert!(status.success(), "{statement}");
        } else {
            let conn = rusqlite::Connection::open(self.store_path()).expect("open the store");
            conn.busy_timeout(std::time::Duration::from_secs(5)).expect("busy timeout");
            conn.execute_batch(statement).expect(statement);
        }
    }

    /// Everything the store holds, as bytes (the SQLite files, or a dump of the schema).
    pub fn stored_bytes(&self) -> Vec<u8> {
        if self.on_postgres() {
            let (base, schema) = self.postgres();
            let dump =
                Command::new("pg_dump").args([&base, "--data-only", "--schema", &schema]).output().expect("pg_dump");
            assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
            dump.stdout
        } else {
            let mut bytes = std::fs::read(self.store_path()).unwrap_or_default();
            bytes.extend(std::fs::read(self.store_path().with_extension("db-wal")).unwrap_or_default());
            bytes
        }
    }

    fn spawn(&mut self) {
        let store = self.store.clone();
        let listen = format!("127.0.0.1:{}", self.port);
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("log file");
        let mut command = match self.options.open_files {
            // `ulimit -n` for the server alone, then the server in the shell's place.
            Some(limit) => {
                let mut shell = Command::new("sh");
                shell.args(["-c", &format!("ulimit -n {limit} && exec \"$0\" \"$@\""), ebb_bin()]);
                shell
            }
            None => Command::new(ebb_bin()),
        };
        if self.options.operator_token_env {
            command.env("EBB_OPERATOR_TOKEN", OPERATOR_TOKEN);
        } else {
            command.env_remove("EBB_OPERATOR_TOKEN");
        }
        let mut child = command
            .args(["serve", "--listen", &listen, "--store", &store])
            .args(&self.options.args)
            .envs(self.options.env.iter().map(|(k, v)| (k, v)))
            .env("EBB_LOG", self.options.log_level)
            .current_dir(self.dir.path())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("ebb serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read listen line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}; log: {}", self.log()))
            .to_string();
        self.port = url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
        self.url = url;
        self.child = Some(child);
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL, as `kill -9`: no shutdown code runs.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill");
            child.wait().expect("wait");
        }
    }

    /// Starts again on the same port and store.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// SIGTERM, then waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill -TERM");
        assert!(status.success());
        child.wait().expect("wait")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// A client with the operator token.
    pub fn operator(&self) -> Api {
        Api::new(&self.url, Some(OPERATOR_TOKEN))
    }

    /// A client with no token.
    pub fn anonymous(&self) -> Api {
        Api::new(&self.url, None)
    }

    /// Creates a tenant and returns a client with an admin token of it.
    pub async fn tenant(&self, id: &str) -> Api {
        self.operator().post("/admin/v1/tenants", json!({"id": id})).await.ok(201);
        let secret = self.token(id, "admin").await;
        let mut api = Api::new(&self.url, Some(&secret));
        api.tenant = id.to_string();
        api
    }

    /// Creates a tenant the operator allows any `local_process` members; returns a client
    /// with an admin token of it.
    pub async fn local_tenant(&self, id: &str) -> Api {
        let api = self.tenant(id).await;
        self.operator().put(&format!("/admin/v1/tenants/{id}/local-process"), json!({"enabled": true})).await.ok(200);
        api
    }

    /// Creates a token of a tenant; returns its secret.
    pub async fn token(&self, tenant: &str, role: &str) -> String {
        let reply = self.operator().post(&format!("/admin/v1/tenants/{tenant}/tokens"), json!({"role": role})).await;
        reply.ok(201);
        reply.body["token"]["secret"].as_str().expect("secret").to_string()
    }
}

impl Drop for Server {
    /// SIGTERM, so that the server stops the members it runs; SIGKILL if it lingers.
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// An HTTP client for the API.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
    pub tenant: String,
}

/// A response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// Asserts the status (printing the body when it differs).
    #[track_caller]
    pub fn ok(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        self
    }

    /// Asserts an error answer: the status, the documented body shape, and the type.
    #[track_caller]
    pub fn error(&self, status: u16, kind: &str) -> &Self {
        self.ok(status);
        let error = &self.body["error"];
        assert_eq!(error["type"], kind, "error type; body: {}", self.text);
        assert_eq!(error["code"], status, "error code equals status; body: {}", self.text);
        assert!(error["message"].is_string(), "message; body: {}", self.text);
        assert!(error["details"].is_string(), "details; body: {}", self.text);
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Api {
    pub fn new(base: &str, token: Option<&str>) -> Api {
        Api {
            http: reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("client"),
            base: base.trim_end_matches('/').to_string(),
            token: token.map(str::to_string),
            tenant: String::new(),
        }
    }

    /// The same client with another token.
    pub fn with_token(&self, token: &str) -> Api {
        let mut api = self.clone();
        api.token = Some(token.to_string());
        api
    }

    /// `/v1.0/{tenant}` + `rest`.
    pub fn t(&self, rest: &str) -> String {
        format!("/v1.0/{}{rest}", self.tenant)
    }

    /// Sends raw bytes with extra headers; checks the headers every response carries.
    pub async fn raw(&self, method: Method, path: &str, body: Option<Vec<u8>>, headers: &[(&str, &str)]) -> Reply {
        let url = if path.starts_with("http") { path.to_string() } else { format!("{}{path}", self.base) };
        let mut request = self.http.request(method, &url);
        if let Some(token) = &self.token {
            request = request.header("X-Auth-Token", token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        let response = request.send().await.unwrap_or_else(|err| panic!("request to {url} failed: {err}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        if !path.starts_with("/metrics") {
            let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
            assert!(
                content_type == "application/json" || content_type == "application/xml",
                "content-type of {path} was {content_type:?}"
            );
        }
        assert!(headers.contains_key("x-response-id"), "x-response-id missing on {path}");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, body, text }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.raw(method, path, body.map(|b| b.to_string().into_bytes()), &[]).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn post_empty(&self, path: &str) -> Reply {
        self.send(Method::POST, path, None).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }

    /// Creates a group; returns its id.
    pub async fn create_group(&self, body: Value) -> String {
        let reply = self.post(&self.t("/groups"), body).await;
        reply.ok(201);
        reply.body["group"]["id"].as_str().expect("group id").to_string()
    }

    /// Creates one policy; returns its id.
    pub async fn create_policy(&self, group: &str, policy: Value) -> String {
        let reply = self.post(&self.t(&format!("/groups/{group}/policies")), json!([policy])).await;
        reply.ok(201);
        reply.body["policies"][0]["id"].as_str().expect("policy id").to_string()
    }

    /// Creates one webhook; returns (id, capability URL).
    pub async fn create_webhook(&self, group: &str, policy: &str) -> (String, String) {
        let reply =
            self.post(&self.t(&format!("/groups/{group}/policies/{policy}/webhooks")), json!([{"name": "hook"}])).await;
        reply.ok(201);
        let webhook = &reply.body["webhooks"][0];
        let capability = webhook["links"]
            .as_array()
            .and_then(|links| links.iter().find(|l| l["rel"] == "capability"))
            .and_then(|l| l["href"].as_str())
            .expect("capability link")
            .to_string();
        (webhook["id"].as_str().expect("webhook id").to_string(), capability)
    }

    /// The group's desired capacity.
    pub async fn desired(&self, group: &str) -> i64 {
        let reply = self.get(&self.t(&format!("/groups/{group}/state"))).await;
        reply.ok(200);
        reply.body["group"]["desiredCapacity"].as_i64().expect("desiredCapacity")
    }
}

/// A valid `launch_server` launch configuration.
pub fn launch_server() -> Value {
    json!({"type": "launch_server", "args": {"server": {"flavorRef": "2", "imageRef": "a09e7493-7429-41e1-8d3f-384d7ece09c0"}}})
}

/// A valid `local_process` launch configuration.
pub fn local_process() -> Value {
    json!({"type": "local_process", "args": {"process": {"command": "ebb", "args": ["demo-app"]}, "loadBalancers": [{"type": "builtin", "port": 18080}]}})
}

/// A group body with the given bounds.
pub fn group(min: i64, max: i64) -> Value {
    json!({
        "groupConfiguration": {"name": "web", "cooldown": 0, "minEntities": min, "maxEntities": max},
        "launchConfiguration": launch_server(),
    })
}

/// A webhook policy changing by `change` with no cooldown.
pub fn change(change: i64) -> Value {
    json!({"name": format!("change {change}"), "type": "webhook", "cooldown": 0, "change": change})
}

/// Polls `probe` until it returns true, for at most `seconds`.
pub async fn eventually<F, Fut>(seconds: u64, mut probe: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if probe().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}

/// Polls `probe` until it returns a value, for at most `seconds`; the value, or `None`.
pub async fn poll<T, F, Fut>(seconds: u64, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if let Some(value) = probe().await {
            return Some(value);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    None
}

pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// A free TCP port on the loopback interface (for a load balancer).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Live (not zombie) processes whose environment holds `NAME=value`.
pub fn processes_with(name: &str, value: &str) -> Vec<u32> {
    let needle = format!("{name}={value}");
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .map(|stat| stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')))
            .unwrap_or(true);
        if !zombie && environ.split(|b| *b == 0).any(|v| v == needle.as_bytes()) {
            pids.push(pid);
        }
    }
    pids
}

/// Live processes of a group's members.
pub fn processes_of(group: &str) -> Vec<u32> {
    processes_with("EBB_GROUP_ID", group)
}

/// The environment of a process, as `NAME=value` strings.
pub fn environment_of(pid: u32) -> Vec<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    environ.split(|b| *b == 0).filter(|v| !v.is_empty()).map(|v| String::from_utf8_lossy(v).into_owned()).collect()
}

/// An `Authorization` header value for HTTP Basic.
pub fn basic(username: &str, password: &str) -> String {
    format!("Basic {}", data_encoding::BASE64.encode(format!("{username}:{password}").as_bytes()))
}

/// Whether a service a test needs listens at `address`: when it does not, the test is skipped
/// with a message, or fails when `CI` is set.
pub fn service(name: &str, address: &str) -> bool {
    let reachable = address
        .parse::<std::net::SocketAddr>()
        .ok()
        .is_some_and(|at| std::net::TcpStream::connect_timeout(&at, std::time::Duration::from_secs(2)).is_ok());
    if !reachable {
        assert!(std::env::var_os("CI").is_none(), "CI needs {name} at {address}");
        eprintln!("skipped: no {name} at {address}");
    }
    reachable
}

/// A collector's status once `done` holds of it (within 30 s).
pub async fn collector_status_when(api: &Api, group: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    poll(30, || async {
        let reply = api.get(&api.t(&format!("/groups/{group}/collectors/{id}"))).await;
        let status = reply.body["collector"]["status"].clone();
        done(&status).then_some(status)
    })
    .await
    .unwrap_or_else(|| panic!("collector {id} never got there"))
}
