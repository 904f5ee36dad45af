//! Launch configurations: how one member of a group is made.
//!
//! Three types are accepted: Otter's `launch_server` (a Nova server, optionally behind Cloud
//! Load Balancers or RackConnect v3) and `launch_stack` (a Heat stack), and Ebb's own
//! `local_process` (an OS process on this machine behind Ebb's built-in load balancer).
//! The configuration is stored as submitted; [`LaunchConfig::parse`] checks it and drops
//! a `null` `server.metadata`, as Otter does.

use schemars::{JsonSchema, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Invalid;
use crate::json::{self, Obj};

/// The ServiceNet network every Cloud Load Balancer member must be on.
pub const SERVICENET: &str = "11111111-1111-1111-1111-111111111111";

/// The signals a `local_process` member may be stopped with.
pub const STOP_SIGNALS: &[&str] = &["SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGKILL"];

/// A validated launch configuration: its type and the document as it is stored and shown.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchConfig {
    /// Which provider makes members.
    pub kind: LaunchKind,
    /// The configuration as stored (`{"type": ..., "args": ...}`).
    pub document: Value,
    /// The typed arguments of a `local_process` configuration.
    pub local_process: Option<LocalProcessLaunch>,
    /// The typed arguments of a `launch_server` configuration.
    pub server: Option<crate::cloud::launch::ServerLaunch>,
}

/// The launch types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchKind {
    /// A Nova server (`launch_server`).
    Server,
    /// A Heat stack (`launch_stack`).
    Stack,
    /// An OS process on this machine (`local_process`).
    LocalProcess,
}

impl LaunchConfig {
    /// Validates a `launchConfiguration` object found at `path`.
    pub fn parse(value: &Value, path: &str) -> Result<Self, Invalid> {
        let obj = Obj::new(value, path)?;
        obj.only(&["type", "args"])?;
        let kind_value = obj.required("type")?;
        let args = obj.required("args")?;
        let args_path = obj.path_of("args");
        let kind = match kind_value.as_str() {
            Some("launch_server") => LaunchKind::Server,
            Some("launch_stack") => LaunchKind::Stack,
            Some("local_process") => LaunchKind::LocalProcess,
            _ => {
                return Err(Invalid::schema(format!(
                    "{}: {} is not one of 'launch_server', 'launch_stack', 'local_process'",
                    obj.path_of("type"),
                    json::show(kind_value)
                )));
            }
        };
        let mut document = value.clone();
        let mut local_process = None;
        let conforms_after =
            |document: &Value| crate::documents::conforms::<crate::documents::LaunchDocument>(document, path);
        match kind {
            LaunchKind::Server => {
                check_server_args(args, &args_path)?;
                if let Some(server) = document.pointer_mut("/args/server").and_then(Value::as_object_mut)
                    && server.get("metadata") == Some(&Value::Null)
                {
                    server.remove("metadata");
                }
            }
            LaunchKind::Stack => check_stack_args(args, &args_path)?,
            LaunchKind::LocalProcess => {
                local_process = Some(LocalProcessLaunch::parse(args, &args_path)?);
            }
        }
        conforms_after(&document)?;
        let server = server_launch(kind, &document);
        Ok(LaunchConfig { kind, document, local_process, server })
    }
}

impl LaunchConfig {
    /// A configuration read back from the store. It was validated, and normalized, when it
    /// was stored; only what is typed is taken from it again: its type and, for
    /// `local_process`, its arguments.
    pub fn from_stored(document: Value) -> Result<Self, Invalid> {
        let kind = match document.get("type").and_then(Value::as_str) {
            Some("launch_server") => LaunchKind::Server,
            Some("launch_stack") => LaunchKind::Stack,
            Some("local_process") => LaunchKind::LocalProcess,
            _ => return Err(Invalid::schema("type: not a known launch type")),
        };
        let local_process = match kind {
            LaunchKind::LocalProcess => {
                let args = document.get("args").ok_or_else(|| Invalid::schema("args: missing"))?;
                Some(LocalProcessLaunch::parse(args, "args")?)
            }
            LaunchKind::Server | LaunchKind::Stack => None,
        };
        let server = server_launch(kind, &document);
        Ok(LaunchConfig { kind, document, local_process, server })
    }
}

