//! Settings of `ebb serve`: each from a flag, else its environment variable, else the TOML
//! file given with `--config`, else a default.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

/// The `--config` file: the same settings as the flags, in snake case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub store: Option<String>,
    pub public_url: Option<String>,
    pub tenant_requests_per_minute: Option<u32>,
    pub capability_requests_per_second: Option<u32>,
    pub max_groups: Option<usize>,
    pub max_policies_per_group: Option<usize>,
    pub max_webhooks_per_policy: Option<usize>,
    pub build_timeout: Option<f64>,
    pub self_heal_interval: Option<f64>,
    pub server_build_timeout: Option<f64>,
    pub cloud_retry_interval: Option<f64>,
    pub cloud_create_interval: Option<f64>,
    pub cloud_delete_interval: Option<f64>,
    pub clb_change_interval: Option<f64>,
    pub balancer_host: Option<std::net::Ipv4Addr>,
    pub schedule_grace: Option<f64>,
    pub member_user: Option<String>,
    pub member_group: Option<String>,
    pub member_log_max_bytes: Option<u64>,
    pub history_retention_days: Option<f64>,
    pub app_requests_per_second: Option<u32>,
    pub rules_time_scale: Option<f64>,
    pub metric_retention_days: Option<f64>,
    pub measure_interval: Option<f64>,
    pub broker_username: Option<String>,
    pub broker_password: Option<String>,
}

impl FileConfig {
    /// Reads and checks a TOML file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }
}

/// The resolved settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub listen: String,
    pub store: String,
    pub public_url: Option<String>,
    pub tenant_requests_per_minute: u32,
    pub capability_requests_per_second: u32,
    pub limits: ebb_core::limits::Limits,
    pub converge: ebb_engine::converger::ConvergeSettings,
    pub balancer_host: std::net::Ipv4Addr,
    pub schedule_grace: std::time::Duration,
    pub member_user: Option<String>,
    pub member_group: Option<String>,
    pub member_log_max_bytes: u64,
    pub history_retention: std::time::Duration,
    pub app_requests_per_second: u32,
    pub rules_time_scale: f64,
    pub metric_retention: std::time::Duration,
    pub measure_interval: std::time::Duration,
    pub broker_username: Option<String>,
    pub broker_password: Option<String>,
}

