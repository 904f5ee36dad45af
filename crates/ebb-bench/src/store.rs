//! `ebb-bench store`: durable executions through the store alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::json;

pub async fn store(groups: usize, executions: usize, concurrency: usize) -> anyhow::Result<()> {
    use ebb_store::{NewGroup, Store};
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store: Arc<dyn Store> = ebb_store::open(&url, ebb_store::StoreMetrics::unregistered()).await?;
    let now = jiff::Timestamp::now();
    store.create_tenant(&"bench".into(), now).await?;
    let mut targets = Vec::new();
    for _ in 0..groups {
        let config = ebb_core::group::GroupConfig::parse(
            &json!({"name": "g", "cooldown": 0, "minEntities": 0, "maxEntities": 1000}),
            "",
            ebb_core::group::Mode::Create,
        )?;
        let launch = ebb_core::launch::LaunchConfig::parse(
            &json!({"type": "launch_server", "args": {"server": {"flavorRef": "2", "imageRef": "i"}}}),
            "",
        )?;
        let body = json!({"name": "up", "type": "webhook", "cooldown": 0, "change": 1});
        let policy = ebb_core::policy::Policy::parse(&body, "", ebb_core::policy::Origin::Submitted(now))?;
        let id = ebb_core::ids::GroupId::generate();
        let (state, history) = ebb_core::decide::create_group(&id, &config, now);
        let group = NewGroup {
            id,
            tenant_id: "bench".into(),
            config,
            launch,
            state,
            history,
            policies: vec![ebb_store::NewPolicy { body, policy, next_fire: None }],
        };
        let (group, policies) = store.create_group(group, ebb_core::limits::Limits::default(), now).await?;
        targets.push((group.id, policies[0].id.clone()));
    }
    let targets = Arc::new(targets);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (store, targets, next) = (store.clone(), targets.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= executions {
                    return Ok::<_, anyhow::Error>(());
                }
                let (group, policy) = &targets[i % targets.len()];
                let subject = ebb_store::Subject::Group {
                    tenant: "bench".into(),
                    group: group.clone(),
                    policy: Some(policy.clone()),
                    member: None,
                };
                let now = jiff::Timestamp::now();
                let decide: ebb_store::Decide = Box::new(move |snapshot| {
                    ebb_core::decide::execute_policy(snapshot, ebb_core::records::Source::Api, now)
                });
                store.decide(subject, decide).await?;
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let elapsed = started.elapsed();
    println!(
        "store: {executions} durable policy executions on {groups} groups in {:.2} s: {:.0}/s",
        elapsed.as_secs_f64(),
        executions as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