/// The typed arguments of a validated `launch_server` document.
fn server_launch(kind: LaunchKind, document: &Value) -> Option<crate::cloud::launch::ServerLaunch> {
    (kind == LaunchKind::Server).then(|| crate::cloud::launch::ServerLaunch::from_args(&document["args"]))
}

fn check_server_args(args: &Value, path: &str) -> Result<(), Invalid> {
    let obj = Obj::new(args, path)?;
    obj.only(&["server", "loadBalancers", "draining_timeout"])?;
    let server_path = obj.path_of("server");
    let server = Obj::new(obj.required("server")?, &server_path)?;
    json::token(server.required("flavorRef")?, &server.path_of("flavorRef"), 1024)?;

    let has_bdm = ["block_device_mapping", "block_device_mapping_v2"].iter().any(|key| {
        server.get(key).is_some_and(|v| v.as_array().is_some_and(|items| items.iter().all(Value::is_object)))
    });
    match server.get("imageRef") {
        Some(Value::String(text)) if text.is_empty() && has_bdm => {}
        None | Some(Value::Null) if has_bdm => {}
        None => {
            return Err(Invalid::schema(format!(
                "{server_path}: 'imageRef' is a required property unless block_device_mapping or block_device_mapping_v2 is given"
            )));
        }
        Some(value) => {
            json::token(value, &server.path_of("imageRef"), 1024)?;
        }
    }
    if let Some(personality) = server.get("personality") {
        let personality_path = server.path_of("personality");
        for (index, file) in json::array(personality, &personality_path, usize::MAX)?.iter().enumerate() {
            let file = Obj::new(file, &format!("{personality_path}[{index}]"))?;
            file.only(&["path", "contents"])?;
            let file_path = json::string(file.required("path")?, &file.path_of("path"), 255)?;
            if file_path.is_empty() {
                return Err(Invalid::schema(format!("{}: must not be empty", file.path_of("path"))));
            }
            let contents = json::string(file.required("contents")?, &file.path_of("contents"), usize::MAX)?;
            if contents.is_empty() || data_encoding::BASE64.decode(contents.as_bytes()).is_err() {
                return Err(Invalid::schema(format!(
                    "Invalid base64 encoding for contents of path {}",
                    json::show(&Value::String(file_path.to_string()))
                )));
            }
        }
    }
    if let Some(metadata) = server.get("metadata").filter(|v| !v.is_null()) {
        let metadata_path = server.path_of("metadata");
        let obj = Obj::new(metadata, &metadata_path)?;
        for (key, value) in obj.map() {
            let key_ok = (1..=255).contains(&key.chars().count())
                && key.chars().all(|c| c.is_ascii_alphanumeric() || "-_:. ".contains(c));
            if !key_ok {
                return Err(Invalid::schema(format!(
                    "{metadata_path}: key {} does not match '^[a-zA-Z0-9-_:. ]{{1,255}}$'",
                    json::show(&Value::String(key.clone()))
                )));
            }
            json::string(value, &obj.path_of(key), 255)?;
        }
    }

    let mut has_clb = false;
    if let Some(balancers) = obj.get("loadBalancers") {
        let lb_path = obj.path_of("loadBalancers");
        let items = json::array(balancers, &lb_path, 5)?;
        check_unique(items, &lb_path)?;
        for (index, item) in items.iter().enumerate() {
            has_clb |= check_otter_balancer(item, &format!("{lb_path}[{index}]"))?;
        }
    }
    if let Some(timeout) = obj.get("draining_timeout") {
        json::number(timeout, &obj.path_of("draining_timeout"), 30.0, 3600.0)?;
    }
    if has_clb && let Some(networks) = server.get("networks") {
        let servicenet = serde_json::json!({"uuid": SERVICENET});
        let ok = networks.as_array().is_some_and(|list| list.contains(&servicenet));
        if !ok {
            return Err(Invalid {
                kind: crate::InvalidKind::Rule,
                message: "ServiceNet network must be present if one or more Cloud Load Balancers are configured."
                    .to_string(),
            });
        }
    }
    Ok(())
}

