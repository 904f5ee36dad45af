//! Tenants, tokens, roles and request budgets.

use reqwest::Method;
use serde_json::json;

use crate::support::{Api, OPERATOR_TOKEN, Server, group};

#[tokio::test]
async fn missing_or_unknown_tokens_are_401() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let anonymous = server.anonymous();
    anonymous.get(&api.t("/groups")).await.error(401, "InvalidCredentials");
    anonymous.get("/admin/v1/tenants").await.error(401, "InvalidCredentials");
    api.with_token("ebb_unknown").get(&api.t("/groups")).await.error(401, "InvalidCredentials");
    let bearer = anonymous
        .raw(
            Method::GET,
            &api.t("/groups"),
            None,
            &[("authorization", &format!("Bearer {}", api.token.as_deref().unwrap()))],
        )
        .await;
    bearer.ok(200);
    let basic = anonymous.raw(Method::GET, &api.t("/groups"), None, &[("authorization", "Basic abc")]).await;
    basic.error(401, "InvalidCredentials");
}

#[tokio::test]
async fn tokens_act_only_for_their_tenant_and_reveal_nothing_else() {
    let server = Server::start();
    let one = server.tenant("one").await;
    let two = server.tenant("two").await;
    let g = two.create_group(group(1, 5)).await;
    let mut intruder = one.clone();
    intruder.tenant = "two".into();
    let existing = intruder.get(&intruder.t(&format!("/groups/{g}"))).await;
    let missing = intruder.get(&intruder.t("/groups/nope")).await;
    existing.error(403, "Forbidden");
    missing.error(403, "Forbidden");
    assert_eq!(existing.body["error"]["message"], missing.body["error"]["message"], "existence is not revealed");
    intruder.get(&intruder.t("/groups")).await.error(403, "Forbidden");
    intruder.delete(&intruder.t(&format!("/groups/{g}?force=true"))).await.error(403, "Forbidden");
    let mut ghost = one.clone();
    ghost.tenant = "no-such-tenant".into();
    ghost.get(&ghost.t("/groups")).await.error(403, "Forbidden");
    two.get(&two.t(&format!("/groups/{g}"))).await.ok(200);
    // Tenant tokens cannot manage tenants.
    one.get("/admin/v1/tenants").await.error(403, "Forbidden");
    one.post("/admin/v1/tenants", json!({"id": "three"})).await.error(403, "Forbidden");
}

#[tokio::test]
async fn observer_tokens_only_read() {
    let server = Server::start();
    let admin = server.tenant("t1").await;
    let g = admin.create_group(group(0, 5)).await;
    let observer = admin.with_token(&server.token("t1", "observer").await);
    observer.get(&observer.t("/groups")).await.ok(200);
    observer.get(&observer.t(&format!("/groups/{g}/state"))).await.ok(200);
    observer.post(&observer.t("/groups"), group(0, 1)).await.error(403, "Forbidden");
    observer.post_empty(&observer.t(&format!("/groups/{g}/pause"))).await.error(403, "Forbidden");
    observer.delete(&observer.t(&format!("/groups/{g}"))).await.error(403, "Forbidden");
    assert_eq!(admin.get(&admin.t("/groups")).await.body["groups"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_operator_manages_tenants_and_tokens() {
    let server = Server::start();
    let operator = server.operator();
    let created = operator.post("/admin/v1/tenants", json!({"id": "acme"})).await;
    created.ok(201);
    assert_eq!(created.body["tenant"]["id"], "acme");
    operator.post("/admin/v1/tenants", json!({"id": "acme"})).await.error(409, "Conflict");
    for bad in [
        json!({}),
        json!({"id": ""}),
        json!({"id": "a/b"}),
        json!({"id": "x".repeat(65)}),
        json!({"id": 5}),
        json!({"id": "ok", "x": 1}),
    ] {
        operator.post("/admin/v1/tenants", bad).await.error(400, "ValidationError");
    }
    let list = operator.get("/admin/v1/tenants").await;
    assert_eq!(list.body["tenants"].as_array().unwrap().len(), 1);
    operator.post("/admin/v1/tenants/acme/tokens", json!({"role": "root"})).await.error(400, "ValidationError");
    operator.post("/admin/v1/tenants/nobody/tokens", json!({"role": "admin"})).await.error(404, "NoSuchTenantError");
    let token = operator.post("/admin/v1/tenants/acme/tokens", json!({"role": "admin"})).await;
    token.ok(201);
    let secret = token.body["token"]["secret"].as_str().unwrap();
    let id = token.body["token"]["id"].as_str().unwrap();
    let mut tenant = Api::new(&server.url, Some(secret));
    tenant.tenant = "acme".into();
    tenant.get(&tenant.t("/groups")).await.ok(200);
    operator.delete(&format!("/admin/v1/tenants/acme/tokens/{id}")).await.ok(204);
    operator.delete(&format!("/admin/v1/tenants/acme/tokens/{id}")).await.error(404, "NoSuchTokenError");
    tenant.get(&tenant.t("/groups")).await.error(401, "InvalidCredentials");
    // The operator may act for any tenant.
    let mut as_operator = Api::new(&server.url, Some(OPERATOR_TOKEN));
    as_operator.tenant = "acme".into();
    as_operator.create_group(group(0, 1)).await;
    let mut unknown = as_operator.clone();
    unknown.tenant = "nobody".into();
    unknown.post(&unknown.t("/groups"), group(0, 1)).await.error(404, "NoSuchTenantError");
}

#[tokio::test]
async fn a_generated_operator_token_is_written_with_mode_0600_and_never_logged() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("ebb.db");
    let mut child = std::process::Command::new(crate::support::ebb_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--store", &format!("sqlite://{}", store.display())])
        .env_remove("EBB_OPERATOR_TOKEN")
        .env("EBB_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap().to_string();
    let token_file = dir.path().join("ebb.db.operator-token");
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let token = std::fs::read_to_string(&token_file).unwrap().trim().to_string();
    Api::new(&url, Some(&token)).get("/admin/v1/tenants").await.ok(200);
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("ebb.db.operator-token"), "the log says where the token is: {log}");
    assert!(!log.contains(&token), "the token itself is never logged");
}

#[tokio::test]
async fn tenant_requests_over_budget_get_429_with_retry_after() {
    let server = Server::start_with(&["--tenant-requests-per-minute", "5"]);
    let api = server.tenant("t1").await;
    let other = server.tenant("t2").await;
    for _ in 0..5 {
        api.get(&api.t("/groups")).await.ok(200);
    }
    let limited = api.get(&api.t("/groups")).await;
    limited.error(429, "RateLimited");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "retry-after {retry}");
    other.get(&other.t("/groups")).await.ok(200);
}

#[tokio::test]
async fn capability_requests_over_budget_get_429() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 100)).await;
    let p = api.create_policy(&g, crate::support::change(1)).await;
    let (_, capability) = api.create_webhook(&g, &p).await;
    let anonymous = server.anonymous();
    let statuses = futures::future::join_all((0..15).map(|_| anonymous.post_empty(&capability))).await;
    let accepted = statuses.iter().filter(|r| r.status == 202).count();
    let limited: Vec<_> = statuses.iter().filter(|r| r.status == 429).collect();
    assert!((10..15).contains(&accepted), "10 a second are accepted, got {accepted}");
    limited[0].error(429, "RateLimited");
    assert!(limited[0].header("retry-after").is_some());
}
