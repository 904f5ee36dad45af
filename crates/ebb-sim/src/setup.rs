//! What is simulated: a group and its policies, from the body of `POST /groups`
//! (`groupConfiguration`, `scalingPolicies`, `launchConfiguration` optional) or from a Cloud
//! Foundry policy document, validated exactly as the API validates them.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use ebb_core::cf_policy::{self, ThresholdRanges};
use ebb_core::decide;
use ebb_core::group::{GroupConfig, Mode};
use ebb_core::ids::{GroupId, PolicyId};
use ebb_core::launch::LaunchConfig;
use ebb_core::policy::{Origin, Policy};
use ebb_core::records::{Group, PolicyRecord};

/// A group and its policies, as the store would hold them after creation.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The group, at its minimum.
    pub group: Group,
    /// Its policies.
    pub policies: Vec<PolicyRecord>,
}

/// Why a policy document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

impl Setup {
    /// The group a document describes, created at `now`.
    pub fn parse(document: &Value, now: Timestamp) -> Result<Setup, SetupError> {
        if document.get("groupConfiguration").is_some() {
            return Self::otter(document, now);
        }
        if document.get("instance_min_count").is_some() {
            return Self::cloud_foundry(document, now);
        }
        Err(SetupError(
            "a policy file is the body of POST /groups (with groupConfiguration) or a Cloud Foundry policy (with instance_min_count)"
                .into(),
        ))
    }

    /// The same group starting at `desired` members, within its bounds (a replay starts where
    /// the live group was).
    pub fn starting_at(mut self, desired: u32) -> Setup {
        let config = &self.group.config;
        self.group.state.desired = desired.clamp(config.min_entities, config.max_entities);
        self
    }

    fn otter(document: &Value, now: Timestamp) -> Result<Setup, SetupError> {
        let invalid = |err: ebb_core::Invalid| SetupError(err.message);
        let config =
            GroupConfig::parse(&document["groupConfiguration"], "groupConfiguration", Mode::Create).map_err(invalid)?;
        let launch = match document.get("launchConfiguration") {
            Some(launch) => LaunchConfig::parse(launch, "launchConfiguration").map_err(invalid)?,
            None => default_launch(),
        };
        let mut group = new_group(config, launch, now);
        let listed = document.get("scalingPolicies").and_then(Value::as_array).cloned().unwrap_or_default();
        let mut policies = Vec::with_capacity(listed.len());
        for (index, body) in listed.iter().enumerate() {
            let policy =
                Policy::parse(body, &format!("scalingPolicies[{index}]"), Origin::Submitted(now)).map_err(invalid)?;
            let id = PolicyId::new(format!("p{index}"));
            policies.push(PolicyRecord {
                id,
                group_id: group.id.clone(),
                body: body.clone(),
                policy,
                touched_at: None,
            });
        }
        group.state.desired = group.config.min_entities;
        Ok(Setup { group, policies })
    }

    fn cloud_foundry(document: &Value, now: Timestamp) -> Result<Setup, SetupError> {
        let policy = cf_policy::parse(document, now, &ThresholdRanges::default()).map_err(|errors| {
            SetupError(
                errors.iter().map(|e| format!("{}: {}", e.context, e.description)).collect::<Vec<_>>().join("; "),
            )
        })?;
        let config = json!({"name": "simulated", "cooldown": 0,
            "minEntities": policy.instance_min_count, "maxEntities": policy.instance_max_count});
        let config = GroupConfig::parse(&config, "", Mode::Create).map_err(|err| SetupError(err.message))?;
        let group = new_group(config, default_launch(), now);
        let decision = decide::set_rules_policy(&group, policy, now);
        Ok(Setup { group: decision.group.unwrap_or(group), policies: Vec::new() })
    }
}

fn default_launch() -> LaunchConfig {
    let document =
        json!({"type": "launch_server", "args": {"server": {"flavorRef": "simulated", "imageRef": "simulated"}}});
    LaunchConfig::parse(&document, "launchConfiguration")
        .unwrap_or_else(|err| unreachable!("a valid document: {err:?}"))
}

fn new_group(config: GroupConfig, launch: LaunchConfig, now: Timestamp) -> Group {
    let id = GroupId::new("simulated");
    let (state, _) = decide::create_group(&id, &config, now);
    Group {
        id,
        tenant_id: "simulation".into(),
        config: Arc::new(config),
        launch: Arc::new(launch),
        state,
        windows: None,
        rules: None,
        credential: None,
        created_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "1998-05-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_create_group_body_and_a_cloud_foundry_policy_both_set_up_a_group() {
        let otter = json!({"groupConfiguration": {"name": "web", "cooldown": 0, "minEntities": 2, "maxEntities": 20},
            "scalingPolicies": [{"name": "cpu", "type": "target_tracking", "cooldown": 0,
                "args": {"metric": "cpuutil", "target": {"type": "Utilization", "averageUtilization": 60}}}]});
        let setup = Setup::parse(&otter, now()).unwrap();
        assert_eq!((setup.group.state.desired, setup.policies.len()), (2, 1));
        let cf = json!({"instance_min_count": 1, "instance_max_count": 5, "scaling_rules": [
            {"metric_type": "cpuutil", "threshold": 80, "operator": ">", "adjustment": "+1"}]});
        let setup = Setup::parse(&cf, now()).unwrap();
        assert!(setup.group.rules.is_some());
        assert_eq!(setup.group.config.max_entities, 5);
        assert_eq!(setup.clone().starting_at(3).group.state.desired, 3);
        assert_eq!(setup.starting_at(9).group.state.desired, 5, "within its bounds");
    }

    #[test]
    fn bad_documents_say_why() {
        let bad = json!({"groupConfiguration": {"name": "web", "cooldown": 0, "minEntities": 2, "maxEntities": 20},
            "scalingPolicies": [{"name": "cpu", "type": "target_tracking", "cooldown": 0, "args": {"metric": "cpuutil"}}]});
        assert!(Setup::parse(&bad, now()).unwrap_err().0.contains("target"));
        assert!(Setup::parse(&json!({"hello": 1}), now()).unwrap_err().0.contains("policy file"));
        let cf = json!({"instance_min_count": 5, "instance_max_count": 1});
        assert!(Setup::parse(&cf, now()).is_err());
    }
}
