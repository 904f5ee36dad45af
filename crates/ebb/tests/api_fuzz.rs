//! No request, valid or not, gets a server error: schemathesis (from PyPI) generates requests
//! for every operation of `/openapi.json` of a live server, with real tenant, group, policy,
//! webhook and member ids, and fails on any 5xx (`.ci/schemathesis.sh`).
//!
//! schemathesis is found as `EBB_SCHEMATHESIS`, else in `.ci/.venv` (where `.ci/run` installs
//! it). Without it the test is skipped with a message, unless `CI` is set: then it fails.

mod support;

use std::path::PathBuf;
use std::process::Command;

use support::{OPERATOR_TOKEN, Options, Server, ebb_bin};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schemathesis() -> Option<PathBuf> {
    let candidate =
        std::env::var_os("EBB_SCHEMATHESIS").map(PathBuf::from).unwrap_or_else(|| workspace().join(".ci/.venv/bin/st"));
    candidate.exists().then_some(candidate)
}

#[test]
fn no_request_valid_or_not_gets_a_server_error() {
    let Some(st) = schemathesis() else {
        assert!(std::env::var_os("CI").is_none(), "CI must install schemathesis (.ci/run does)");
        eprintln!("skipped: schemathesis is not installed (run .ci/run, or set EBB_SCHEMATHESIS)");
        return;
    };
    let options = Options {
        env: vec![
            ("EBB_TENANT_REQUESTS_PER_MINUTE".into(), "1000000".into()),
            ("EBB_CAPABILITY_REQUESTS_PER_SECOND".into(), "100000".into()),
        ],
        ..Options::args(&["--self-heal-interval", "1", "--balancer-host", "127.0.0.1"])
    };
    let server = Server::start_options(options);
    let reports = server.dir.path().join("schemathesis");
    let output = Command::new("bash")
        .arg(workspace().join(".ci/schemathesis.sh"))
        .args([&server.url, OPERATOR_TOKEN])
        .env("ST", &st)
        .env("EBB_MEMBER_COMMAND", ebb_bin())
        .env("ST_REPORT_DIR", &reports)
        .env("ST_RANDOM_IDS", "1")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "schemathesis found server errors:\n{stdout}\n{stderr}");
    assert!(stdout.contains("Fuzzing") && stdout.contains("passed"), "every operation was fuzzed: {stdout}");
    let log = server.log();
    let unsound: Vec<&str> = log.lines().filter(|l| l.contains("panicked") || l.contains("internal error")).collect();
    assert!(unsound.is_empty(), "the server stayed sound: {unsound:#?}");
}
