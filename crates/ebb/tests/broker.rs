//! The service broker end to end against the real binary: the Open Service Broker API v2
//! with its own credentials, a service instance's default policy, bindings that attach groups
//! with their own policy or the default, and which groups a change of the default reaches.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{Api, Options, Reply, Server, basic, group};

const VERSION: (&str, &str) = ("x-broker-api-version", "2.17");

/// A client of the broker, as a platform is: HTTP Basic and the API version on every request.
struct Broker {
    api: Api,
    auth: String,
    service: String,
    plan: String,
}

impl Broker {
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let body = body.map(|b| b.to_string().into_bytes());
        self.api.raw(method, path, body, &[("authorization", &self.auth), VERSION]).await
    }

    async fn provision(&self, id: &str, parameters: Value) -> Reply {
        let body = json!({"service_id": self.service, "plan_id": self.plan, "organization_guid": "org",
            "space_guid": "space", "parameters": parameters});
        self.send(Method::PUT, &format!("/v2/service_instances/{id}"), Some(body)).await
    }

    async fn update(&self, id: &str, parameters: Value) -> Reply {
        let body = json!({"service_id": self.service, "parameters": parameters});
        self.send(Method::PATCH, &format!("/v2/service_instances/{id}"), Some(body)).await
    }

    async fn bind(&self, instance: &str, binding: &str, app: &str, parameters: Option<Value>) -> Reply {
        let mut body = json!({"service_id": self.service, "plan_id": self.plan, "bind_resource": {"app_guid": app}});
        if let Some(parameters) = parameters {
            body["parameters"] = parameters;
        }
        self.send(Method::PUT, &format!("/v2/service_instances/{instance}/service_bindings/{binding}"), Some(body))
            .await
    }

    async fn unbind(&self, instance: &str, binding: &str) -> Reply {
        let query = format!("service_id={}&plan_id={}", self.service, self.plan);
        let path = format!("/v2/service_instances/{instance}/service_bindings/{binding}?{query}");
        self.send(Method::DELETE, &path, None).await
    }

    async fn deprovision(&self, instance: &str) -> Reply {
        let query = format!("service_id={}&plan_id={}", self.service, self.plan);
        self.send(Method::DELETE, &format!("/v2/service_instances/{instance}?{query}"), None).await
    }
}

fn broker_server() -> Server {
    Server::start_options(Options {
        env: vec![
            ("EBB_BROKER_USERNAME".to_string(), "platform".to_string()),
            ("EBB_BROKER_PASSWORD".to_string(), "broker-secret".to_string()),
        ],
        ..Options::default()
    })
}

async fn broker(server: &Server) -> Broker {
    let mut broker = Broker {
        api: server.anonymous(),
        auth: basic("platform", "broker-secret"),
        service: String::new(),
        plan: String::new(),
    };
    let catalog = broker.send(Method::GET, "/v2/catalog", None).await;
    catalog.ok(200);
    let service = &catalog.body["services"][0];
    assert_eq!((service["name"].as_str(), service["bindable"].as_bool()), (Some("autoscaler"), Some(true)));
    broker.service = service["id"].as_str().unwrap().to_string();
    broker.plan = service["plans"][0]["id"].as_str().unwrap().to_string();
    broker
}

/// A policy whose bounds tell it apart, with a rule on a custom metric.
fn policy(min: i64, max: i64) -> Value {
    json!({"instance_min_count": min, "instance_max_count": max, "scaling_rules": [
        {"metric_type": "queue_length", "threshold": 100, "operator": ">", "adjustment": "+1"}]})
}

#[track_caller]
fn broker_error(reply: &Reply, status: u16, error: Option<&str>, description: &str) {
    reply.ok(status);
    assert_eq!(reply.body["error"].as_str(), error, "body: {}", reply.text);
    let said = reply.body["description"].as_str().unwrap_or_default();
    assert!(said.contains(description), "{description:?} not in {}", reply.text);
}

/// A group's Cloud Foundry policy's bounds, or `None` without one.
async fn bounds(api: &Api, group: &str) -> Option<(i64, i64)> {
    let reply = api.get(&format!("/v1/apps/{group}/policy")).await;
    if reply.status == 404 {
        return None;
    }
    reply.ok(200);
    Some((reply.body["instance_min_count"].as_i64().unwrap(), reply.body["instance_max_count"].as_i64().unwrap()))
}