fn check_unique(items: &[Value], path: &str) -> Result<(), Invalid> {
    for (index, item) in items.iter().enumerate() {
        if items[..index].contains(item) {
            return Err(Invalid::schema(format!("{path}: has non-unique elements")));
        }
    }
    Ok(())
}

/// Checks one Otter load balancer entry; returns whether it is a Cloud Load Balancer.
fn check_otter_balancer(item: &Value, path: &str) -> Result<bool, Invalid> {
    let obj = Obj::new(item, path)?;
    let id = obj.required("loadBalancerId")?;
    match obj.get("type") {
        None | Some(Value::String(_))
            if obj.get("type").and_then(Value::as_str).unwrap_or("CloudLoadBalancer") == "CloudLoadBalancer" =>
        {
            obj.only(&["loadBalancerId", "port", "type"])?;
            if !id.is_i64() {
                json::token(id, &obj.path_of("loadBalancerId"), 1024)?;
            }
            json::integer(obj.required("port")?, &obj.path_of("port"), 0, 65535)?;
            Ok(true)
        }
        Some(Value::String(kind)) if kind == "RackConnectV3" => {
            obj.only(&["loadBalancerId", "type"])?;
            json::token(id, &obj.path_of("loadBalancerId"), 1024)?;
            Ok(false)
        }
        Some(other) => Err(Invalid::schema(format!(
            "{}: {} is not one of 'CloudLoadBalancer', 'RackConnectV3'",
            obj.path_of("type"),
            json::show(other)
        ))),
        None => unreachable!("an absent type is a Cloud Load Balancer, matched above"),
    }
}

fn check_stack_args(args: &Value, path: &str) -> Result<(), Invalid> {
    let obj = Obj::new(args, path)?;
    obj.only(&["stack"])?;
    let stack = Obj::new(obj.required("stack")?, &obj.path_of("stack"))?;
    stack.only(&[
        "template",
        "template_url",
        "disable_rollback",
        "environment",
        "files",
        "parameters",
        "timeout_mins",
    ])?;
    match (stack.get("template"), stack.get("template_url")) {
        (Some(template), None) => {
            if !(template.is_string() || template.is_object()) {
                return Err(Invalid::schema(format!(
                    "{}: {} is not of type 'string', 'object'",
                    stack.path_of("template"),
                    json::show(template)
                )));
            }
        }
        (None, Some(url)) => {
            json::string(url, &stack.path_of("template_url"), usize::MAX)?;
        }
        _ => {
            return Err(Invalid::schema(format!(
                "{}: exactly one of 'template' and 'template_url' is required",
                stack.path()
            )));
        }
    }
    if let Some(value) = stack.get("disable_rollback") {
        json::boolean(value, &stack.path_of("disable_rollback"))?;
    }
    if let Some(value) = stack.get("environment")
        && !(value.is_string() || value.is_object())
    {
        return Err(Invalid::schema(format!(
            "{}: {} is not of type 'string', 'object'",
            stack.path_of("environment"),
            json::show(value)
        )));
    }
    for key in ["files", "parameters"] {
        if let Some(value) = stack.get(key) {
            Obj::new(value, &stack.path_of(key))?;
        }
    }
    if let Some(value) = stack.get("timeout_mins") {
        json::number(value, &stack.path_of("timeout_mins"), 0.0, f64::MAX)?;
    }
    Ok(())
}

/// The arguments of a `local_process` launch configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalProcessLaunch {
    /// How to run one member.
    pub process: ProcessSpec,
    /// The built-in load balancers members join once ready.
    #[serde(default, rename = "loadBalancers")]
    pub load_balancers: Vec<BuiltinBalancer>,
    /// Seconds a removed member keeps serving its in-flight requests before it is stopped.
    #[serde(default)]
    pub draining_timeout: f64,
}