impl Settings {
    /// Flag-or-environment values first, then the file, then defaults.
    pub fn resolve(flags: FileConfig, file: FileConfig) -> Settings {
        let defaults = ebb_core::limits::Limits::default();
        let converge_defaults = ebb_engine::converger::ConvergeSettings::default();
        let seconds = |value: Option<f64>, default: std::time::Duration| {
            value.filter(|s| s.is_finite() && *s > 0.0).map(std::time::Duration::from_secs_f64).unwrap_or(default)
        };
        let at_least_zero = |value: Option<f64>, default: std::time::Duration| {
            value.filter(|s| s.is_finite() && *s >= 0.0).map(std::time::Duration::from_secs_f64).unwrap_or(default)
        };
        let converge = ebb_engine::converger::ConvergeSettings {
            build_timeout: seconds(flags.build_timeout.or(file.build_timeout), converge_defaults.build_timeout),
            self_heal_interval: seconds(
                flags.self_heal_interval.or(file.self_heal_interval),
                converge_defaults.self_heal_interval,
            ),
            server_build_timeout: seconds(
                flags.server_build_timeout.or(file.server_build_timeout),
                converge_defaults.server_build_timeout,
            ),
            cloud_retry_interval: seconds(
                flags.cloud_retry_interval.or(file.cloud_retry_interval),
                converge_defaults.cloud_retry_interval,
            ),
            cloud_throttles: ebb_engine::provider::cloud::tenant::Throttles {
                create: at_least_zero(
                    flags.cloud_create_interval.or(file.cloud_create_interval),
                    converge_defaults.cloud_throttles.create,
                ),
                delete: at_least_zero(
                    flags.cloud_delete_interval.or(file.cloud_delete_interval),
                    converge_defaults.cloud_throttles.delete,
                ),
                clb: at_least_zero(
                    flags.clb_change_interval.or(file.clb_change_interval),
                    converge_defaults.cloud_throttles.clb,
                ),
            },
            ..converge_defaults
        };
        Settings {
            listen: flags.listen.or(file.listen).unwrap_or_else(|| "127.0.0.1:9000".to_string()),
            store: flags.store.or(file.store).unwrap_or_else(|| "sqlite://ebb.db".to_string()),
            public_url: flags.public_url.or(file.public_url),
            tenant_requests_per_minute: flags
                .tenant_requests_per_minute
                .or(file.tenant_requests_per_minute)
                .unwrap_or(1000),
            capability_requests_per_second: flags
                .capability_requests_per_second
                .or(file.capability_requests_per_second)
                .unwrap_or(10),
            limits: ebb_core::limits::Limits {
                max_groups: flags.max_groups.or(file.max_groups).unwrap_or(defaults.max_groups),
                max_policies_per_group: flags
                    .max_policies_per_group
                    .or(file.max_policies_per_group)
                    .unwrap_or(defaults.max_policies_per_group),
                max_webhooks_per_policy: flags
                    .max_webhooks_per_policy
                    .or(file.max_webhooks_per_policy)
                    .unwrap_or(defaults.max_webhooks_per_policy),
                max_collectors_per_group: defaults.max_collectors_per_group,
            },
            converge,
            balancer_host: flags.balancer_host.or(file.balancer_host).unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
            schedule_grace: seconds(flags.schedule_grace.or(file.schedule_grace), std::time::Duration::from_secs(300)),
            history_retention: seconds(
                flags.history_retention_days.or(file.history_retention_days).map(|days| days * 86_400.0),
                std::time::Duration::from_secs(30 * 86_400),
            ),
            measure_interval: seconds(
                flags.measure_interval.or(file.measure_interval),
                std::time::Duration::from_secs(5),
            ),
            metric_retention: seconds(
                flags.metric_retention_days.or(file.metric_retention_days).map(|days| days * 86_400.0),
                std::time::Duration::from_secs(10 * 86_400),
            ),
            app_requests_per_second: flags.app_requests_per_second.or(file.app_requests_per_second).unwrap_or(10),
            rules_time_scale: flags
                .rules_time_scale
                .or(file.rules_time_scale)
                .filter(|scale| scale.is_finite() && *scale > 0.0 && *scale <= 1.0)
                .unwrap_or(1.0),
            broker_username: flags.broker_username.or(file.broker_username).filter(|u| !u.is_empty()),
            broker_password: flags.broker_password.or(file.broker_password).filter(|p| !p.is_empty()),
            member_user: flags.member_user.or(file.member_user),
            member_group: flags.member_group.or(file.member_group),
            member_log_max_bytes: flags
                .member_log_max_bytes
                .or(file.member_log_max_bytes)
                .unwrap_or(ebb_engine::provider::local_process::log::DEFAULT_MAX_BYTES)
                .max(ebb_engine::provider::local_process::log::MIN_MAX_BYTES),
        }
    }
}

impl Settings {
    /// The service broker's user name and password: both, or neither (the broker is off).
    pub fn broker(&self) -> anyhow::Result<Option<(&str, &str)>> {
        match (&self.broker_username, &self.broker_password) {
            (Some(user), Some(password)) => Ok(Some((user, password))),
            (None, None) => Ok(None),
            (Some(_), None) => anyhow::bail!("--broker-username needs --broker-password (or EBB_BROKER_PASSWORD)"),
            (None, Some(_)) => anyhow::bail!("--broker-password needs --broker-username"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let flags = FileConfig { listen: Some("127.0.0.1:1".into()), ..FileConfig::default() };
        let file: FileConfig =
            toml::from_str("listen = \"127.0.0.1:2\"\nstore = \"sqlite://x.db\"\ncapability_requests_per_second = 5")
                .unwrap();
        let settings = Settings::resolve(flags, file);
        assert_eq!(settings.listen, "127.0.0.1:1");
        assert_eq!(settings.store, "sqlite://x.db");
        assert_eq!(settings.capability_requests_per_second, 5);
        assert_eq!(settings.tenant_requests_per_minute, 1000);
        assert!(toml::from_str::<FileConfig>("unknown = 1").is_err());
    }
}
