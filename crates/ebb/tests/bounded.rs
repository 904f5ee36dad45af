//! What an unauthenticated caller or a busy tenant can make the server spend is bounded:
//! database connections (a fixed read pool, even under `ulimit -n 256` with 64 concurrent
//! reads while the self-heal pass walks thousands of groups) and log volume (unknown
//! capability URLs are counted, and logged at most once a second).

mod support;

use std::sync::Arc;

use support::{Api, Options, Server, group};

/// Open file descriptors of a process.
fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|entries| entries.count()).unwrap_or(0)
}

/// Creates `count` groups, `parallel` at a time; returns their ids.
async fn create_groups(api: &Api, count: usize, parallel: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for chunk in (0..count).collect::<Vec<_>>().chunks(parallel) {
        let created = futures::future::join_all(chunk.iter().map(|_| api.create_group(group(0, 5)))).await;
        ids.extend(created);
    }
    ids
}

#[tokio::test]
async fn reads_use_a_fixed_pool_under_a_low_file_limit_while_self_heal_walks_thousands_of_groups() {
    let options = Options {
        open_files: Some(256),
        ..Options::args(&["--self-heal-interval", "0.2", "--tenant-requests-per-minute", "1000000"])
    };
    let server = Server::start_options(options);
    let mut groups = Vec::new();
    for tenant in ["t1", "t2"] {
        let api = server.tenant(tenant).await;
        groups.extend(create_groups(&api, 1000, 32).await.into_iter().map(|g| (api.clone(), g)));
    }
    let groups = Arc::new(groups);
    let baseline = open_files(server.pid());
    let mut peak = baseline;
    // Rounds of 64 concurrent reads, each on a fresh connection, while self-heal passes run.
    for round in 0..10 {
        let reads = (0..64).map(|i| {
            let (api, g) = groups[(round * 64 + i) % groups.len()].clone();
            async move {
                let mut fresh = Api::new(&api.base, api.token.as_deref());
                fresh.tenant = api.tenant.clone();
                fresh.get(&fresh.t(&format!("/groups/{g}"))).await
            }
        });
        let replies = futures::future::join_all(reads).await;
        peak = peak.max(open_files(server.pid()));
        for reply in replies {
            reply.ok(200);
        }
    }
    // 64 client connections and a handful of database files: nothing grows per request.
    assert!(peak < baseline + 64 + 16, "open files went from {baseline} to {peak}");
    let metrics = server.anonymous().get("/metrics").await.text;
    assert!(!metrics.contains("status=\"500\""), "no request failed: {metrics}");
}

#[tokio::test]
async fn unknown_capability_urls_are_counted_and_logged_at_most_once_a_second() {
    let options = Options { log_level: "info", ..Options::args(&["--capability-requests-per-second", "1000"]) };
    let server = Server::start_options(options);
    let anonymous = server.anonymous();
    let started = std::time::Instant::now();
    let unknown = (0..300).map(|i| {
        let anonymous = anonymous.clone();
        async move {
            let secret = format!("{:064x}", 0xdead_0000u64 + i);
            anonymous.post_empty(&format!("/v1.0/execute/1/{secret}/")).await.ok(202);
        }
    });
    futures::future::join_all(unknown).await;
    let malformed = (0..100).map(|i| {
        let anonymous = anonymous.clone();
        async move {
            anonymous.post_empty(&format!("/v1.0/execute/1/not-a-capability-{i}/")).await.ok(202);
        }
    });
    futures::future::join_all(malformed).await;
    let elapsed = started.elapsed().as_secs() as usize;
    let counted = support::poll(10, || async {
        let metrics = server.anonymous().get("/metrics").await.text;
        metrics
            .lines()
            .find(|l| l.starts_with("ebb_policy_executions_total{outcome=\"not_found\",source=\"capability\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .filter(|n| *n == 400)
    })
    .await;
    assert_eq!(counted, Some(400), "every call is counted");
    let lines = server.log().lines().filter(|l| l.contains("unknown capabilities")).count();
    assert!(lines >= 1 && lines <= elapsed + 2, "{lines} log lines in about {elapsed} s:\n{}", server.log());
}
