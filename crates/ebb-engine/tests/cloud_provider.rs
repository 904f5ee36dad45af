//! The cloud provider against a real mimic. Identity: authentication with an API key or a
//! password, the service catalog and its endpoints by region, the token kept while usable,
//! authentication again once it expires or a service rejects it, and identity's refusal as an
//! error a user can act on, with no secret in it. Nova: servers created with Otter's names and
//! metadata, listed by group, deleted and seen gone, and Nova's refusal in its own words. Cloud
//! Load Balancers: nodes added, drained and removed, and a missing load balancer said so.
//!
//! mimic is installed by `.ci/run` in `.ci/.mimic` (or wherever `EBB_MIMIC` names its
//! `twistd`); without it the test is skipped, unless `CI` is set.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use ebb_core::cloud::clb::NewNode;
use ebb_core::cloud::identity::{Credentials, Secret};
use ebb_core::cloud::nova;
use ebb_engine::clock::{Clock, SystemClock};
use ebb_engine::provider::cloud::clb::Clb;
use ebb_engine::provider::cloud::identity::{Identity, IdentityError};
use ebb_engine::provider::cloud::nova::Nova;
use ebb_engine::provider::cloud::{CloudError, Service};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

/// A mimic process, killed when dropped.
struct Mimic {
    child: Child,
    url: String,
}

