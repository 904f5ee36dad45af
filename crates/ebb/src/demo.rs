//! `ebb serve --demo`: a ready-made tenant and group to see Ebb work on a fresh machine.
//!
//! On first start it creates tenant `demo`, a `local_process` group `demo` of `ebb demo-app`
//! members (2 to 10) behind a built-in load balancer, and two webhook policies (scale up by
//! 2, scale down by 1) with capability URLs. It writes those URLs and how to use them to
//! `{store}.demo.txt` (mode 0600: the URLs are secrets) and prints where. Later starts reuse
//! what exists.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ebb_api::links::Links;
use ebb_core::group::{GroupConfig, Mode};
use ebb_core::ids::TenantId;
use ebb_core::launch::LaunchConfig;
use ebb_core::policy::{Origin, Policy};
use ebb_engine::Engine;
use ebb_engine::engine::{GroupRequest, PolicyBody};
use ebb_store::{NewWebhook, Page, StoreError};
use serde_json::json;

const TENANT: &str = "demo";
const GROUP: &str = "demo";

/// Makes sure the demo tenant and group exist; returns the file that explains them.
pub async fn prepare(engine: &Engine, links: &Links, port: u16, store_file: &str) -> anyhow::Result<PathBuf> {
    let store = engine.store();
    let now = engine.clock().now();
    match store.create_tenant(&TenantId::new(TENANT), now).await {
        Ok(_) | Err(StoreError::TenantExists) => {}
        Err(err) => return Err(err).context("cannot create the demo tenant"),
    }
    // The demo tenant, and only it, may run local processes: this very binary, nothing else.
    let command = std::env::current_exe().context("cannot find the ebb binary for the demo members")?;
    let grant = ebb_core::grant::LocalProcessGrant {
        enabled: true,
        commands: Some(vec![command.display().to_string()]),
        working_dirs: None,
    };
    store
        .set_local_process(&TenantId::new(TENANT), grant)
        .await
        .context("cannot allow the demo tenant local processes")?;
    let notes = PathBuf::from(format!("{store_file}.demo.txt"));
    let existing = store
        .list_groups(&TenantId::new(TENANT), &Page { marker: None, limit: 100 })
        .await
        .context("cannot list demo groups")?;
    if existing.iter().any(|g| g.config.name == GROUP) && notes.exists() {
        return Ok(notes);
    }
    let config = GroupConfig::parse(
        &json!({"name": GROUP, "cooldown": 0, "minEntities": 2, "maxEntities": 10, "metadata": {"purpose": "demo"}}),
        "groupConfiguration",
        Mode::Create,
    )?;
    let launch = LaunchConfig::parse(
        &json!({"type": "local_process", "args": {
            "process": {
                "command": command.display().to_string(),
                "args": ["demo-app", "--work-ms", "20", "--capacity", "2"],
                "readiness": {"http": {"path": "/health"}},
                "stop_timeout": 10
            },
            "loadBalancers": [{"type": "builtin", "port": port}],
            "draining_timeout": 10
        }}),
        "launchConfiguration",
    )?;
    let policies = [
        json!({"name": "scale up", "type": "webhook", "cooldown": 0, "change": 2}),
        json!({"name": "scale down", "type": "webhook", "cooldown": 0, "change": -1}),
    ]
    .into_iter()
    .map(|body| Ok(PolicyBody { policy: Policy::parse(&body, "", Origin::Submitted(now))?, body }))
    .collect::<Result<Vec<_>, ebb_core::Invalid>>()?;
    let new_group = GroupRequest { tenant_id: TENANT.into(), config, launch, policies };
    let limits = ebb_core::limits::Limits::default();
    let (group, policies) = engine.create_group(new_group, limits).await.context("cannot create the demo group")?;
    let mut urls = Vec::new();
    for policy in &policies {
        let secret = ebb_api::otter::webhooks::random_hex().map_err(|err| anyhow::anyhow!("{err}"))?;
        let webhook = NewWebhook {
            name: "demo".into(),
            metadata: Default::default(),
            capability_hash: ebb_core::secret::hash(&secret),
        };
        store
            .create_webhooks(&group.tenant_id, &group.id, &policy.id, vec![webhook], limits, now)
            .await
            .context("cannot create a demo webhook")?;
        let name = policy.name().to_string();
        urls.push((name, links.capability(&secret)));
    }
    let text = format!(
        "Ebb demo: tenant {TENANT}, group {group} ({GROUP}), 2 to 10 members of `ebb demo-app` behind http://127.0.0.1:{port}/\n\
         \n\
         Send load:         for i in $(seq 2000); do curl -s -o /dev/null http://127.0.0.1:{port}/; done\n\
         Scale up by 2:     curl -X POST {up}\n\
         Scale down by 1:   curl -X POST {down}\n\
         Watch it:          EBB_TOKEN=$(cat {store_file}.operator-token) EBB_TENANT={TENANT} ebb group state {group}\n\
         Its traffic:       EBB_TOKEN=$(cat {store_file}.operator-token) EBB_TENANT={TENANT} ebb group stats {group}\n\
         Its members:       EBB_TOKEN=$(cat {store_file}.operator-token) EBB_TENANT={TENANT} ebb member list {group}\n",
        group = group.id,
        up = urls.iter().find(|(n, _)| n == "scale up").map(|(_, u)| u.as_str()).unwrap_or(""),
        down = urls.iter().find(|(n, _)| n == "scale down").map(|(_, u)| u.as_str()).unwrap_or(""),
    );
    write_private(&notes, &text)?;
    Ok(notes)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // The mode above applies only to a new file; an older one is made private too.
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .with_context(|| format!("cannot restrict {}", path.display()))?;
    file.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))
}
