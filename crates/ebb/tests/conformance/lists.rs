//! Pagination and the manifest: items 48–51.

use serde_json::json;

use crate::support::{Server, change, group};

#[tokio::test]
async fn items_48_49_50_limit_marker_order_and_next_links() {
    let server = Server::start_with(&["--tenant-requests-per-minute", "100000"]);
    let api = server.tenant("t1").await;
    let mut ids = Vec::new();
    for _ in 0..105 {
        ids.push(api.create_group(group(0, 1)).await);
    }
    ids.sort();
    let page = |query: &str| {
        let api = api.clone();
        let query = query.to_string();
        async move { api.get(&api.t(&format!("/groups{query}"))).await }
    };
    let first = page("").await;
    let listed: Vec<&str> =
        first.body["groups"].as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(listed.len(), 100, "default and maximum limit is 100");
    assert_eq!(listed, ids[..100].iter().map(String::as_str).collect::<Vec<_>>(), "ascending by id");
    let next = first.body["groups_links"][0]["href"].as_str().unwrap();
    assert_eq!(first.body["groups_links"][0]["rel"], "next");
    assert_eq!(next, format!("{}/v1.0/t1/groups/?limit=100&marker={}", server.url, ids[99]));
    let second = api.get(next).await;
    assert_eq!(second.body["groups"].as_array().unwrap().len(), 5);
    assert_eq!(second.body["groups_links"], json!([]), "a short page has no next link");
    for bad in ["ab", "%26", "5.5", ""] {
        page(&format!("?limit={bad}")).await.error(400, "InvalidQueryArgument");
    }
    for (limit, expected) in [("0", 1), ("-1", 1), ("101", 100), ("1000", 100), ("3", 3)] {
        let reply = page(&format!("?limit={limit}")).await;
        assert_eq!(reply.body["groups"].as_array().unwrap().len(), expected, "limit={limit}");
        assert_eq!(reply.body["groups_links"][0]["rel"], "next", "a full page links on, limit={limit}");
    }
    let after = page(&format!("?marker={}", ids[102])).await;
    let rest: Vec<&str> = after.body["groups"].as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(rest, vec![ids[103].as_str(), ids[104].as_str()], "strictly greater than the marker");
    page("?marker=not-an-id").await.ok(200);
    let exact = page(&format!("?limit=2&marker={}", ids[102])).await;
    assert_eq!(exact.body["groups_links"][0]["rel"], "next", "a full last page still links to an empty one");
}

#[tokio::test]
async fn lists_of_policies_and_webhooks_paginate_the_same_way() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 5)).await;
    let policies: Vec<_> = (1..=3).map(change).collect();
    api.post(&api.t(&format!("/groups/{g}/policies")), json!(policies)).await.ok(201);
    let reply = api.get(&api.t(&format!("/groups/{g}/policies?limit=2"))).await;
    assert_eq!(reply.body["policies"].as_array().unwrap().len(), 2);
    assert_eq!(reply.body["policies_links"][0]["rel"], "next");
    let p = reply.body["policies"][0]["id"].as_str().unwrap().to_string();
    api.post(&api.t(&format!("/groups/{g}/policies/{p}/webhooks")), json!([{"name": "a"}, {"name": "b"}]))
        .await
        .ok(201);
    let hooks = api.get(&api.t(&format!("/groups/{g}/policies/{p}/webhooks?limit=1"))).await;
    assert_eq!(hooks.body["webhooks"].as_array().unwrap().len(), 1);
    assert_eq!(hooks.body["webhooks_links"][0]["rel"], "next");
    api.get(&api.t(&format!("/groups/{g}/policies/{p}/webhooks?limit=x"))).await.error(400, "InvalidQueryArgument");
}

#[tokio::test]
async fn item_51_manifest_embeds_webhooks_only_when_asked() {
    let server = Server::start();
    let api = server.tenant("t1").await;
    let g = api.create_group(group(0, 5)).await;
    let p = api.create_policy(&g, change(1)).await;
    let (w, _) = api.create_webhook(&g, &p).await;
    let with = api.get(&api.t(&format!("/groups/{g}?webhooks=True"))).await;
    let policy = &with.body["group"]["scalingPolicies"][0];
    assert_eq!(policy["webhooks"][0]["id"], w.as_str());
    assert_eq!(
        policy["webhooks_links"],
        json!([{"href": format!("{}/v1.0/t1/groups/{g}/policies/{p}/webhooks/", server.url), "rel": "webhooks"}])
    );
    for other in ["False", "15", "garbage"] {
        let reply = api.get(&api.t(&format!("/groups/{g}?webhooks={other}"))).await;
        reply.ok(200);
        assert!(reply.body["group"]["scalingPolicies"][0].get("webhooks").is_none(), "webhooks={other}");
    }
}