impl Drop for Mimic {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn mimic() -> Option<Mimic> {
    let twistd = std::env::var("EBB_MIMIC")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../.ci/.mimic/bin/twistd").to_string());
    if !std::path::Path::new(&twistd).exists() {
        assert!(std::env::var_os("CI").is_none(), "CI needs mimic at {twistd} (.ci/run installs it)");
        eprintln!("skipped: no mimic at {twistd}");
        return None;
    }
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(&twistd)
        .args(["-n", "--pidfile=", "mimic", "--listen", &format!("tcp:{port}:interface=127.0.0.1"), "--realtime"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mimic = Mimic { child, url: format!("http://127.0.0.1:{port}") };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Some(mimic);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("mimic did not listen on {port}");
}

fn credentials(mimic: &Mimic, username: &str, secret: Secret) -> Credentials {
    Credentials {
        identity_url: format!("{}/identity/v2.0", mimic.url),
        username: username.into(),
        secret,
        project_id: Some("123456".into()),
        region: "ORD".into(),
    }
}

#[tokio::test]
async fn a_tenant_authenticates_reads_its_catalog_and_authenticates_again_when_it_must() {
    let Some(mimic) = mimic().await else { return };
    let http = reqwest::Client::new();
    let identity = Identity::new(http.clone(), credentials(&mimic, "autoscale", Secret::ApiKey("k3y-s3cret".into())));
    let now = Timestamp::now();
    let access = identity.access(now).await.unwrap();
    assert_eq!(access.tenant, "123456", "the pinned project");
    let nova = access.endpoint("compute", "cloudServersOpenStack", "ORD").unwrap();
    assert!(nova.starts_with(&mimic.url) && nova.contains("/ORD/") && nova.ends_with("/123456"), "{nova}");
    assert!(access.endpoint("rax:load-balancer", "cloudLoadBalancers", "ORD").is_ok());
    assert!(access.endpoint("rax:rackconnect", "rackconnect", "ORD").is_ok());
    // The endpoint answers with the token.
    let flavors = http.get(format!("{nova}/flavors")).header("X-Auth-Token", &access.token).send().await.unwrap();
    assert!(flavors.status().is_success(), "{}", flavors.status());

    // Kept while usable; a rejection or the end of its life means authenticating again.
    assert_eq!(identity.authentications(), 1);
    assert_eq!(identity.access(now).await.unwrap().token, access.token);
    assert_eq!(identity.authentications(), 1, "kept");
    identity.rejected(&access.token).await;
    let again = identity.access(now).await.unwrap();
    assert_eq!(identity.authentications(), 2, "rejected, so asked again");
    identity.rejected("some other token").await;
    identity.access(now).await.unwrap();
    assert_eq!(identity.authentications(), 2, "a stale rejection changes nothing");
    identity.access(again.expires - SignedDuration::from_mins(1)).await.unwrap();
    assert_eq!(identity.authentications(), 3, "a token about to expire is replaced");

    // A password works as well as a key.
    let password = Identity::new(http.clone(), credentials(&mimic, "autoscale", Secret::Password("pw".into())));
    assert_eq!(password.access(now).await.unwrap().tenant, "123456");
}

#[tokio::test]
async fn identitys_refusal_and_absence_are_errors_a_user_can_act_on() {
    let Some(mimic) = mimic().await else { return };
    let http = reqwest::Client::new();
    // mimic refuses users named bad-… from now on.
    let behavior = json!({"criteria": [{"username": "bad.*"}], "name": "fail",
        "parameters": {"code": 401, "message": "Unable to authenticate user with credentials provided."}});
    let made =
        http.post(format!("{}/mimic/v1.1/IdentityControlAPI/behaviors/auth", mimic.url)).json(&behavior).send().await;
    assert!(made.unwrap().status().is_success());
    let refused = Identity::new(http.clone(), credentials(&mimic, "bad-user", Secret::ApiKey("wrong-k3y".into())));
    let err = refused.access(Timestamp::now()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "identity refused the credentials of user bad-user (401): Unable to authenticate user with credentials provided."
    );
    assert!(!err.transient() && !format!("{err:?}").contains("wrong-k3y"));

    let nowhere = Credentials {
        identity_url: format!("http://127.0.0.1:{}/identity/v2.0", free_port()),
        ..credentials(&mimic, "u", Secret::ApiKey("k".into()))
    };
    let err = Identity::new(http, nowhere).access(Timestamp::now()).await.unwrap_err();
    assert!(matches!(err, IdentityError::Unavailable(_)) && err.transient(), "{err}");
}

#[tokio::test]
async fn nova_creates_lists_by_group_and_deletes_servers_and_says_why_it_refuses() {
    let Some(mimic) = mimic().await else { return };
    let http = reqwest::Client::new();
    let identity = Arc::new(Identity::new(http.clone(), credentials(&mimic, "autoscale", Secret::ApiKey("k".into()))));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let nova = Nova::new(http.clone(), identity.clone(), clock);
    let launch = json!({"name": "web", "flavorRef": "2", "imageRef": "3cfb8a2e-0a0c-4f5c-8d1e-0f2d7b3f1a11",
        "metadata": {"team": "blue"}});
    let mut ids = Vec::new();
    for random in [[1, 2, 3, 4], [5, 6, 7, 8]] {
        let name = nova::server_name(Some("web"), random);
        ids.push(nova.create(&nova::create_body(&launch, "g1", &name, &[])).await.unwrap());
    }
    let other = nova::create_body(&launch, "g2", &nova::server_name(Some("web"), [9, 9, 9, 9]), &[]);
    nova.create(&other).await.unwrap();
    let mine = nova.servers("g1").await.unwrap();
    let mut names: Vec<&str> = mine.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["web-as01020304", "web-as05060708"], "only g1's, named by Otter's formula");
    assert!(mine.iter().all(|s| s.status == "ACTIVE" && s.metadata["team"] == "blue"));
    assert!(mine.iter().all(|s| s.servicenet.as_deref().is_some_and(|a| a.starts_with("10."))), "{mine:?}");

    nova.delete(&ids[0]).await.unwrap();
    assert!(nova.gone(&ids[0]).await.unwrap());
    assert!(!nova.gone(&ids[1]).await.unwrap());
    assert_eq!(nova.servers("g1").await.unwrap().len(), 1);
    nova.delete(&ids[0]).await.unwrap();

    // A rejected token: authenticated again, the call made once more.
    let token = identity.access(jiff::Timestamp::now()).await.unwrap().token;
    identity.rejected(&token).await;
    assert_eq!(nova.servers("g1").await.unwrap().len(), 1);

    // mimic refuses servers named bad-…: Nova's own words, for the user.
    let access = identity.access(jiff::Timestamp::now()).await.unwrap();
    let control = access.endpoint("compute", "cloudServersBehavior", "ORD").unwrap().to_string();
    let behavior = json!({"criteria": [{"server_name": "bad.*"}], "name": "fail",
        "parameters": {"code": 400, "message": "Invalid imageRef provided.", "type": "badRequest"}});
    let made = http
        .post(format!("{control}/behaviors/creation"))
        .header("X-Auth-Token", &access.token)
        .json(&behavior)
        .send()
        .await;
    assert!(made.unwrap().status().is_success());
    let refused = nova.create(&nova::create_body(&launch, "g1", "bad-as00000000", &[])).await.unwrap_err();
    assert_eq!(
        refused,
        CloudError::Refused { service: "Nova", status: 400, message: "Invalid imageRef provided.".into() }
    );
    assert_eq!(refused.to_string(), "Nova refused the request (400): Invalid imageRef provided.");
}

#[tokio::test]
async fn load_balancer_nodes_are_added_drained_and_removed() {
    let Some(mimic) = mimic().await else { return };
    let http = reqwest::Client::new();
    let identity = Arc::new(Identity::new(http.clone(), credentials(&mimic, "autoscale", Secret::ApiKey("k".into()))));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let clb = Clb::new(http.clone(), identity.clone(), clock);
    // A load balancer of the tenant's, made directly.
    let access = identity.access(Timestamp::now()).await.unwrap();
    let base = access.endpoint("rax:load-balancer", "cloudLoadBalancers", "ORD").unwrap().to_string();
    let made = http
        .post(format!("{base}/loadbalancers"))
        .header("X-Auth-Token", &access.token)
        .json(&json!({"loadBalancer": {"name": "web", "protocol": "HTTP", "port": 80, "virtualIps": [{"type": "PUBLIC"}]}}))
        .send()
        .await
        .unwrap();
    let lb = made.json::<serde_json::Value>().await.unwrap()["loadBalancer"]["id"].as_u64().unwrap();
    assert_eq!(clb.status(lb).await.unwrap(), "ACTIVE");

    let node = |address: &str, condition: &str| NewNode {
        address: address.into(),
        port: 8080,
        condition: condition.into(),
        weight: Some(1),
    };
    let added = clb.add(lb, &[node("10.180.0.1", "ENABLED"), node("10.180.0.2", "DRAINING")]).await.unwrap();
    assert_eq!(added.len(), 2);
    let nodes = clb.nodes(lb).await.unwrap();
    let conditions: Vec<(&str, &str)> = nodes.iter().map(|n| (n.address.as_str(), n.condition.as_str())).collect();
    assert_eq!(conditions, [("10.180.0.1", "ENABLED"), ("10.180.0.2", "DRAINING")]);
    let first = nodes[0].id;
    clb.set_condition(lb, first, "DRAINING").await.unwrap();
    assert!(clb.nodes(lb).await.unwrap().iter().all(|n| n.condition == "DRAINING"));
    clb.remove(lb, &[first]).await.unwrap();
    let left = clb.nodes(lb).await.unwrap();
    assert_eq!(left.iter().map(|n| n.address.as_str()).collect::<Vec<_>>(), ["10.180.0.2"]);

    let missing = clb.nodes(999_999).await.unwrap_err();
    assert_eq!(missing.to_string(), "Cloud Load Balancers refused the request (404): Load balancer not found");
}

#[tokio::test]
async fn a_service_that_rejects_the_token_is_called_again_with_a_new_one() {
    let Some(mimic) = mimic().await else { return };
    // A service of the tenant's catalog that refuses the first call as an expired token would
    // be refused, and answers the next: registered in mimic's catalog, served here.
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    let app = axum::Router::new().route(
        "/v1/{tenant}/thing",
        axum::routing::get(move || {
            let counted = counted.clone();
            async move {
                match counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                    0 => (
                        axum::http::StatusCode::UNAUTHORIZED,
                        axum::Json(json!({"unauthorized": {"message": "token expired"}})),
                    ),
                    _ => (axum::http::StatusCode::OK, axum::Json(json!({"thing": "yes"}))),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service_url = format!("http://{}/v1/%tenant_id%", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let identity = Arc::new(Identity::new(http.clone(), credentials(&mimic, "autoscale", Secret::ApiKey("k".into()))));
    let admin = identity.access(Timestamp::now()).await.unwrap().token;
    let identity_url = format!("{}/identity/v2.0", mimic.url);
    let made = http
        .post(format!("{identity_url}/services"))
        .header("X-Auth-Token", &admin)
        .json(&json!({"name": "thingService", "type": "rax:thing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let template = json!({"id": "thing", "region": "ORD", "type": "rax:thing", "name": "thingService", "enabled": true,
        "publicURL": service_url});
    let made = http
        .post(format!("{identity_url}/OS-KSCATALOG/endpointTemplates"))
        .header("X-Auth-Token", &admin)
        .json(&template)
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    // A fresh identity, so that its catalog has the new service.
    let identity = Arc::new(Identity::new(http.clone(), credentials(&mimic, "autoscale", Secret::ApiKey("k".into()))));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let service = Service::new(http, identity.clone(), clock, "Thing", ("rax:thing", "thingService"));

    let (status, answer) = service.call(reqwest::Method::GET, "/thing", None).await.unwrap();
    assert_eq!((status.as_u16(), answer), (200, json!({"thing": "yes"})));
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2, "called again after the 401");
    assert_eq!(identity.authentications(), 2, "with a new authentication");
}
