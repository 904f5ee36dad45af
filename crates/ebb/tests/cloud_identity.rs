//! Identity tokens on the API: a tenant whose cloud settings accept them takes tokens its
//! identity endpoint issued for its cloud project, as its admin, so that Rackspace clients
//! configured the usual way drive Ebb unchanged — shown with a real mimic, and with pyrax
//! finding Ebb through an `rax:autoscale` entry of mimic's service catalog.

mod support;

use serde_json::{Value, json};
use support::mimic::Mimic;
use support::{Api, Server};

/// Authenticates `username` (no project pinned) with mimic: its token and cloud project.
async fn authenticate(mimic: &Mimic, username: &str) -> (String, String) {
    let access = mimic.authenticate(username, None).await;
    let token = &access["access"]["token"];
    (token["id"].as_str().unwrap().to_string(), token["tenant"]["id"].as_str().unwrap().to_string())
}

/// An Ebb tenant named as the cloud project of `username`, with cloud settings of that
/// project; its id.
async fn tenant_of(server: &Server, mimic: &Mimic, username: &str, accept: bool) -> String {
    let (_, project) = authenticate(mimic, username).await;
    server.tenant(&project).await;
    let settings = json!({"identity_url": mimic.identity_url(), "username": "ebb-service", "api_key": "k",
        "region": "ORD", "project_id": project, "accept_identity_tokens": accept});
    server.operator().put(&format!("/admin/v1/tenants/{project}/cloud"), settings).await.ok(200);
    project
}

#[tokio::test]
async fn identity_tokens_of_the_tenants_project_act_for_it_once_accepted() {
    let server = Server::start();
    let Some(mimic) = Mimic::start().await else { return };
    let project = tenant_of(&server, &mimic, "alice", false).await;
    let (token, _) = authenticate(&mimic, "alice").await;
    let mut api = Api::new(&server.url, Some(&token));
    api.tenant = project.clone();
    let groups = api.t("/groups");

    // Not accepted until the settings say so.
    api.get(&groups).await.error(401, "InvalidCredentials");
    let path = format!("/admin/v1/tenants/{project}/cloud");
    let mut settings = json!({"identity_url": mimic.identity_url(), "username": "ebb-service", "api_key": "k",
        "region": "ORD", "project_id": project, "accept_identity_tokens": true});
    server.operator().put(&path, settings.clone()).await.ok(200);
    api.get(&groups).await.ok(200);
    let body = json!({"groupConfiguration": {"name": "g", "cooldown": 0, "minEntities": 0, "maxEntities": 2},
        "launchConfiguration": support::launch_server()});
    api.post(&groups, body).await.ok(201);

    // Another project's token, a token identity never issued, and another tenant's path: refused.
    let (stranger, _) = authenticate(&mimic, "mallory").await;
    api.with_token(&stranger).get(&groups).await.error(401, "InvalidCredentials");
    api.with_token("not-a-token-of-anyones").get(&groups).await.error(401, "InvalidCredentials");
    let other = server.tenant("other").await;
    api.get(&other.t("/groups")).await.error(401, "InvalidCredentials");

    // Tokens nobody issued cost identity at most ten calls a second for the tenant: beyond,
    // 429 with Retry-After; a refusal is remembered, so the same token again is a 401 at once.
    let invented: Vec<String> = (0..15).map(|i| format!("invented-token-{i}")).collect();
    let replies = futures::future::join_all(invented.iter().map(|t| {
        let api = api.with_token(t);
        let groups = groups.clone();
        async move { api.get(&groups).await }
    }))
    .await;
    let limited: Vec<_> = replies.iter().filter(|r| r.status == 429).collect();
    assert!(!limited.is_empty(), "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(limited.iter().all(|r| r.header("retry-after").is_some()));
    assert!(replies.iter().all(|r| r.status == 429 || r.status == 401));
    let refused = replies.iter().position(|r| r.status == 401).unwrap();
    api.with_token(&invented[refused]).get(&groups).await.error(401, "InvalidCredentials");

    // Taken back: refused again (a cached acceptance does not outlive the settings).
    settings["accept_identity_tokens"] = json!(false);
    server.operator().put(&path, settings).await.ok(200);
    api.get(&groups).await.error(401, "InvalidCredentials");
    assert!(!server.log().contains(&token), "the token is never logged");
}

/// The Python of the virtualenv `.ci/run` installs pyrax in (or `EBB_PYRAX`), if present.
fn pyrax_python() -> Option<String> {
    let python = std::env::var("EBB_PYRAX")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../.ci/.pyrax/bin/python").to_string());
    if std::path::Path::new(&python).exists() {
        return Some(python);
    }
    assert!(std::env::var_os("CI").is_none(), "CI needs pyrax at {python} (.ci/run installs it)");
    eprintln!("skipped: no pyrax at {python}");
    None
}

#[tokio::test]
async fn pyrax_finds_ebb_in_the_catalog_and_drives_it_with_its_identity_token() {
    let Some(python) = pyrax_python() else { return };
    let server = Server::start_with(&["--cloud-create-interval", "0", "--cloud-retry-interval", "0.2"]);
    let Some(mimic) = Mimic::start().await else { return };
    let project = tenant_of(&server, &mimic, "bob", true).await;

    // Ebb as the catalog's Auto Scale, for every project (mimic's identity admin API).
    let (admin, _) = authenticate(&mimic, "identity-admin").await;
    let http = reqwest::Client::new();
    let service = json!({"name": "autoscale", "type": "rax:autoscale"});
    let made = http.post(format!("{}/services", mimic.identity_url())).header("X-Auth-Token", &admin).json(&service);
    assert_eq!(made.send().await.unwrap().status(), 201);
    let template = json!({"id": "ebb-autoscale", "region": "ORD", "type": "rax:autoscale", "name": "autoscale",
        "enabled": true, "publicURL": format!("{}/v1.0/%tenant_id%", server.url)});
    let made = http
        .post(format!("{}/OS-KSCATALOG/endpointTemplates", mimic.identity_url()))
        .header("X-Auth-Token", &admin)
        .json(&template);
    let answer = made.send().await.unwrap();
    assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap());

    let output = std::process::Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/pyrax_drive.py"))
        .args([&format!("{}/", mimic.identity_url()), "bob", "key", "ORD", "3cfb8a2e-0a0c-4f5c-8d1e-0f2d7b3f1a11"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(seen["tenant"], project.as_str());
    assert_eq!(seen["endpoint"], format!("{}/v1.0/{project}", server.url));
    assert_eq!(seen["desired"], 2);
    let group = seen["group"].as_str().unwrap();
    assert_eq!(seen["groups"], json!([group]));

    // The group pyrax made is Ebb's, and its servers are real in the project.
    let operator = server.operator();
    let state = operator.get(&format!("/v1.0/{project}/groups/{group}/state")).await;
    assert_eq!(state.body["group"]["desiredCapacity"], 2);
    let observer = mimic.project_of(&project).await;
    assert!(
        support::eventually(30, || async { observer.servers_of(group).await.len() == 2 }).await,
        "two servers in Nova"
    );
    let names: Vec<String> =
        observer.servers_of(group).await.iter().map(|s| s["name"].as_str().unwrap().to_string()).collect();
    assert!(names.iter().all(|n| n.starts_with("pyrax-as")), "{names:?}");
}
