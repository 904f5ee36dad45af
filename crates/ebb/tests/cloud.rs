//! A tenant's cloud settings end to end: set by the operator through the admin API or the CLI,
//! stored across a restart, shown without their secret anywhere, refused with a message when
//! wrong, and out of tenants' reach.

mod support;

use serde_json::json;
use support::Server;

const KEY: &str = "0123456789abcdef-api-key";

#[tokio::test]
async fn cloud_settings_are_set_kept_and_never_shown_with_their_secret() {
    let mut server = Server::start_verbose();
    let operator = server.operator();
    let api = server.tenant("t1").await;
    let path = "/admin/v1/tenants/t1/cloud";
    let got = operator.get(path).await;
    got.ok(200);
    assert_eq!(got.body, json!({"cloud": null}));
    let settings = json!({"identity_url": "http://127.0.0.1:8900/identity/v2.0", "username": "autoscale",
        "api_key": KEY, "region": "ORD", "project_id": "123456"});
    let put = operator.put(path, settings.clone()).await;
    put.ok(200);
    assert_eq!(
        put.body["cloud"],
        json!({"identity_url": "http://127.0.0.1:8900/identity/v2.0", "username": "autoscale", "credential": "api_key",
            "region": "ORD", "project_id": "123456", "accept_identity_tokens": false})
    );

    // Kept across a restart; never shown, never logged.
    server.restart();
    let operator = server.operator();
    let got = operator.get(path).await;
    assert_eq!(got.body["cloud"]["credential"], "api_key");
    assert!(!got.text.contains(KEY) && !server.log().contains(KEY));

    // Wrong settings are refused with what is wrong, and change nothing; tenants cannot reach them.
    for (body, says) in [
        (json!({"identity_url": "ftp://id", "username": "u", "api_key": "k", "region": "ORD"}), "identity_url"),
        (
            json!({"identity_url": "http://id/v2.0", "username": "u", "api_key": "k", "password": "p", "region": "ORD"}),
            "exactly one of api_key or password",
        ),
        (json!({"identity_url": "http://id/v2.0", "username": "u", "api_key": "k"}), "'region' is a required property"),
    ] {
        let reply = operator.put(path, body).await;
        reply.error(400, "ValidationError");
        assert!(reply.text.contains(says), "{}", reply.text);
    }
    assert_eq!(operator.get(path).await.body["cloud"]["username"], "autoscale");
    assert_eq!(api.with_token(api.token.as_deref().unwrap()).get(path).await.status, 403);
    operator.put("/admin/v1/tenants/nobody/cloud", settings).await.error(404, "NoSuchTenantError");

    // The CLI, with the password from the environment.
    let cli = |args: &[&str], password: Option<&str>| {
        let mut command = std::process::Command::new(support::ebb_bin());
        command.args(args).env("EBB_URL", &server.url).env("EBB_TOKEN", support::OPERATOR_TOKEN);
        if let Some(password) = password {
            command.env("EBB_CLOUD_PASSWORD", password);
        }
        command.output().unwrap()
    };
    let set = cli(
        &[
            "tenant",
            "cloud",
            "set",
            "t1",
            "--identity-url",
            "http://127.0.0.1:8900/identity/v2.0",
            "--username",
            "ops",
            "--region",
            "DFW",
        ],
        Some("pa55-w0rd-secret"),
    );
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    let shown = cli(&["tenant", "cloud", "get", "t1"], None);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("password") && text.contains("DFW") && !text.contains("pa55-w0rd-secret"), "{text}");
    let refused = cli(
        &[
            "tenant",
            "cloud",
            "set",
            "t1",
            "--identity-url",
            "nowhere",
            "--username",
            "u",
            "--region",
            "ORD",
            "--api-key",
            "k",
        ],
        None,
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("identity_url"));
    let deleted = cli(&["tenant", "cloud", "delete", "t1"], None);
    assert!(deleted.status.success());
    assert_eq!(operator.get(path).await.body, json!({"cloud": null}));
    assert!(!server.log().contains("pa55-w0rd-secret"));
}
