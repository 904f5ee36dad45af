//! The built-in load balancer end to end, over real sockets: members are small axum servers (or a
//! raw TCP echo server for upgrades) on 127.0.0.1, clients are reqwest or raw TCP streams.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use ebb_engine::balancer::{Balancer, BalancerError, BalancerStats, MemberStats};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Every test finishes well within this, or fails instead of hanging.
const TEST_DEADLINE: Duration = Duration::from_secs(20);
/// Conditions polled for must hold within this.
const POLL_DEADLINE: Duration = Duration::from_secs(5);

async fn within<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(TEST_DEADLINE, test).await.expect("the test finishes in time")
}

async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + POLL_DEADLINE;
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A member: answers who it is, echoes what it received, holds `/slow` requests until released.
struct TestMember {
    address: SocketAddr,
    state: Arc<MemberState>,
}

struct MemberState {
    name: String,
    slow_arrived: AtomicUsize,
    release: watch::Sender<bool>,
}

impl TestMember {
    async fn start(name: &str) -> TestMember {
        let state = Arc::new(MemberState {
            name: name.to_owned(),
            slow_arrived: AtomicUsize::new(0),
            release: watch::channel(false).0,
        });
        let app = Router::new()
            .route("/who", get(who))
            .route("/inspect", any(inspect))
            .route("/inspect/{*rest}", any(inspect))
            .route("/status/{code}", get(status))
            .route("/slow", get(slow))
            .with_state(Arc::clone(&state));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestMember { address, state }
    }

    fn slow_arrived(&self) -> usize {
        self.state.slow_arrived.load(Ordering::SeqCst)
    }

    fn release(&self) {
        self.state.release.send_replace(true);
    }
}

async fn who(State(state): State<Arc<MemberState>>) -> impl IntoResponse {
    ([("x-member", state.name.clone())], state.name.clone())
}

async fn inspect(
    State(state): State<Arc<MemberState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
    let names: Vec<&str> = headers.keys().map(|name| name.as_str()).collect();
    axum::Json(json!({
        "member": state.name,
        "method": method.as_str(),
        "uri": uri.to_string(),
        "host": header("host"),
        "forwarded_for": header("x-forwarded-for"),
        "forwarded_proto": header("x-forwarded-proto"),
        "headers": names,
        "body_len": body.len(),
    }))
}

async fn status(Path(code): Path<u16>) -> impl IntoResponse {
    let status = StatusCode::from_u16(code).unwrap();
    (status, [("x-custom", "kept")], format!("status {code}"))
}

async fn slow(State(state): State<Arc<MemberState>>) -> impl IntoResponse {
    let mut release = state.release.subscribe();
    state.slow_arrived.fetch_add(1, Ordering::SeqCst);
    let _ = release.wait_for(|released| *released).await;
    ([("x-member", state.name.clone())], state.name.clone())
}

/// An address nothing listens on.
async fn dead_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

async fn start_balancer() -> Balancer {
    Balancer::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap()
}

fn url(balancer: &Balancer, path: &str) -> String {
    format!("http://{}{path}", balancer.local_addr())
}

async fn get_member(client: &reqwest::Client, balancer: &Balancer, path: &str) -> String {
    let response = client.get(url(balancer, path)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.headers()["x-member"].to_str().unwrap().to_owned()
}

fn member_stats<'a>(stats: &'a BalancerStats, id: &str) -> &'a MemberStats {
    stats.members.iter().find(|member| member.member_id == id).unwrap()
}

