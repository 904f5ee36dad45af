//! What the operator allows a tenant to run on this machine.
//!
//! A `local_process` member is code execution on the host, so it is off for a tenant until
//! the operator enables it, optionally only for some commands and working directories
//! (absolute paths; absent means any). [`LocalProcessGrant::check`] decides whether a launch
//! configuration is within what was granted and, when it is not, says why in words the
//! tenant can act on.

use std::path::{Component, Path};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Invalid;
use crate::json::{self, Obj};
use crate::launch::ProcessSpec;

/// The most entries of an allow-list.
const MAX_ENTRIES: usize = 100;

/// A tenant's permission to run `local_process` members.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalProcessGrant {
    /// Whether the tenant may run `local_process` members at all.
    pub enabled: bool,
    /// The only commands allowed (absolute paths); any when `None`.
    pub commands: Option<Vec<String>>,
    /// The only working directories allowed, with everything under them (absolute paths);
    /// any when `None`.
    pub working_dirs: Option<Vec<String>>,
}

/// Checks an absolute, normalized path: starts with `/`, no `.` or `..` components.
fn absolute_path(value: &Value, path: &str) -> Result<String, Invalid> {
    let text = json::non_blank(value, path, 4096)?;
    let normal = text.starts_with('/')
        && !text.contains('\0')
        && Path::new(text).components().all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
    if !normal {
        return Err(Invalid::schema(format!(
            "{path}: {} is not an absolute path without '.' or '..'",
            json::show(value)
        )));
    }
    Ok(text.to_string())
}

fn path_list(value: Option<&Value>, path: &str) -> Result<Option<Vec<String>>, Invalid> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(list) => json::array(list, path, MAX_ENTRIES)?
            .iter()
            .enumerate()
            .map(|(index, item)| absolute_path(item, &format!("{path}[{index}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
    }
}

/// Whether `dir` is `base` or lies under it, component by component.
fn within(dir: &Path, base: &Path) -> bool {
    dir.starts_with(base)
}

impl LocalProcessGrant {
    /// Validates `{"enabled": bool, "commands": [...], "working_dirs": [...]}`.
    pub fn parse(value: &Value) -> Result<Self, Invalid> {
        let obj = Obj::new(value, "")?;
        obj.only(&["enabled", "commands", "working_dirs"])?;
        let enabled = json::boolean(obj.required("enabled")?, "enabled")?;
        Ok(LocalProcessGrant {
            enabled,
            commands: path_list(obj.get("commands"), "commands")?,
            working_dirs: path_list(obj.get("working_dirs"), "working_dirs")?,
        })
    }

    /// Whether a member of `process` may run for `tenant`; when not, why.
    pub fn check(&self, tenant: &str, process: &ProcessSpec) -> Result<(), String> {
        if !self.enabled {
            return Err(format!(
                "local_process launch configurations are not enabled for tenant {tenant}: they run code on the \
                 Ebb server, so the operator must allow them (PUT /admin/v1/tenants/{tenant}/local-process, or \
                 ebb tenant local-process {tenant} --enable)"
            ));
        }
        if let Some(commands) = &self.commands
            && !commands.contains(&process.command)
        {
            return Err(format!(
                "command {:?} is not allowed for tenant {tenant}; the operator allows only {}",
                process.command,
                commands.join(", ")
            ));
        }
        if let Some(dirs) = &self.working_dirs {
            let allowed = || format!("the operator allows only {} and what is under them", dirs.join(", "));
            let Some(cwd) = &process.cwd else {
                return Err(format!(
                    "tenant {tenant} must give its members a working directory (process.cwd); {}",
                    allowed()
                ));
            };
            let clean = Path::new(cwd).components().all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
            if !cwd.starts_with('/') || !clean || !dirs.iter().any(|dir| within(Path::new(cwd), Path::new(dir))) {
                return Err(format!("working directory {cwd:?} is not allowed for tenant {tenant}; {}", allowed()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn process(command: &str, cwd: Option<&str>) -> ProcessSpec {
        serde_json::from_value(json!({"command": command, "cwd": cwd})).unwrap()
    }

    #[test]
    fn off_until_enabled() {
        let grant = LocalProcessGrant::default();
        let why = grant.check("acme", &process("/bin/app", None)).unwrap_err();
        assert!(why.contains("not enabled for tenant acme") && why.contains("--enable"), "{why}");
        let grant = LocalProcessGrant { enabled: true, ..Default::default() };
        assert!(grant.check("acme", &process("app", None)).is_ok());
    }

    #[test]
    fn allow_lists_of_commands_and_working_directories() {
        let grant = LocalProcessGrant::parse(
            &json!({"enabled": true, "commands": ["/usr/bin/app"], "working_dirs": ["/srv/acme"]}),
        )
        .unwrap();
        assert!(grant.check("acme", &process("/usr/bin/app", Some("/srv/acme"))).is_ok());
        assert!(grant.check("acme", &process("/usr/bin/app", Some("/srv/acme/web"))).is_ok());
        for (command, cwd) in [
            ("app", Some("/srv/acme")),
            ("/usr/bin/sh", Some("/srv/acme")),
            ("/usr/bin/app", None),
            ("/usr/bin/app", Some("/srv/acme2")),
            ("/usr/bin/app", Some("/srv/acme/../other")),
            ("/usr/bin/app", Some("srv/acme")),
        ] {
            assert!(grant.check("acme", &process(command, cwd)).is_err(), "{command} in {cwd:?}");
        }
    }

    #[test]
    fn grants_are_validated() {
        for bad in [
            json!({}),
            json!({"enabled": "yes"}),
            json!({"enabled": true, "commands": ["relative"]}),
            json!({"enabled": true, "commands": "/bin/sh"}),
            json!({"enabled": true, "working_dirs": ["/srv/../etc"]}),
            json!({"enabled": true, "other": 1}),
        ] {
            assert!(LocalProcessGrant::parse(&bad).is_err(), "{bad}");
        }
        let open = LocalProcessGrant::parse(&json!({"enabled": true, "commands": null})).unwrap();
        assert_eq!(open, LocalProcessGrant { enabled: true, commands: None, working_dirs: None });
    }
}
