//! The one write path of decisions: inside the writer's transaction, load the snapshot a
//! subject names, run the decision on it, and write what it returns. The single writer is
//! what makes the read-modify-write atomic; nothing here decides anything.

use ebb_core::decide::{Decision, Snapshot};
use ebb_core::records::{Direction, Group};
use rusqlite::{Connection, params};

use super::SqliteStore;
use super::rows::*;
use crate::error::StoreError;
use crate::model::*;

/// A snapshot and what it was about.
struct Loaded {
    snapshot: Snapshot,
    policy_id: Option<PolicyId>,
}

/// Loads what `subject` names; `None` when it no longer exists in that form.
fn load(conn: &Connection, subject: &Subject) -> Result<Option<Loaded>, StoreError> {
    match subject {
        Subject::Group { tenant, group, policy, member } => {
            let record = fetch_group(conn, tenant.as_str(), group.as_str())?;
            if let Some(member) = member {
                let found = count(
                    conn,
                    "checking a member",
                    "SELECT COUNT(*) FROM members WHERE group_id = ?1 AND id = ?2",
                    params![group.as_str(), member.as_str()],
                )?;
                if found == 0 {
                    return Err(StoreError::MemberNotFound);
                }
            }
            let loaded_policy = match policy {
                Some(policy) => find_policy(conn, group.as_str(), policy.as_str())?,
                None => None,
            };
            Ok(Some(Loaded {
                snapshot: Snapshot { group: record, policy: loaded_policy, webhook: None },
                policy_id: policy.clone(),
            }))
        }
        Subject::Capability { hash } => {
            let Some((group, policy, webhook)) = capability_snapshot(conn, hash)? else { return Ok(None) };
            Ok(Some(Loaded {
                policy_id: Some(policy.id.clone()),
                snapshot: Snapshot { group, policy: Some(policy), webhook: Some(webhook) },
            }))
        }
        Subject::Schedule { policy, due } => {
            let armed = query_one(
                conn,
                "reading a schedule",
                "SELECT group_id, next_fire FROM schedules WHERE policy_id = ?1",
                [policy.as_str()],
                |row| Ok((col::<String>(row, "group_id")?, col::<i64>(row, "next_fire")?)),
            )?;
            let Some((group_id, next_fire)) = armed else { return Ok(None) };
            if next_fire != millis(*due) {
                return Ok(None);
            }
            let group = fetch_group_by_id(conn, &group_id)?.filter(|g| !g.state.deleting);
            let record = find_policy(conn, &group_id, policy.as_str())?;
            let (Some(group), Some(record)) = (group, record) else {
                // Its group or policy went away while it was armed: nothing fires any more.
                arm_schedule(conn, &group_id, policy.as_str(), None)?;
                return Ok(None);
            };
            Ok(Some(Loaded {
                snapshot: Snapshot { group, policy: Some(record), webhook: None },
                policy_id: Some(policy.clone()),
            }))
        }
        Subject::WindowTimer { group, due } => {
            let armed = count(
                conn,
                "reading a window timer",
                "SELECT COUNT(*) FROM window_timers WHERE group_id = ?1 AND next_change = ?2",
                params![group.as_str(), millis(*due)],
            )?;
            if armed == 0 {
                return Ok(None);
            }
            let Some(record) = fetch_group_by_id(conn, group.as_str())?.filter(|g| !g.state.deleting) else {
                arm_window(conn, group.as_str(), None)?;
                return Ok(None);
            };
            Ok(Some(Loaded { snapshot: Snapshot { group: record, policy: None, webhook: None }, policy_id: None }))
        }
    }
}

