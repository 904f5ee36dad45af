//! End to end through the real `ebb` CLI: tenants, tokens, a group, policies and a webhook;
//! an execution through the capability URL; a restart; everything is still there.

mod support;

use std::process::{Command, Output};

use serde_json::{Value, json};
use support::{OPERATOR_TOKEN, Server, ebb_bin};

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
