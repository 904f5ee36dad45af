//! End to end through the real `ebb` CLI: tenants, tokens, a group, policies and a webhook;
//! an execution through the capability URL; a restart; everything is still there.

mod support;

use std::process::{Command, Output};

use serde_json::{Value, json};
use support::{OPERATOR_TOKEN, Server, ebb_bin};

#[derive(Clone)]
struct Cli {
    url: String,
    token: String,
    tenant: Option<String>,
}

impl Cli {
    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(ebb_bin());
        command.args(args).env("EBB_URL", &self.url).env("EBB_TOKEN", &self.token).env_remove("EBB_TENANT");
        if let Some(tenant) = &self.tenant {
            command.env("EBB_TENANT", tenant);
        }
        command.output().expect("ebb runs")
    }

    /// Runs a command that must succeed with `-o json` and returns its JSON.
    #[track_caller]
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let output = self.run(&all);
        assert!(output.status.success(), "ebb {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
            panic!("ebb {args:?} printed no JSON ({err}): {}", String::from_utf8_lossy(&output.stdout))
        })
    }

    /// Runs a command that must succeed; returns its standard output.
    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(output.status.success(), "ebb {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

#[tokio::test]
async fn a_group_made_with_the_cli_scales_through_its_capability_url_and_survives_a_restart() {
    let mut server = Server::start();
    let operator = Cli { url: server.url.clone(), token: OPERATOR_TOKEN.into(), tenant: None };
    operator.ok(&["tenant", "create", "acme"]);
    assert!(operator.ok(&["tenant", "list"]).contains("acme"));
    let shown = operator.json(&["tenant", "local-process", "acme"]);
    assert_eq!(shown["local_process"]["enabled"], false, "off until the operator allows it");
    operator.ok(&["tenant", "local-process", "acme", "--enable"]);
    let admin_secret =
        operator.json(&["token", "create", "acme", "--role", "admin"])["token"]["secret"].as_str().unwrap().to_string();
    let observer_secret = operator.json(&["token", "create", "acme", "--role", "observer"])["token"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let cli = Cli { url: server.url.clone(), token: admin_secret, tenant: Some("acme".into()) };

    let files = tempfile::tempdir().unwrap();
    let group_file = files.path().join("group.yaml");
    std::fs::write(
        &group_file,
        "groupConfiguration:\n  name: web\n  cooldown: 0\n  minEntities: 1\n  maxEntities: 10\n  metadata: {team: web}\n\
         launchConfiguration:\n  type: local_process\n  args:\n    process: {command: ebb, args: [demo-app]}\n    loadBalancers: [{type: builtin, port: 18080}]\n",
    )
    .unwrap();
    let created = cli.json(&["group", "create", "-f", group_file.to_str().unwrap()]);
    let group = created["group"]["id"].as_str().unwrap().to_string();
    assert!(cli.ok(&["group", "list"]).contains(&group), "tables show the group");

    let policy_file = files.path().join("policies.json");
    std::fs::write(&policy_file, json!([{"name": "up", "type": "webhook", "cooldown": 0, "change": 2}, {"name": "down", "type": "webhook", "cooldown": 0, "change": -1}]).to_string()).unwrap();
    let policies = cli.json(&["policy", "create", &group, "-f", policy_file.to_str().unwrap()]);
    let up = policies["policies"].as_array().unwrap().iter().find(|p| p["name"] == "up").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let down = policies["policies"].as_array().unwrap().iter().find(|p| p["name"] == "down").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let table = cli.ok(&["webhook", "create", &group, &up, "--name", "alarm", "--metadata", "source=monitoring"]);
    let capability = table
        .split(|c: char| c.is_whitespace() || c == '┆' || c == '│')
        .find(|word| word.contains("/v1.0/execute/1/"))
        .expect("the capability URL is printed")
        .to_string();

    // Execute through the capability URL with a raw HTTP POST.
    let response = reqwest::Client::new().post(&capability).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let state = || cli.json(&["group", "state", &group])["group"]["desiredCapacity"].as_i64().unwrap();
    assert!(support::eventually(5, || async { state() == 3 }).await, "desired capacity went from 1 to 3");
    cli.ok(&["policy", "execute", &group, &down]);
    assert_eq!(state(), 2);

    // Other verbs.
    let config_file = files.path().join("config.json");
    std::fs::write(
        &config_file,
        json!({"name": "web", "cooldown": 0, "minEntities": 1, "maxEntities": 8, "metadata": {"team": "web"}})
            .to_string(),
    )
    .unwrap();
    cli.ok(&["group", "set-config", &group, "-f", config_file.to_str().unwrap()]);
    cli.ok(&["group", "pause", &group]);
    assert_eq!(cli.json(&["group", "state", &group])["group"]["paused"], true);
    cli.ok(&["group", "resume", &group]);
    cli.ok(&["group", "converge", &group]);
    let shown = cli.json(&["group", "show", &group, "--webhooks"]);
    assert_eq!(shown["group"]["groupConfiguration"]["maxEntities"], 8);
    assert_eq!(shown["group"]["scalingPolicies"].as_array().unwrap().len(), 2);
    let hooks = cli.json(&["webhook", "list", &group, &up]);
    assert_eq!(hooks["webhooks"][0]["metadata"], json!({"source": "monitoring"}));
    let launch_file = files.path().join("launch.json");
    let launch = json!({"type": "local_process", "args": {"process": {"command": "ebb", "args": ["demo-app", "--work-ms", "2"]}}});
    std::fs::write(&launch_file, launch.to_string()).unwrap();
    cli.ok(&["group", "set-launch", &group, "-f", launch_file.to_str().unwrap()]);
    assert_eq!(cli.json(&["group", "show", &group])["group"]["launchConfiguration"], launch);

    // Policies: show, update, delete.
    let update_file = files.path().join("update.yaml");
    std::fs::write(&update_file, "{name: down more, type: webhook, cooldown: 30, change: -2}").unwrap();
    cli.ok(&["policy", "update", &group, &down, "-f", update_file.to_str().unwrap()]);
    let shown = cli.json(&["policy", "show", &group, &down]);
    assert_eq!((shown["policy"]["name"].as_str(), shown["policy"]["change"].as_i64()), (Some("down more"), Some(-2)));
    assert!(cli.ok(&["policy", "show", &group, &down]).contains("down more"), "tables show the policy");

    // Webhooks: show, update, delete.
    let extra = cli.json(&["webhook", "create", &group, &down, "--name", "spare"]);
    let spare = extra["webhooks"][0]["id"].as_str().unwrap().to_string();
    cli.ok(&["webhook", "update", &group, &down, &spare, "--name", "renamed", "--metadata", "k=v"]);
    let hook = cli.json(&["webhook", "show", &group, &down, &spare]);
    assert_eq!(hook["webhook"]["name"], "renamed");
    assert_eq!(hook["webhook"]["metadata"], json!({"k": "v"}));
    cli.ok(&["webhook", "delete", &group, &down, &spare]);
    assert_eq!(cli.run(&["webhook", "show", &group, &down, &spare]).status.code(), Some(1));
    cli.ok(&["policy", "delete", &group, &down]);
    assert_eq!(cli.json(&["policy", "list", &group])["policies"].as_array().unwrap().len(), 1);

    // An API error is one line and a non-zero exit code.
    let missing = cli.run(&["group", "show", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: 404 NoSuchScalingGroupError: No such scaling group nope"), "{stderr}");
    let observer = Cli { url: server.url.clone(), token: observer_secret, tenant: Some("acme".into()) };
    observer.ok(&["group", "list"]);
    let refused = observer.run(&["group", "pause", &group]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).starts_with("error: 403 Forbidden"));

    // Restart (kill -9): everything is still there, the capability URL still works.
    server.restart();
    let cli = Cli { url: server.url.clone(), token: cli.token.clone(), tenant: cli.tenant.clone() };
    let state = || cli.json(&["group", "state", &group])["group"]["desiredCapacity"].as_i64().unwrap();
    assert_eq!(state(), 2);
    assert_eq!(cli.json(&["policy", "list", &group])["policies"].as_array().unwrap().len(), 1);
    assert_eq!(cli.json(&["webhook", "list", &group, &up])["webhooks"].as_array().unwrap().len(), 1);
    assert_eq!(cli.json(&["group", "show", &group])["group"]["groupConfiguration"]["maxEntities"], 8);
    let response = reqwest::Client::new().post(&capability).send().await.unwrap();
    assert_eq!(response.status(), 202);
    assert!(support::eventually(5, || async { state() == 4 }).await);
    cli.ok(&["group", "delete", &group, "--force"]);
    assert_eq!(cli.run(&["group", "state", &group]).status.code(), Some(1));
}

#[test]
fn usage_problems_exit_with_2_and_say_why() {
    let cli = Cli { url: "http://127.0.0.1:1".into(), token: "x".into(), tenant: None };
    let no_tenant = cli.run(&["group", "list"]);
    assert_eq!(no_tenant.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_tenant.stderr).contains("no tenant"));
    let unreachable = Cli { tenant: Some("t".into()), ..cli };
    let output = unreachable.run(&["group", "list"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot reach http://127.0.0.1:1"));
    let missing_file = unreachable.run(&["group", "create", "-f", "/nonexistent/group.yaml"]);
    assert_eq!(missing_file.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing_file.stderr).contains("cannot read /nonexistent/group.yaml"));
    let bad_flag = unreachable.run(&["group", "frobnicate"]);
    assert_eq!(bad_flag.status.code(), Some(2));
}

/// What a newcomer meets: errors as JSON with `-o json`, a server URL without a scheme,
/// names with control characters, plain tables in pipes, the one-time secret labelled as
/// such, and how to retry a group in ERROR after fixing its launch configuration.
#[tokio::test]
async fn the_cli_is_clear_with_newcomers() {
    let server = Server::start_with(&["--self-heal-interval", "1"]);
    let operator = Cli { url: server.url.clone(), token: OPERATOR_TOKEN.into(), tenant: None };
    operator.ok(&["tenant", "create", "acme"]);
    operator.ok(&["tenant", "local-process", "acme", "--enable"]);
    let secret_table = operator.ok(&["token", "create", "acme"]);
    assert!(secret_table.contains("shown once"), "{secret_table}");
    assert!(
        !secret_table.contains('│') && !secret_table.contains('╭') && !secret_table.contains('┆'),
        "plain in a pipe: {secret_table}"
    );
    assert!(!secret_table.contains('\u{1b}'), "no colour codes");
    let secret = operator.run(&["token", "create", "acme", "--get", "/token/secret"]);
    let secret = String::from_utf8_lossy(&secret.stdout).trim().to_string();
    assert!(secret.starts_with("ebb_") && !secret.contains('"'), "{secret}");
    let cli = Cli { url: server.url.clone(), token: secret, tenant: Some("acme".into()) };

    // -o json applies to errors: the API's error document, on standard error, exit code 1.
    let missing = cli.run(&["group", "show", "nope", "-o", "json"]);
    assert_eq!(missing.status.code(), Some(1));
    let error: Value = serde_json::from_slice(&missing.stderr).expect("a JSON error");
    assert_eq!(error["error"]["type"], "NoSuchScalingGroupError");
    assert!(missing.stdout.is_empty());
    let usage = Cli { url: "127.0.0.1:9000".into(), ..cli.clone() }.run(&["group", "list", "-o", "json"]);
    assert_eq!(usage.status.code(), Some(2));
    let error: Value = serde_json::from_slice(&usage.stderr).expect("a JSON usage error");
    assert_eq!(error["error"]["type"], "UsageError");

    // A URL without a scheme gets a helpful message.
    let no_scheme = Cli { url: "127.0.0.1:9000".into(), ..cli.clone() }.run(&["group", "list"]);
    assert_eq!(no_scheme.status.code(), Some(2));
    let message = String::from_utf8_lossy(&no_scheme.stderr);
    assert!(message.contains("no scheme: did you mean http://127.0.0.1:9000?"), "{message}");

    // Control characters in names are escaped in tables.
    let files = tempfile::tempdir().unwrap();
    let group_file = files.path().join("group.json");
    let launch = json!({"type": "local_process", "args": {"process": {"command": "/nonexistent/app", "readiness": {"none": {}}}}});
    let body = json!({"groupConfiguration": {"name": "web\u{1b}[2Jevil\nline", "cooldown": 0, "minEntities": 1, "maxEntities": 2}, "launchConfiguration": launch});
    std::fs::write(&group_file, body.to_string()).unwrap();
    let group =
        cli.ok(&["group", "create", "-f", group_file.to_str().unwrap(), "--get", "/group/id"]).trim().to_string();
    let table = cli.ok(&["group", "list"]);
    assert!(table.contains("web\\u{1b}[2Jevil\\nline") && !table.contains('\u{1b}'), "{table}");

    // The group goes to ERROR (no such command); after set-launch the CLI says how to retry.
    let errored =
        support::eventually(10, || async { cli.json(&["group", "state", &group])["group"]["status"] == "ERROR" });
    assert!(errored.await);
    let fixed = files.path().join("launch.json");
    let launch = json!({"type": "local_process", "args": {"process": {"command": "sleep", "args": ["600"], "readiness": {"none": {}}}}});
    std::fs::write(&fixed, launch.to_string()).unwrap();
    let output = cli.run(&["group", "set-launch", &group, "-f", fixed.to_str().unwrap()]);
    assert!(output.status.success());
    let note = String::from_utf8_lossy(&output.stderr);
    assert!(note.contains(&format!("ebb group converge {group}")), "{note}");
    cli.ok(&["group", "converge", &group]);
    let active =
        support::eventually(10, || async { cli.json(&["group", "state", &group])["group"]["activeCapacity"] == 1 });
    assert!(active.await);

    // The operator listing the groups of a tenant that does not exist gets the documented 404.
    let nobody = Cli { tenant: Some("nobody".into()), ..operator.clone() }.run(&["group", "list"]);
    assert_eq!(nobody.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("404 NoSuchTenantError"));
}

/// The README's "Your own group" block, run as it is written with bash against a server
/// started as the README says (in the folder where the commands run), with `ebb` on the
/// `PATH`. Only the load balancer's port is changed, to one that is free.
#[tokio::test]
async fn the_readme_example_works_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let section = readme.split("## Your own group").nth(1).expect("the section");
    let block = section.split("```sh\n").nth(1).and_then(|rest| rest.split("```").next()).expect("its sh block");
    let port = support::free_port();
    let script = block.replace("8081", &port.to_string());
    let options = support::Options {
        operator_token_env: false,
        ..support::Options::args(&["--self-heal-interval", "1", "--balancer-host", "127.0.0.1"])
    };
    let server = Server::start_options(options);
    let bin_dir = std::path::Path::new(ebb_bin()).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(server.dir.path())
        .env("PATH", path)
        .env("EBB_URL", &server.url)
        .env_remove("EBB_TOKEN")
        .env_remove("EBB_TENANT")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}\n{}", String::from_utf8_lossy(&output.stderr), server.log());
    // Desired capacity went from 1 to 3, and three members serve through the balancer.
    let token = std::fs::read_to_string(server.dir.path().join("ebb.db.operator-token")).unwrap();
    let mut api = support::Api::new(&server.url, Some(token.trim()));
    api.tenant = "acme".into();
    let groups = api.get(&api.t("/groups")).await.body["groups"].clone();
    let group = groups[0]["id"].as_str().unwrap().to_string();
    let serving = support::eventually(30, || async {
        let state = api.get(&api.t(&format!("/groups/{group}/state"))).await.body["group"].clone();
        state["desiredCapacity"] == 3 && state["activeCapacity"] == 3
    });
    assert!(serving.await, "{}", server.log());
    let answer = reqwest::get(format!("http://127.0.0.1:{port}/")).await.unwrap();
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn the_cli_explains_a_group_pauses_one_direction_and_votes() {
    let server = Server::start();
    let api = server.tenant("acme").await;
    let cli = Cli { url: server.url.clone(), token: api.token.clone().unwrap(), tenant: Some("acme".into()) };
    let g = api.create_group(support::group(1, 5)).await;
    let tracking = json!({"name": "queue", "type": "target_tracking", "cooldown": 0, "args": {"metric": "queue_length",
        "target": {"type": "AverageValue", "averageValue": 10}}});
    let votes = json!({"name": "ballot", "type": "votes", "cooldown": 0, "dry_run": true});
    api.post(&api.t(&format!("/groups/{g}/policies")), json!([tracking, votes])).await.ok(201);
    let sample = json!({"group": g, "metric": "queue_length", "instance_index": 0, "value": 30});
    api.post(&api.t("/metrics"), json!({"samples": [sample]})).await.ok(200);
    assert!(support::eventually(10, || async { api.desired(&g).await == 3 }).await);

    let text = cli.ok(&["group", "explain", &g]);
    assert!(text.starts_with("desired capacity 3 within 1..5"), "{text}");
    assert!(text.contains("queue ") && text.contains("[target_tracking] on queue_length"), "{text}");
    assert!(text.contains("outcome: hold 3"), "{text}");
    let explained = cli.json(&["group", "explain", &g]);
    assert_eq!(explained["explain"]["policies"][0]["inputs"]["members"][0]["value"], 30.0);

    assert!(cli.ok(&["member", "vote", &g, "0", "grow"]).contains("voted grow"));
    let tally = cli.json(&["group", "explain", &g]);
    assert_eq!(tally["explain"]["policies"][1]["inputs"]["votes"]["grow"], 1);
    let refused = cli.run(&["member", "vote", &g, "0", "maybe"]);
    assert_eq!(refused.status.code(), Some(2), "not a vote");
    let unknown = cli.run(&["member", "vote", &g, "42", "none"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("not found"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );

    assert!(cli.ok(&["group", "pause", &g, "--direction", "out"]).contains("scaling out paused"));
    let state = api.get(&api.t(&format!("/groups/{g}/state"))).await;
    assert_eq!(state.body["group"]["pausedDirection"], "out");
    cli.ok(&["group", "resume", &g]);
    let state = api.get(&api.t(&format!("/groups/{g}/state"))).await;
    assert_eq!(state.body["group"].get("pausedDirection"), None);
}