#[tokio::test]
async fn the_broker_answers_only_the_platform_with_its_credentials() {
    let off = Server::start();
    let anonymous = off.anonymous();
    let someone = basic("a", "b");
    let reply = anonymous.raw(Method::GET, "/v2/catalog", None, &[("authorization", &someone), VERSION]).await;
    broker_error(&reply, 404, None, "the service broker is not enabled");

    let server = broker_server();
    let anonymous = server.anonymous();
    broker_error(&anonymous.raw(Method::GET, "/v2/catalog", None, &[VERSION]).await, 401, None, "Unauthorized");
    let wrong_password = basic("platform", "x");
    let wrong = anonymous.raw(Method::GET, "/v2/catalog", None, &[("authorization", &wrong_password), VERSION]).await;
    broker_error(&wrong, 401, None, "Unauthorized");
    assert!(wrong.header("www-authenticate").is_some_and(|v| v.starts_with("Basic")));
    let tenant = server.tenant("t1").await;
    let as_tenant = tenant.raw(Method::GET, "/v2/catalog", None, &[VERSION]).await;
    broker_error(&as_tenant, 401, None, "Unauthorized");
    let auth = basic("platform", "broker-secret");
    let unversioned = anonymous.raw(Method::GET, "/v2/catalog", None, &[("authorization", &auth)]).await;
    broker_error(&unversioned, 412, None, "X-Broker-API-Version Header not set");
    let old_version = [("authorization", auth.as_str()), ("x-broker-api-version", "1.0")];
    broker_error(&anonymous.raw(Method::GET, "/v2/catalog", None, &old_version).await, 412, None, "must be 2.x");
    // The platform's errors: unknown catalog ids, bad bodies, a bad default policy.
    let broker = broker(&server).await;
    let unknown_plan =
        json!({"service_id": broker.service, "plan_id": "nope", "organization_guid": "o", "space_guid": "s"});
    let reply = broker.send(Method::PUT, "/v2/service_instances/x", Some(unknown_plan)).await;
    broker_error(&reply, 400, None, "unknown plan_id");
    let reply = broker.send(Method::PUT, "/v2/service_instances/x", Some(json!({"service_id": 1}))).await;
    broker_error(&reply, 400, None, "request body");
    // Cloud Foundry's integration fixture: an invalid default policy is a 400, and nothing is made.
    let invalid =
        broker.provision("x", json!({"default_policy": {"instance_min_count": 10, "instance_max_count": 4}})).await;
    broker_error(
        &invalid,
        400,
        Some("InvalidPolicy"),
        "invalid policy provided: [{\"context\":\"(root)\",\"description\":\"Must validate at least one schema (anyOf)\"}",
    );
    broker_error(
        &broker.update("x", json!({"default_policy": policy(1, 2)})).await,
        404,
        None,
        "no such service instance",
    );
    broker.deprovision("x").await.ok(410);
}