/// Reads a response head and its `Content-Length` body from a raw stream.
async fn read_response(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break end + 4;
        }
        let mut chunk = [0; 4096];
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "connection closed before the response head: {:?}", String::from_utf8_lossy(&buffer));
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|value| value.trim().to_owned()))
        .map_or(0, |value| value.parse().unwrap());
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = [0; 4096];
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "connection closed in the body");
        body.extend_from_slice(&chunk[..read]);
    }
    (head, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_come_back_unchanged_with_path_query_and_forwarding_headers() {
    within(async {
        let member = TestMember::start("a").await;
        let balancer = start_balancer().await;
        balancer.add("a", member.address);
        let client = client();

        let response = client.get(url(&balancer, "/status/418")).send().await.unwrap();
        assert_eq!(response.status(), 418);
        assert_eq!(response.headers()["x-custom"], "kept");
        assert_eq!(response.text().await.unwrap(), "status 418");

        let seen: Value = client
            .get(url(&balancer, "/inspect/a/b?x=1&y=two%20words"))
            .header("host", "shop.example")
            .header("x-forwarded-for", "10.0.0.1")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(seen["uri"], "/inspect/a/b?x=1&y=two%20words");
        assert_eq!(seen["host"], "shop.example");
        assert_eq!(seen["forwarded_for"], "10.0.0.1, 127.0.0.1");
        assert_eq!(seen["forwarded_proto"], "http");

        let body = vec![b'x'; 1 << 20];
        let response = client.post(url(&balancer, "/inspect")).body(body).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let seen: Value = response.json().await.unwrap();
        assert_eq!((seen["method"].as_str(), seen["body_len"].as_u64()), (Some("POST"), Some(1 << 20)));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hop_by_hop_headers_do_not_reach_members() {
    within(async {
        let member = TestMember::start("a").await;
        let balancer = start_balancer().await;
        balancer.add("a", member.address);
        let mut stream = TcpStream::connect(balancer.local_addr()).await.unwrap();
        stream
            .write_all(
                b"GET /inspect HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\n\
                  X-Hop: 1\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: nothing\r\nX-Kept: 1\r\n\r\n",
            )
            .await
            .unwrap();
        let (head, body) = read_response(&mut stream).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let seen: Value = serde_json::from_slice(&body).unwrap();
        let names: Vec<&str> = seen["headers"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert!(names.contains(&"x-kept"), "{names:?}");
        for hop in ["x-hop", "keep-alive", "proxy-connection", "te", "upgrade", "connection"] {
            assert!(!names.contains(&hop), "{hop} reached the member: {names:?}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_requests_go_to_the_member_with_fewer_requests_in_flight() {
    within(async {
        let (a, b) = (TestMember::start("a").await, TestMember::start("b").await);
        let balancer = start_balancer().await;
        balancer.add("a", a.address);
        balancer.add("b", b.address);
        let client = client();

        let held = tokio::spawn(client.get(url(&balancer, "/slow")).send());
        eventually("the slow request arrives", || a.slow_arrived() + b.slow_arrived() == 1).await;
        let (busy, busy_id, idle) = if a.slow_arrived() == 1 { (&a, "a", "b") } else { (&b, "b", "a") };
        assert_eq!(balancer.in_flight(busy_id), 1);
        for _ in 0..10 {
            assert_eq!(get_member(&client, &balancer, "/who").await, idle);
        }
        busy.release();
        let response = held.await.unwrap().unwrap();
        assert_eq!(response.headers()["x-member"], busy_id);
        eventually("nothing is in flight", || balancer.in_flight("a") + balancer.in_flight("b") == 0).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equal_members_share_requests_evenly() {
    within(async {
        let (a, b) = (TestMember::start("a").await, TestMember::start("b").await);
        let balancer = start_balancer().await;
        balancer.add("a", a.address);
        balancer.add("b", b.address);
        let client = client();

        let mut counts: HashMap<String, u32> = HashMap::new();
        for _ in 0..100 {
            *counts.entry(get_member(&client, &balancer, "/who").await).or_default() += 1;
        }
        assert!(counts["a"] >= 30 && counts["b"] >= 30, "{counts:?}");
        // Keep-alive: sequential requests reuse a handful of connections, not one each.
        let stats = balancer.stats();
        for id in ["a", "b"] {
            let open = member_stats(&stats, id).traffic.open_connections;
            assert!((1..=10).contains(&open), "{open} connections to {id}");
        }

        let concurrent = futures::future::join_all((0..100).map(|_| get_member(&client, &balancer, "/who"))).await;
        let to_a = concurrent.iter().filter(|member| *member == "a").count();
        assert!((30..=70).contains(&to_a), "{to_a} of 100 concurrent requests went to a");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_member_finishes_its_requests_and_gets_no_new_ones() {
    within(async {
        let (a, b) = (TestMember::start("a").await, TestMember::start("b").await);
        let balancer = start_balancer().await;
        balancer.add("a", a.address);
        let client = client();

        let held = tokio::spawn(client.get(url(&balancer, "/slow")).send());
        eventually("the slow request reaches a", || a.slow_arrived() == 1).await;
        balancer.add("b", b.address);
        balancer.remove("a");
        balancer.remove("a");
        balancer.remove("unknown");
        assert_eq!(balancer.routable(), ["b"]);
        assert_eq!(balancer.in_flight("a"), 1);
        let stats = balancer.stats();
        assert!(member_stats(&stats, "a").draining);
        assert!(!member_stats(&stats, "b").draining);

        for _ in 0..10 {
            assert_eq!(get_member(&client, &balancer, "/who").await, "b");
        }
        a.release();
        let response = held.await.unwrap().unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "a");
        eventually("a has nothing in flight", || balancer.in_flight("a") == 0).await;

        balancer.forget("a");
        assert_eq!(balancer.stats().members.len(), 1);
        assert_eq!(balancer.in_flight("a"), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_requests_are_retried_on_another_member() {
    within(async {
        let live = TestMember::start("live").await;
        let balancer = start_balancer().await;
        balancer.add("dead", dead_address().await);
        balancer.add("live", live.address);
        let client = client();

        for _ in 0..50 {
            assert_eq!(get_member(&client, &balancer, "/who").await, "live");
        }
        let stats = balancer.stats();
        assert_eq!(stats.group.requests_total, 50);
        assert_eq!(stats.group.errors_total, 0);
        let dead = member_stats(&stats, "dead");
        assert!(dead.traffic.errors_total > 0, "the dead member was tried");
        assert_eq!(dead.traffic.errors_total, dead.traffic.requests_total);
        assert_eq!(balancer.in_flight("dead"), 0);
        assert_eq!(balancer.routable(), ["dead", "live"], "failures mark nothing permanently");

        // A request that could not even connect was never sent, so any method can go elsewhere.
        for _ in 0..10 {
            let response = client.post(url(&balancer, "/inspect")).body("payload").send().await.unwrap();
            assert_eq!(response.status(), 200);
            let seen: Value = response.json().await.unwrap();
            assert_eq!((seen["member"].as_str(), seen["body_len"].as_u64()), (Some("live"), Some(7)));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_get_a_502_when_no_member_answers() {
    within(async {
        let balancer = start_balancer().await;
        balancer.add("dead", dead_address().await);
        let client = client();

        let response = client.post(url(&balancer, "/inspect")).body("payload").send().await.unwrap();
        assert_eq!(response.status(), 502);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "BadGateway");
        assert_eq!(body["error"]["code"], 502);

        let response = client.get(url(&balancer, "/who")).send().await.unwrap();
        assert_eq!(response.status(), 502);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "BadGateway");

        let stats = balancer.stats();
        assert_eq!((stats.group.requests_total, stats.group.errors_total), (2, 2));
        assert_eq!(member_stats(&stats, "dead").traffic.errors_total, 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_routable_members_requests_get_a_503() {
    within(async {
        let balancer = start_balancer().await;
        let client = client();
        let expected = json!({"error": {"type": "NoMembers", "code": 503, "message": "no member of this group is ready", "details": ""}});

        let response = client.get(url(&balancer, "/anything?secret=1")).send().await.unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(response.json::<Value>().await.unwrap(), expected);

        let member = TestMember::start("a").await;
        balancer.add("a", member.address);
        assert_eq!(get_member(&client, &balancer, "/who").await, "a");
        balancer.remove("a");
        let response = client.delete(url(&balancer, "/who")).send().await.unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(response.json::<Value>().await.unwrap(), expected);
        assert!(balancer.routable().is_empty());
    })
    .await;
}

/// A member that accepts `Upgrade: echo` with a 101 and then echoes every byte.
async fn start_echo_member() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (head, leftover) = read_response(&mut stream).await;
                let head = head.to_ascii_lowercase();
                if !(head.contains("\r\nupgrade: echo\r\n") && head.contains("\r\nconnection: upgrade\r\n")) {
                    let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
                    return;
                }
                let answer = b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n";
                if stream.write_all(answer).await.is_err() || stream.write_all(&leftover).await.is_err() {
                    return;
                }
                let (mut reader, mut writer) = stream.split();
                let _ = tokio::io::copy(&mut reader, &mut writer).await;
            });
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgraded_connections_are_tunnelled_both_ways() {
    within(async {
        let balancer = start_balancer().await;
        balancer.add("echo", start_echo_member().await);

        let mut stream = TcpStream::connect(balancer.local_addr()).await.unwrap();
        stream
            .write_all(b"GET /chat HTTP/1.1\r\nHost: chat.example\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
            .await
            .unwrap();
        let (head, leftover) = read_response(&mut stream).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        assert!(head.to_ascii_lowercase().contains("\r\nupgrade: echo\r\n"), "{head}");
        assert!(leftover.is_empty());

        for message in [&b"hello through the balancer"[..], &[0, 1, 2, 255, 254][..]] {
            stream.write_all(message).await.unwrap();
            let mut echoed = vec![0; message.len()];
            stream.read_exact(&mut echoed).await.unwrap();
            assert_eq!(echoed, message);
        }
        assert_eq!(balancer.in_flight("echo"), 1, "an open upgraded connection is in flight");
        let stats = balancer.stats();
        assert_eq!(stats.group.in_flight, 1);
        assert_eq!(member_stats(&stats, "echo").traffic.open_connections, 1);

        drop(stream);
        eventually("the tunnel closes", || balancer.in_flight("echo") == 0).await;
        eventually("both connections close", || {
            let stats = balancer.stats();
            stats.group.open_connections == 0 && member_stats(&stats, "echo").traffic.open_connections == 0
        })
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_count_requests_errors_latency_and_connections() {
    within(async {
        let member = TestMember::start("a").await;
        let balancer = start_balancer().await;
        balancer.add("a", member.address);
        let client = client();

        for _ in 0..20 {
            assert_eq!(client.get(url(&balancer, "/who")).send().await.unwrap().status(), 200);
        }
        for _ in 0..5 {
            assert_eq!(client.get(url(&balancer, "/status/500")).send().await.unwrap().status(), 500);
        }
        let stats = balancer.stats();
        assert_eq!(stats.port, balancer.local_addr().port());
        let a = member_stats(&stats, "a");
        for traffic in [&stats.group, &a.traffic] {
            assert_eq!((traffic.requests_total, traffic.errors_total), (25, 5));
            assert!((traffic.error_rate - 0.2).abs() < 1e-9, "{traffic:?}");
            assert!(traffic.requests_per_second > 0.0, "{traffic:?}");
            assert!(traffic.p50_ms > 0.0 && traffic.p95_ms >= traffic.p50_ms && traffic.p99_ms >= traffic.p95_ms);
        }
        assert!(stats.group.p50_ms >= a.traffic.p50_ms);
        assert_eq!(a.address, member.address);
        eventually("responses are finished", || balancer.stats().group.in_flight == 0).await;

        drop(client);
        eventually("the reqwest connection closes", || balancer.stats().group.open_connections == 0).await;
        let mut stream = TcpStream::connect(balancer.local_addr()).await.unwrap();
        stream.write_all(b"GET /who HTTP/1.1\r\nHost: h\r\n\r\n").await.unwrap();
        let (head, body) = read_response(&mut stream).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, b"a");
        let stats = balancer.stats();
        assert_eq!(stats.group.open_connections, 1, "the keep-alive client connection stays open");
        assert!(member_stats(&stats, "a").traffic.open_connections >= 1, "the member connection is pooled");
        drop(stream);
        eventually("the client connection closes", || balancer.stats().group.open_connections == 0).await;

        let json = serde_json::to_value(balancer.stats()).unwrap();
        assert_eq!(json["members"][0]["member_id"], "a");
        assert_eq!(json["group"]["requests_total"], 26);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_to_members_are_reused_then_closed() {
    within(async {
        let member = TestMember::start("a").await;
        let balancer = start_balancer().await;
        balancer.add("a", member.address);
        let client = client();
        for _ in 0..5 {
            assert_eq!(get_member(&client, &balancer, "/who").await, "a");
        }
        let open = || member_stats(&balancer.stats(), "a").traffic.open_connections;
        assert!((1..=3).contains(&open()), "{} connections for 5 sequential requests", open());
        eventually("idle member connections are closed", || open() == 0).await;
        assert_eq!(get_member(&client, &balancer, "/who").await, "a");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_is_reported_as_in_use() {
    within(async {
        let balancer = start_balancer().await;
        let address = balancer.local_addr();
        let error = Balancer::bind(address).await.unwrap_err();
        assert!(matches!(error, BalancerError::PortInUse { port } if port == address.port()), "{error:?}");
        assert_eq!(error.to_string(), format!("port {} is already in use", address.port()));
        assert_eq!(BalancerError::PortInUse { port: 8080 }.to_string(), "port 8080 is already in use");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_refused_without_harm() {
    within(async {
        let member = TestMember::start("a").await;
        let balancer = start_balancer().await;
        balancer.add("a", member.address);

        for garbage in [&b"\x00\x01\x02 nonsense\r\n\r\n"[..], b"GET / HTTP/1.1\r\nHost: h\r\nBad Header\r\n\r\n"] {
            let mut stream = TcpStream::connect(balancer.local_addr()).await.unwrap();
            stream.write_all(garbage).await.unwrap();
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer).await;
            let answer = String::from_utf8_lossy(&answer);
            assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 400"), "{answer}");
        }
        assert_eq!(get_member(&client(), &balancer, "/who").await, "a");
        assert_eq!(balancer.stats().members[0].traffic.requests_total, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_address_can_change_and_be_forgotten() {
    within(async {
        let (first, second) = (TestMember::start("first").await, TestMember::start("second").await);
        let balancer = start_balancer().await;
        let client = client();
        balancer.add("a", first.address);
        balancer.add("a", first.address);
        assert_eq!(get_member(&client, &balancer, "/who").await, "first");
        balancer.add("a", second.address);
        assert_eq!(get_member(&client, &balancer, "/who").await, "second");
        assert_eq!(balancer.routable(), ["a"]);
        assert_eq!(balancer.stats().members[0].address, second.address);

        balancer.remove("a");
        balancer.add("a", second.address);
        assert_eq!(balancer.routable(), ["a"], "adding a draining member makes it routable again");

        balancer.forget("a");
        balancer.forget("a");
        assert!(balancer.routable().is_empty());
        assert!(balancer.stats().members.is_empty());
        assert_eq!(client.get(url(&balancer, "/who")).send().await.unwrap().status(), 503);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_the_listener_and_lets_requests_in_flight_finish() {
    within(async {
        let member = TestMember::start("a").await;
        let balancer = start_balancer().await;
        balancer.add("a", member.address);
        let held = tokio::spawn(client().get(url(&balancer, "/slow")).send());
        eventually("the slow request arrives", || member.slow_arrived() == 1).await;

        balancer.shutdown().await;
        assert!(TcpStream::connect(balancer.local_addr()).await.is_err(), "the listener is closed");
        member.release();
        let response = held.await.unwrap().unwrap();
        assert_eq!(response.text().await.unwrap(), "a");
        eventually("the client connection closes", || balancer.stats().group.open_connections == 0).await;

        // The port is free again.
        let again = Balancer::bind(balancer.local_addr()).await.unwrap();
        again.shutdown().await;
        balancer.shutdown().await;
    })
    .await;
}
