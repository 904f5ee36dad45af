//! Bad input of every kind gets the documented JSON error, never a 500, and changes nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Server, group};

#[tokio::test]
async fn malformed_bodies_are_400_and_change_nothing() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(1, 5)).await;
    let config = api.t(&format!("/groups/{g}/config"));
    let before = api.get(&api.t(&format!("/groups/{g}"))).await.body;
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bodies: Vec<(Vec<u8>, &str)> = vec![
        (b"{".to_vec(), "InvalidJsonError"),
        (b"".to_vec(), "InvalidJsonError"),
        (b"not json".to_vec(), "InvalidJsonError"),
        (vec![b'"', 0xff, 0xfe, b'"'], "InvalidJsonError"),
        (nested.into_bytes(), "InvalidJsonError"),
        (b"1e400".to_vec(), "InvalidJsonError"),
        (br#"{"name": "w", "cooldown": 1e400, "minEntities": 0, "maxEntities": 1, "metadata": {}}"#.to_vec(), "InvalidJsonError"),
        (br#"{"name": "w", "cooldown": 99999999999999999999999, "minEntities": 0, "maxEntities": 1, "metadata": {}}"#.to_vec(), "ValidationError"),
        (br#"{"name": "w", "cooldown": 0, "minEntities": 18446744073709551615, "maxEntities": 1, "metadata": {}}"#.to_vec(), "ValidationError"),
        (br#"{"name": 5, "cooldown": 0, "minEntities": 0, "maxEntities": 1, "metadata": {}}"#.to_vec(), "ValidationError"),
        (br#"{"name": "w", "cooldown": 0, "minEntities": 0, "maxEntities": 1, "metadata": {}, "x": 1}"#.to_vec(), "ValidationError"),
        (b"[]".to_vec(), "ValidationError"),
        (b"null".to_vec(), "ValidationError"),
    ];
    for (body, kind) in bodies {
        let reply = api.raw(Method::PUT, &config, Some(body.clone()), &[]).await;
        assert_eq!(
            reply.status,
            400,
            "body {:?}: {}",
            String::from_utf8_lossy(&body[..body.len().min(60)]),
            reply.text
        );
        reply.error(400, kind);
    }
    // The server answers 413 without reading the rest and closes the connection, so these go
    // through their own client rather than the shared connection pool.
    let oversized = || {
        let mut client = crate::support::Api::new(&api.base, api.token.as_deref());
        client.tenant = api.tenant.clone();
        client
    };
    let huge = vec![b' '; (1 << 20) + 1];
    oversized().raw(Method::PUT, &config, Some(huge), &[]).await.error(413, "PayloadTooLarge");
    let mut big = group(0, 1);
    big["groupConfiguration"]["metadata"] = json!({"k": "v".repeat(2 << 20)});
    oversized().post(&api.t("/groups"), big).await.error(413, "PayloadTooLarge");
    // What is stored (not what convergence observed since) is unchanged.
    let stored = |body: &Value| {
        let group = &body["group"];
        json!([
            group["groupConfiguration"],
            group["launchConfiguration"],
            group["scalingPolicies"],
            group["state"]["desiredCapacity"]
        ])
    };
    assert_eq!(stored(&api.get(&api.t(&format!("/groups/{g}"))).await.body), stored(&before), "nothing stored changed");
    assert_eq!(api.get(&api.t("/groups")).await.body["groups"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    api.get("/nope").await.error(404, "NotFound");
    api.get("/v1.0").await.error(404, "NotFound");
    api.get(&api.t("/groups/g/unknown")).await.error(404, "NotFound");
    api.send(Method::PATCH, &api.t("/groups"), None).await.error(405, "MethodNotAllowed");
    api.send(Method::DELETE, "/health", None).await.error(405, "MethodNotAllowed");
    api.get(&api.t("/groups/%ff")).await.error(404, "NotFound");
}

#[tokio::test]
async fn health_metrics_and_openapi() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    api.get(&api.t("/groups/missing")).await;
    let health = server.anonymous().get("/health").await;
    health.ok(200);
    assert_eq!(health.body["healthy"], true);
    let metrics = server.anonymous().get("/metrics").await;
    metrics.ok(200);
    assert!(
        metrics.text.contains(
            "ebb_http_requests_total{method=\"GET\",route=\"/v1.0/{tenant}/groups/{group}\",status=\"404\"} 1"
        ),
        "{}",
        metrics.text
    );
    assert!(metrics.text.contains("ebb_store_operation_seconds_count{operation=\"create_tenant\"}"));
    assert!(!metrics.text.contains("/v1.0/t1/"), "raw paths are never labels");
    let openapi = server.anonymous().get("/openapi.json").await;
    assert_eq!(openapi.body["openapi"], "3.1.0");
    let paths = openapi.body["paths"].as_object().unwrap();
    for path in [
        "/v1.0/{tenant}/groups",
        "/v1.0/{tenant}/groups/{group}/policies/{policy}/execute",
        "/admin/v1/tenants",
        "/v1.0/execute/{version}/{secret}",
    ] {
        assert!(paths.contains_key(path), "{path} documented");
    }
    assert!(paths["/v1.0/{tenant}/groups"]["post"]["requestBody"].is_object(), "creating a group takes a body");
    assert!(paths["/v1.0/{tenant}/groups/{group}/policies/{policy}/execute"]["post"].get("requestBody").is_none());
    assert_eq!(
        paths["/v1.0/{tenant}/groups/{group}"]["delete"]["parameters"].as_array().unwrap().len(),
        3,
        "tenant, group, force"
    );
}