/// How to run one `local_process` member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessSpec {
    /// The program to run: a path, or a name looked up in `PATH`.
    pub command: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// The member's environment (Ebb adds `PATH`, `PORT` and the `EBB_*` variables).
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub env: Map<String, Value>,
    /// The working directory; the server's own when absent.
    #[serde(default)]
    pub cwd: Option<String>,
    /// When a started member counts as active.
    #[serde(default)]
    pub readiness: Readiness,
    /// The signal that asks a member to stop.
    #[serde(default = "default_stop_signal")]
    pub stop_signal: String,
    /// Seconds to wait after the stop signal before the member's process group is killed.
    #[serde(default = "default_stop_timeout")]
    pub stop_timeout: f64,
    /// The memory one member is meant to use, in MB: `memoryutil` is its memory as a share
    /// of this (no `memoryutil` without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_quota_mb: Option<f64>,
    /// The CPU one member is meant to use, in cores: `cpuutil` is its CPU use as a share of
    /// this (no `cpuutil` without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<f64>,
}

fn default_stop_signal() -> String {
    "SIGTERM".to_string()
}

fn default_stop_timeout() -> f64 {
    10.0
}

/// When a started member counts as active.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// An HTTP GET of `path` on the member's port answers 2xx.
    Http {
        /// The path to probe, starting with `/`.
        path: String,
    },
    /// A TCP connection to the member's port succeeds.
    #[default]
    #[serde(with = "empty_object")]
    Tcp,
    /// As soon as the process has started.
    #[serde(with = "empty_object")]
    None,
}

impl JsonSchema for Readiness {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Readiness".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let empty = serde_json::json!({"type": "object", "additionalProperties": false});
        json_schema!({
            "description": "When a started member counts as active: an HTTP GET of `path` on its port answers 2xx; a TCP connection to its port succeeds (the default); at once.",
            "oneOf": [
                {"type": "object", "required": ["http"], "additionalProperties": false, "properties": {"http": {
                    "type": "object", "required": ["path"], "additionalProperties": false,
                    "properties": {"path": {"type": "string", "pattern": "^/"}}}}},
                {"type": "object", "required": ["tcp"], "additionalProperties": false, "properties": {"tcp": empty}},
                {"type": "object", "required": ["none"], "additionalProperties": false, "properties": {"none": empty}},
            ]
        })
    }
}

/// Serializes a unit variant as `{}` so `{"tcp": {}}` round-trips.
mod empty_object {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Empty {}

    pub fn serialize<S: Serializer>(serializer: S) -> Result<S::Ok, S::Error> {
        Empty {}.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<(), D::Error> {
        Empty::deserialize(deserializer).map(|_| ())
    }
}

/// A built-in load balancer listening on `port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuiltinBalancer {
    /// Always `builtin`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The TCP port it listens on.
    pub port: u16,
}