/// The group, policy and webhook a capability hash names, in one query: capability URLs are
/// the hottest path there is.
fn capability_snapshot(conn: &Connection, hash: &str) -> Result<Option<(Group, PolicyRecord, WebhookId)>, StoreError> {
    query_one(
        conn,
        "reading a capability",
        "SELECT g.id AS id, g.tenant_id AS tenant_id, g.config AS config, g.launch AS launch, g.desired AS desired, \
         g.paused AS paused, g.status AS status, g.error_reasons AS error_reasons, g.touched_at AS touched_at, \
         g.created_at AS created_at, g.deleting AS deleting, g.windows AS windows, g.window_active AS window_active, \
         g.rules AS rules, g.rules_cooldown_until AS rules_cooldown_until, \
         g.credential_username AS credential_username, g.credential_hash AS credential_hash, \
         g.paused_direction AS paused_direction, \
         p.id AS policy_id, p.body AS policy_body, p.touched_at AS policy_touched_at, w.id AS webhook_id \
         FROM webhooks w JOIN policies p ON p.id = w.policy_id JOIN groups g ON g.id = p.group_id \
         WHERE w.capability_hash = ?1 AND g.deleting = 0",
        [hash],
        |row| {
            let group = group_from_row(row)?;
            let policy = stored::policy(
                col(row, "policy_id")?,
                group.id.to_string(),
                &col::<String>(row, "policy_body")?,
                col(row, "policy_touched_at")?,
            )?;
            Ok((group, policy, id(row, "webhook_id")?))
        },
    )
}

/// Writes what a decision returns about the group it was taken on (`before`). The group's
/// configuration and windows are written only when they changed: most decisions change state.
fn write(conn: &Connection, before: &Group, decision: &Decision) -> Result<(), StoreError> {
    let group = before.id.as_str();
    if let Some(changed) = &decision.group {
        execute(
            conn,
            "writing a decision",
            "UPDATE groups SET desired = ?1, paused = ?2, touched_at = ?3, deleting = ?4, window_active = ?5, \
             rules_cooldown_until = ?6, paused_direction = ?7 WHERE id = ?8",
            params![
                changed.state.desired,
                changed.state.paused,
                changed.state.touched_at.map(|at| at.to_string()),
                changed.state.deleting,
                changed.state.window,
                changed.state.rules_cooldown_until.map(millis),
                changed.state.paused_direction.map(Direction::as_str),
                group
            ],
        )?;
        if changed.config != before.config || changed.windows != before.windows || changed.rules != before.rules {
            execute(
                conn,
                "writing a group's configuration",
                "UPDATE groups SET config = ?1, windows = ?2, rules = ?3 WHERE id = ?4",
                params![
                    config_text(&changed.config)?,
                    changed.windows.as_ref().map(|w| w.document.to_string()),
                    rules_text(changed.rules.as_deref())?,
                    group
                ],
            )?;
        }
    }
    if let Some((policy, at)) = &decision.policy_touched {
        execute(
            conn,
            "starting a policy cooldown",
            "UPDATE policies SET touched_at = ?1 WHERE id = ?2",
            params![at.to_string(), policy.as_str()],
        )?;
    }
    if let Some((policy, next)) = &decision.schedule {
        arm_schedule(conn, group, policy.as_str(), *next)?;
    }
    if let Some(next) = decision.window_timer {
        arm_window(conn, group, next)?;
    }
    for entry in &decision.history {
        record_history(conn, entry)?;
    }
    for event in &decision.events {
        record_event(conn, event)?;
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
impl crate::DecisionStore for SqliteStore {
    async fn decide(&self, subject: Subject, decide: crate::Decide) -> Result<Option<Committed>, StoreError> {
        let _timer = self.metrics.time(operation(&subject));
        // Loading and deciding change nothing, and writing what was decided fails only when
        // the database does: no savepoint is needed.
        self.write_failing_before_changes(move |conn| {
            let Some(loaded) = load(conn, &subject)? else { return Ok(None) };
            let decision = decide(&loaded.snapshot)?;
            let group = &loaded.snapshot.group;
            write(conn, group, &decision)?;
            Ok(Some(Committed {
                tenant_id: group.tenant_id.clone(),
                group_id: group.id.clone(),
                policy_id: loaded.policy_id,
                webhook_id: loaded.snapshot.webhook.clone(),
                launch_kind: group.launch.kind,
                decision,
            }))
        })
        .await
    }
}