#[tokio::test]
async fn a_default_policy_reaches_the_groups_that_follow_it_and_not_those_with_their_own() {
    let server = broker_server();
    let broker = broker(&server).await;
    let api = server.tenant("t1").await;
    let (a, b) = (api.create_group(group(1, 10)).await, api.create_group(group(1, 10)).await);

    broker.provision("si", json!({"default_policy": policy(2, 4)})).await.ok(201);
    broker.provision("si", json!({"default_policy": policy(2, 4)})).await.ok(200);
    broker.provision("si", json!({"default_policy": policy(2, 5)})).await.ok(409);

    // a is bound without a policy: it gets the default. b is bound with its own.
    let bound = broker.bind("si", "bind-a", &a, None).await;
    bound.ok(201);
    assert_eq!(bounds(&api, &a).await, Some((2, 4)));
    let config = api.get(&api.t(&format!("/groups/{a}/config"))).await;
    let configured = &config.body["groupConfiguration"];
    assert_eq!((&configured["minEntities"], &configured["maxEntities"]), (&json!(2), &json!(4)));
    broker.bind("si", "bind-b", &b, Some(policy(1, 6))).await.ok(201);
    assert_eq!(bounds(&api, &b).await, Some((1, 6)));

    // The binding's credentials submit the group's custom metrics.
    let credentials = &bound.body["credentials"]["custom_metrics"];
    let (user, password) = (credentials["username"].as_str().unwrap(), credentials["password"].as_str().unwrap());
    let url = credentials["url"].as_str().unwrap();
    let sample = json!({"instance_index": 0, "metrics": [{"name": "queue_length", "value": 7}]}).to_string();
    let submit = |user: String, password: String| {
        let (anonymous, body, path) = (server.anonymous(), sample.clone(), format!("{url}/v1/apps/{a}/metrics"));
        async move {
            let auth = basic(&user, &password);
            anonymous.raw(Method::POST, &path, Some(body.into_bytes()), &[("authorization", &auth)]).await
        }
    };
    submit(user.into(), password.into()).await.ok(200);

    // One binding per group; the same binding again is answered again, with a new credential.
    let twice = broker.bind("si", "bind-a2", &a, None).await;
    broker_error(&twice, 409, None, "Multiple bindings are not supported");
    let again = broker.bind("si", "bind-a", &a, None).await;
    again.ok(200);
    let renewed = &again.body["credentials"]["custom_metrics"];
    submit(user.into(), password.into()).await.ok(401);
    submit(renewed["username"].as_str().unwrap().into(), renewed["password"].as_str().unwrap().into()).await.ok(200);

    // The default changes: a follows, b keeps its own.
    broker.update("si", json!({"default_policy": policy(3, 7)})).await.ok(200);
    assert_eq!(bounds(&api, &a).await, Some((3, 7)));
    assert_eq!(bounds(&api, &b).await, Some((1, 6)));
    // Set explicitly, even to the default's content, a's policy is its own from then on.
    api.put(&format!("/v1/apps/{a}/policy"), policy(3, 7)).await.ok(200);
    broker.update("si", json!({"default_policy": policy(2, 8)})).await.ok(200);
    assert_eq!(bounds(&api, &a).await, Some((3, 7)));
    // Deleting its own policy gives it the default again, which it then follows.
    api.delete(&format!("/v1/apps/{a}/policy")).await.ok(200);
    assert_eq!(bounds(&api, &a).await, Some((2, 8)));
    broker.update("si", json!({"default_policy": policy(1, 9)})).await.ok(200);
    assert_eq!(bounds(&api, &a).await, Some((1, 9)));
    // An update without default_policy changes nothing; `{}` removes the default and the
    // policies that came from it.
    broker.update("si", json!({})).await.ok(200);
    assert_eq!(bounds(&api, &a).await, Some((1, 9)));
    broker.update("si", json!({"default_policy": {}})).await.ok(200);
    assert_eq!(bounds(&api, &a).await, None);
    assert_eq!(bounds(&api, &b).await, Some((1, 6)));
    // The group kept the bounds it had, and its members.
    let config = api.get(&api.t(&format!("/groups/{a}/config"))).await;
    assert_eq!(config.body["groupConfiguration"]["maxEntities"], 9);

    // No deprovisioning while bound; unbinding removes the group's policy and credential.
    broker_error(&broker.deprovision("si").await, 422, None, "still has bindings");
    let b_credential = broker.bind("si", "bind-b", &b, Some(policy(1, 6))).await;
    b_credential.ok(200);
    broker.unbind("si", "bind-b").await.ok(200);
    assert_eq!(bounds(&api, &b).await, None);
    let gone = &b_credential.body["credentials"]["custom_metrics"];
    let anonymous = server.anonymous();
    let revoked = basic(gone["username"].as_str().unwrap(), gone["password"].as_str().unwrap());
    let path = format!("/v1/apps/{b}/metrics");
    let headers = [("authorization", revoked.as_str())];
    let b_sample = anonymous.raw(Method::POST, &path, Some(sample.clone().into_bytes()), &headers).await;
    b_sample.ok(401);
    broker.unbind("si", "bind-b").await.ok(410);
    broker.unbind("si", "bind-a").await.ok(200);
    broker.deprovision("si").await.ok(200);
    broker.deprovision("si").await.ok(410);
    // Both groups are still there, unbound: they may be bound again elsewhere.
    broker.provision("si2", json!({})).await.ok(201);
    broker.bind("si2", "bind-a3", &a, None).await.ok(201);
    assert_eq!(bounds(&api, &a).await, None, "an instance without a default gives no policy");
}

#[tokio::test]
async fn a_bind_names_an_existing_group_and_a_valid_policy() {
    let server = broker_server();
    let broker = broker(&server).await;
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 10)).await;
    broker.provision("si", json!({})).await.ok(201);
    broker_error(&broker.bind("nope", "b", &g, None).await, 404, None, "no such service instance");
    broker_error(&broker.bind("si", "b", "no-such-group", None).await, 400, None, "names no scaling group");
    // Cloud Foundry's acceptance fixture: the adjustment "+a1".
    let mut invalid = policy(1, 4);
    invalid["scaling_rules"][0]["adjustment"] = json!("+a1");
    let reply = broker.bind("si", "b", &g, Some(invalid)).await;
    broker_error(
        &reply,
        400,
        Some("InvalidPolicy"),
        r#"{"context":"(root).scaling_rules.0.adjustment","description":"Does not match pattern '^[-+][1-9]+[0-9]*%?$'"}"#,
    );
    let body = json!({"service_id": broker.service, "plan_id": broker.plan});
    let reply = broker.send(Method::PUT, "/v2/service_instances/si/service_bindings/b", Some(body)).await;
    broker_error(&reply, 422, Some("RequiresApp"), "binding an application");
    assert_eq!(bounds(&api, &g).await, None, "nothing was attached");
    // `credential-type` is the platform's and not part of the policy; only secrets are offered.
    let mut typed = policy(1, 4);
    typed["credential-type"] = json!("x509");
    broker_error(&broker.bind("si", "b", &g, Some(typed.clone())).await, 400, None, "credential-type");
    typed["credential-type"] = json!("binding-secret");
    broker.bind("si", "b", &g, Some(typed)).await.ok(201);
    assert_eq!(bounds(&api, &g).await, Some((1, 4)));
}