impl LocalProcessLaunch {
    /// Validates the `args` of a `local_process` launch configuration.
    pub fn parse(args: &Value, path: &str) -> Result<Self, Invalid> {
        let obj = Obj::new(args, path)?;
        obj.only(&["process", "loadBalancers", "draining_timeout"])?;
        let process = Obj::new(obj.required("process")?, &obj.path_of("process"))?;
        process.only(&[
            "command",
            "args",
            "env",
            "cwd",
            "readiness",
            "stop_signal",
            "stop_timeout",
            "memory_quota_mb",
            "cpu_quota",
        ])?;
        json::non_blank(process.required("command")?, &process.path_of("command"), 4096)?;
        if let Some(list) = process.get("args") {
            let args_path = process.path_of("args");
            for (index, item) in json::array(list, &args_path, 1024)?.iter().enumerate() {
                json::string(item, &format!("{args_path}[{index}]"), 65536)?;
            }
        }
        if let Some(env) = process.get("env") {
            let env_path = process.path_of("env");
            let env_obj = Obj::new(env, &env_path)?;
            for (key, value) in env_obj.map() {
                if key.is_empty() || key.contains('=') || key.contains('\0') {
                    return Err(Invalid::schema(format!(
                        "{env_path}: {} is not a valid environment variable name",
                        json::show(&Value::String(key.clone()))
                    )));
                }
                json::string(value, &env_obj.path_of(key), 65536)?;
            }
        }
        if let Some(cwd) = process.get("cwd") {
            json::non_blank(cwd, &process.path_of("cwd"), 4096)?;
        }
        if let Some(readiness) = process.get("readiness") {
            check_readiness(readiness, &process.path_of("readiness"))?;
        }
        if let Some(signal) = process.get("stop_signal") {
            let name = json::string(signal, &process.path_of("stop_signal"), 16)?;
            if !STOP_SIGNALS.contains(&name) {
                return Err(Invalid::schema(format!(
                    "{}: {} is not one of {}",
                    process.path_of("stop_signal"),
                    json::show(signal),
                    STOP_SIGNALS.join(", ")
                )));
            }
        }
        if let Some(timeout) = process.get("stop_timeout") {
            json::number(timeout, &process.path_of("stop_timeout"), 0.0, 3600.0)?;
        }
        if let Some(quota) = process.get("memory_quota_mb") {
            json::number(quota, &process.path_of("memory_quota_mb"), 1.0, 16_777_216.0)?;
        }
        if let Some(quota) = process.get("cpu_quota") {
            json::number(quota, &process.path_of("cpu_quota"), 0.01, 1024.0)?;
        }
        if let Some(balancers) = obj.get("loadBalancers") {
            let lb_path = obj.path_of("loadBalancers");
            let items = json::array(balancers, &lb_path, 5)?;
            let mut ports = Vec::new();
            for (index, item) in items.iter().enumerate() {
                let item_path = format!("{lb_path}[{index}]");
                let balancer = Obj::new(item, &item_path)?;
                balancer.only(&["type", "port"])?;
                let kind = balancer.required("type")?;
                if kind.as_str() != Some("builtin") {
                    return Err(Invalid::schema(format!(
                        "{}: {} is not one of 'builtin'",
                        balancer.path_of("type"),
                        json::show(kind)
                    )));
                }
                let port = json::integer(balancer.required("port")?, &balancer.path_of("port"), 1, 65535)?;
                if ports.contains(&port) {
                    return Err(Invalid::schema(format!("{lb_path}: port {port} is used twice")));
                }
                ports.push(port);
            }
        }
        if let Some(timeout) = obj.get("draining_timeout") {
            json::number(timeout, &obj.path_of("draining_timeout"), 0.0, 3600.0)?;
        }
        serde_json::from_value(args.clone()).map_err(|err| Invalid::schema(format!("{path}: {err}")))
    }
}

