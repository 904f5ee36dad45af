//! The one write path of decisions: in one transaction, lock the group's row, load the snapshot
//! a subject names, run the decision on it, and write what it returns. The row lock is what
//! makes the read-modify-write atomic against other nodes; nothing here decides anything.

use deadpool_postgres::GenericClient;
use ebb_core::decide::{Decision, Snapshot};
use ebb_core::records::{Direction, Group};

use super::policies::capability_target;
use super::rows::*;
use super::{PostgresStore, backend};
use crate::error::StoreError;
use crate::model::*;

/// Loads what `subject` names, its group's row locked first; `None` when it no longer exists
/// in that form.
async fn load<C: GenericClient>(
    client: &C,
    subject: &Subject,
) -> Result<Option<(Snapshot, Option<PolicyId>)>, StoreError> {
    match subject {
        Subject::Group { tenant, group, policy, member } => {
            let record = fetch_group(client, tenant.as_str(), group.as_str(), Lock::ForUpdate).await?;
            if let Some(member) = member {
                let found = count(
                    client,
                    "checking a member",
                    "SELECT COUNT(*) AS count FROM members WHERE group_id = $1 AND id = $2",
                    &[&group.as_str(), &member.as_str()],
                )
                .await?;
                if found == 0 {
                    return Err(StoreError::MemberNotFound);
                }
            }
            let loaded = match policy {
                Some(policy) => find_policy(client, group.as_str(), policy.as_str()).await?,
                None => None,
            };
            Ok(Some((Snapshot { group: record, policy: loaded, webhook: None }, policy.clone())))
        }
        Subject::Capability { hash } => {
            let Some(target) = capability_target(client, hash).await? else { return Ok(None) };
            let group = fetch_group_by_id(client, target.group_id.as_str(), Lock::ForUpdate)
                .await?
                .filter(|g| !g.state.deleting);
            let Some(group) = group else { return Ok(None) };
            // Looked up again under the lock: the webhook may have gone meanwhile.
            if capability_target(client, hash).await?.is_none() {
                return Ok(None);
            }
            let policy = find_policy(client, target.group_id.as_str(), target.policy_id.as_str()).await?;
            Ok(Some((Snapshot { group, policy, webhook: Some(target.webhook_id) }, Some(target.policy_id))))
        }
        Subject::Schedule { policy, due } => {
            let owner = query_one(
                client,
                "reading a schedule",
                "SELECT group_id FROM schedules WHERE policy_id = $1",
                &[&policy.as_str()],
                |row| col::<String>(row, "group_id"),
            )
            .await?;
            let Some(group_id) = owner else { return Ok(None) };
            // The group's row first, then the schedule's: the order every writer keeps.
            let group = fetch_group_by_id(client, &group_id, Lock::ForUpdate).await?;
            let armed = query_one(
                client,
                "reading a schedule",
                "SELECT next_fire FROM schedules WHERE policy_id = $1 FOR UPDATE",
                &[&policy.as_str()],
                |row| col::<i64>(row, "next_fire"),
            )
            .await?;
            if armed != Some(millis(*due)) {
                return Ok(None);
            }
            let record = find_policy(client, &group_id, policy.as_str()).await?;
            let (Some(group), Some(record)) = (group.filter(|g| !g.state.deleting), record) else {
                // Its group or policy went away while it was armed: nothing fires any more.
                arm_schedule(client, &group_id, policy.as_str(), None).await?;
                return Ok(None);
            };
            Ok(Some((Snapshot { group, policy: Some(record), webhook: None }, Some(policy.clone()))))
        }
        Subject::WindowTimer { group, due } => {
            let record = fetch_group_by_id(client, group.as_str(), Lock::ForUpdate).await?;
            let armed = count(
                client,
                "reading a window timer",
                "SELECT COUNT(*) AS count FROM window_timers WHERE group_id = $1 AND next_change = $2",
                &[&group.as_str(), &millis(*due)],
            )
            .await?;
            if armed == 0 {
                return Ok(None);
            }
            let Some(record) = record.filter(|g| !g.state.deleting) else {
                arm_window(client, group.as_str(), None).await?;
                return Ok(None);
            };
            Ok(Some((Snapshot { group: record, policy: None, webhook: None }, None)))
        }
    }
}

/// Writes what a decision returns about the group it was taken on (`before`). The group's
/// configuration and windows are written only when they changed: most decisions change state.
async fn write<C: GenericClient>(client: &C, before: &Group, decision: &Decision) -> Result<(), StoreError> {
    let group = &before.id.as_str();
    if let Some(changed) = &decision.group {
        execute(
            client,
            "writing a decision",
            "UPDATE groups SET desired = $1, paused = $2, touched_at = $3, deleting = $4, window_active = $5, \
             rules_cooldown_until = $6, paused_direction = $7 WHERE id = $8",
            &[
                &i64::from(changed.state.desired),
                &changed.state.paused,
                &changed.state.touched_at.map(|at| at.to_string()),
                &changed.state.deleting,
                &changed.state.window,
                &changed.state.rules_cooldown_until.map(millis),
                &changed.state.paused_direction.map(Direction::as_str),
                group,
            ],
        )
        .await?;
        if changed.config != before.config || changed.windows != before.windows || changed.rules != before.rules {
            execute(
                client,
                "writing a group's configuration",
                "UPDATE groups SET config = $1, windows = $2, rules = $3 WHERE id = $4",
                &[
                    &config_text(&changed.config)?,
                    &changed.windows.as_ref().map(|w| w.document.to_string()),
                    &rules_text(changed.rules.as_deref())?,
                    group,
                ],
            )
            .await?;
        }
    }
    if let Some((policy, at)) = &decision.policy_touched {
        execute(
            client,
            "starting a policy cooldown",
            "UPDATE policies SET touched_at = $1 WHERE id = $2",
            &[&at.to_string(), &policy.as_str()],
        )
        .await?;
    }
    if let Some((policy, next)) = &decision.schedule {
        arm_schedule(client, group, policy.as_str(), *next).await?;
    }
    if let Some(next) = decision.window_timer {
        arm_window(client, group, next).await?;
    }
    for entry in &decision.history {
        record_history(client, entry).await?;
    }
    for event in &decision.events {
        record_event(client, event).await?;
    }
    Ok(())
}

fn operation(subject: &Subject) -> &'static str {
    match subject {
        Subject::Group { .. } => "decide_group",
        Subject::Capability { .. } => "decide_capability",
        Subject::Schedule { .. } => "decide_schedule",
        Subject::WindowTimer { .. } => "decide_window",
    }
}

#[async_trait::async_trait]
impl crate::DecisionStore for PostgresStore {
    async fn decide(&self, subject: Subject, decide: crate::Decide) -> Result<Option<Committed>, StoreError> {
        let _timer = self.metrics.time(operation(&subject));
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend("starting a transaction"))?;
        let Some((snapshot, policy_id)) = load(&tx, &subject).await? else {
            // Disarming a timer that can no longer fire is kept.
            tx.commit().await.map_err(backend("committing"))?;
            return Ok(None);
        };
        let decision = decide(&snapshot)?;
        write(&tx, &snapshot.group, &decision).await?;
        tx.commit().await.map_err(backend("committing"))?;
        Ok(Some(Committed {
            tenant_id: snapshot.group.tenant_id.clone(),
            group_id: snapshot.group.id.clone(),
            policy_id,
            webhook_id: snapshot.webhook.clone(),
            launch_kind: snapshot.group.launch.kind,
            decision,
        }))
    }
}