fn check_readiness(value: &Value, path: &str) -> Result<(), Invalid> {
    let obj = Obj::new(value, path)?;
    obj.only(&["http", "tcp", "none"])?;
    if obj.map().len() != 1 {
        return Err(Invalid::schema(format!("{path}: exactly one of 'http', 'tcp' and 'none' is required")));
    }
    if let Some(http) = obj.get("http") {
        let http = Obj::new(http, &obj.path_of("http"))?;
        http.only(&["path"])?;
        let probe = json::token(http.required("path")?, &http.path_of("path"), 2048)?;
        if !probe.starts_with('/') {
            return Err(Invalid::schema(format!("{}: must start with '/'", http.path_of("path"))));
        }
    }
    for key in ["tcp", "none"] {
        if let Some(inner) = obj.get(key) {
            Obj::new(inner, &obj.path_of(key))?.only(&[])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn server(args: Value) -> Result<LaunchConfig, Invalid> {
        LaunchConfig::parse(&json!({"type": "launch_server", "args": args}), "launchConfiguration")
    }

    #[test]
    fn launch_server_accepts_the_documented_shapes() {
        assert!(server(json!({"server": {"flavorRef": "2", "imageRef": "img"}})).is_ok());
        let bdm = json!([{"boot_index": 0}]);
        for image in [json!(""), json!(null)] {
            assert!(
                server(json!({"server": {"flavorRef": "2", "imageRef": image, "block_device_mapping": bdm}})).is_ok()
            );
        }
        assert!(server(json!({"server": {"flavorRef": "2", "block_device_mapping_v2": bdm}})).is_ok());
        let ok = server(json!({
            "server": {"flavorRef": "2", "imageRef": "i", "metadata": null, "networks": [{"uuid": SERVICENET}]},
            "loadBalancers": [{"loadBalancerId": 1, "port": 80}, {"loadBalancerId": "abc", "type": "RackConnectV3"}],
            "draining_timeout": 30
        }))
        .unwrap();
        assert!(ok.document.pointer("/args/server/metadata").is_none(), "null metadata is dropped");
    }

    #[test]
    fn a_stored_configuration_reads_back_as_it_was_validated() {
        let documents = [
            json!({"type": "launch_server", "args": {"server": {"flavorRef": "2", "imageRef": "i", "metadata": null}}}),
            json!({"type": "launch_stack", "args": {"stack": {"template": "t"}}}),
            json!({"type": "local_process", "args": {"process": {"command": "app", "args": ["-v"]}, "loadBalancers": [{"type": "builtin", "port": 8080}]}}),
        ];
        for document in documents {
            let validated = LaunchConfig::parse(&document, "").unwrap();
            assert_eq!(LaunchConfig::from_stored(validated.document.clone()).unwrap(), validated);
        }
        assert!(LaunchConfig::from_stored(json!({"type": "launch_nothing", "args": {}})).is_err());
        assert!(LaunchConfig::from_stored(json!({"type": "local_process"})).is_err());
    }

    #[test]
    fn launch_server_rejections() {
        let cases = [
            json!({"server": {"imageRef": "i"}}),
            json!({"server": {"flavorRef": "", "imageRef": "i"}}),
            json!({"server": {"flavorRef": " ", "imageRef": "i"}}),
            json!({"server": {"flavorRef": 2, "imageRef": "i"}}),
            json!({"server": {"flavorRef": "2"}}),
            json!({"server": {"flavorRef": "2", "imageRef": ""}}),
            json!({"server": {"flavorRef": "2", "imageRef": null}}),
            json!({"server": {"flavorRef": "2", "imageRef": "i", "personality": {"path": "/a"}}}),
            json!({"server": {"flavorRef": "2", "imageRef": "i", "personality": [{"path": "/a"}]}}),
            json!({"server": {"flavorRef": "2", "imageRef": "i", "personality": [{"path": "p".repeat(256), "contents": "aGk="}]}}),
            json!({"server": {"flavorRef": "2", "imageRef": "i", "personality": [{"path": "/a", "contents": "not base64!"}]}}),
            json!({"server": {"flavorRef": "2", "imageRef": "i"}, "loadBalancers": [{"loadBalancerId": 1}]}),
            json!({"server": {"flavorRef": "2", "imageRef": "i"}, "loadBalancers": [{"loadBalancerId": 1, "port": "80"}]}),
            json!({"server": {"flavorRef": "2", "imageRef": "i"}, "loadBalancers": [{"loadBalancerId": "a", "type": "RackConnectV3", "port": 80}]}),
            json!({"server": {"flavorRef": "2", "imageRef": "i"}, "loadBalancers": [{"loadBalancerId": 1, "port": 80, "type": ""}]}),
            json!({"server": {"flavorRef": "2", "imageRef": "i"}, "loadBalancers": [{"loadBalancerId": 1, "port": 80, "type": null}]}),
            json!({"server": {"flavorRef": "2", "imageRef": "i"}, "loadBalancers": [{"loadBalancerId": 1, "port": 80}, {"loadBalancerId": 1, "port": 80}]}),
            json!({"server": {"flavorRef": "2", "imageRef": "i"}, "loadBalancers": (1..=6).map(|i| json!({"loadBalancerId": i, "port": 80})).collect::<Vec<_>>()}),
            json!({"server": {"flavorRef": "2", "imageRef": "i", "networks": [{"uuid": "x"}]}, "loadBalancers": [{"loadBalancerId": 1, "port": 80}]}),
            json!({"server": {"flavorRef": "2", "imageRef": "i"}, "draining_timeout": 29}),
            json!({"server": {"flavorRef": "2", "imageRef": "i"}, "draining_timeout": 3601}),
            json!({"server": {"flavorRef": "2", "imageRef": "i"}, "draining_timeout": "30"}),
            json!({"server": {"flavorRef": "2", "imageRef": "i"}, "extra": 1}),
        ];
        for args in cases {
            assert!(server(args.clone()).is_err(), "should reject {args}");
        }
    }

    #[test]
    fn servicenet_rule_has_its_own_message() {
        let err = server(json!({"server": {"flavorRef": "2", "imageRef": "i", "networks": []}, "loadBalancers": [{"loadBalancerId": 1, "port": 80}]})).unwrap_err();
        assert_eq!(
            err.message,
            "ServiceNet network must be present if one or more Cloud Load Balancers are configured."
        );
    }

    #[test]
    fn top_level_needs_exactly_type_and_args() {
        assert!(LaunchConfig::parse(&json!({"type": "launch_server"}), "l").is_err());
        assert!(LaunchConfig::parse(&json!({"type": "other", "args": {}}), "l").is_err());
        assert!(
            LaunchConfig::parse(
                &json!({"type": "launch_server", "args": {"server": {"flavorRef": "2", "imageRef": "i"}}, "x": 1}),
                "l"
            )
            .is_err()
        );
    }

    #[test]
    fn local_process_is_parsed_into_its_typed_form() {
        let config = LaunchConfig::parse(
            &json!({"type": "local_process", "args": {
                "process": {"command": "ebb", "args": ["demo-app"], "env": {"A": "1"}, "readiness": {"http": {"path": "/health"}}, "stop_signal": "SIGINT", "stop_timeout": 5},
                "loadBalancers": [{"type": "builtin", "port": 8080}],
                "draining_timeout": 0
            }}),
            "l",
        )
        .unwrap();
        assert_eq!(config.kind, LaunchKind::LocalProcess);
        let typed = LocalProcessLaunch::parse(&config.document["args"], "args").unwrap();
        assert_eq!(typed.process.readiness, Readiness::Http { path: "/health".into() });
        assert_eq!(typed.load_balancers[0].port, 8080);
        let minimal = LocalProcessLaunch::parse(&json!({"process": {"command": "x"}}), "args").unwrap();
        assert_eq!(minimal.process.readiness, Readiness::Tcp);
        assert_eq!(minimal.process.stop_signal, "SIGTERM");
    }

    #[test]
    fn local_process_rejections() {
        let cases = [
            json!({}),
            json!({"process": {}}),
            json!({"process": {"command": " "}}),
            json!({"process": {"command": "x", "args": "a b"}}),
            json!({"process": {"command": "x", "args": [1]}}),
            json!({"process": {"command": "x", "env": {"A": 1}}}),
            json!({"process": {"command": "x", "env": {"A=B": "1"}}}),
            json!({"process": {"command": "x", "readiness": {}}}),
            json!({"process": {"command": "x", "readiness": {"tcp": {}, "none": {}}}}),
            json!({"process": {"command": "x", "readiness": {"http": {"path": "health"}}}}),
            json!({"process": {"command": "x", "readiness": {"tcp": {"port": 1}}}}),
            json!({"process": {"command": "x", "stop_signal": "SIGFOO"}}),
            json!({"process": {"command": "x", "stop_timeout": -1}}),
            json!({"process": {"command": "x", "extra": 1}}),
            json!({"process": {"command": "x"}, "loadBalancers": [{"type": "CloudLoadBalancer", "port": 80}]}),
            json!({"process": {"command": "x"}, "loadBalancers": [{"type": "builtin", "port": 0}]}),
            json!({"process": {"command": "x"}, "loadBalancers": [{"type": "builtin", "port": 80}, {"type": "builtin", "port": 80}]}),
            json!({"process": {"command": "x"}, "draining_timeout": 3601}),
            json!({"process": {"command": "x"}, "draining_timeout": -1}),
        ];
        for args in cases {
            let doc = json!({"type": "local_process", "args": args});
            assert!(LaunchConfig::parse(&doc, "l").is_err(), "should reject {args}");
        }
    }

    #[test]
    fn launch_stack_needs_exactly_one_template() {
        let ok = json!({"type": "launch_stack", "args": {"stack": {"template": "heat_template_version: 2015-10-15"}}});
        assert!(LaunchConfig::parse(&ok, "l").is_ok());
        let both = json!({"type": "launch_stack", "args": {"stack": {"template": "t", "template_url": "u"}}});
        assert!(LaunchConfig::parse(&both, "l").is_err());
        let extra = json!({"type": "launch_stack", "args": {"stack": {"template": "t", "x": 1}}});
        assert!(LaunchConfig::parse(&extra, "l").is_err());
    }
}
