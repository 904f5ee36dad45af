//! The timers of schedules and windows, and the events they leave.

use jiff::Timestamp;
use rusqlite::params;

use super::SqliteStore;
use super::rows::*;
use crate::error::StoreError;
use crate::model::*;

#[async_trait::async_trait]
impl crate::ScheduleStore for SqliteStore {
    async fn next_schedule(&self) -> Result<Option<Timestamp>, StoreError> {
        let _timer = self.metrics.time("next_schedule");
        self.read(|conn| {
            let next: Option<i64> = conn
                .prepare_cached(
                    "SELECT MIN(t) FROM (SELECT MIN(next_fire) AS t FROM schedules UNION ALL SELECT MIN(next_change) FROM window_timers)",
                )
                .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
                .map_err(backend("reading the next schedule"))?;
            next.map(from_millis).transpose()
        })
        .await
    }

    async fn due_schedules(&self, until: Timestamp, limit: usize) -> Result<Vec<DueSchedule>, StoreError> {
        let _timer = self.metrics.time("due_schedules");
        self.read(move |conn| {
            query_all(
                conn,
                "reading due schedules",
                "SELECT policy_id, group_id, next_fire FROM schedules WHERE next_fire <= ?1 ORDER BY next_fire LIMIT ?2",
                params![millis(until), limit as i64],
                |row| {
                    Ok(DueSchedule {
                        policy_id: id(row, "policy_id")?,
                        group_id: id(row, "group_id")?,
                        due: from_millis(col(row, "next_fire")?)?,
                    })
                },
            )
        })
        .await
    }

    async fn due_windows(&self, until: Timestamp, limit: usize) -> Result<Vec<(GroupId, Timestamp)>, StoreError> {
        let _timer = self.metrics.time("due_windows");
        self.read(move |conn| {
            query_all(
                conn,
                "reading due window timers",
                "SELECT group_id, next_change FROM window_timers WHERE next_change <= ?1 ORDER BY next_change LIMIT ?2",
                params![millis(until), limit as i64],
                |row| Ok((id(row, "group_id")?, from_millis(col(row, "next_change")?)?)),
            )
        })
        .await
    }

    async fn disarm_schedule(&self, policy: &PolicyId) -> Result<(), StoreError> {
        let _timer = self.metrics.time("disarm_schedule");
        let policy = policy.to_string();
        self.write(move |conn| arm_schedule(conn, "", &policy, None)).await
    }

    async fn list_schedules(
        &self,
        tenant: &TenantId,
        group: Option<&GroupId>,
    ) -> Result<Vec<ScheduleEntry>, StoreError> {
        let group = group.map(|id| id.as_str());
        let _timer = self.metrics.time("list_schedules");
        let (tenant, group) = (tenant.to_string(), group.map(str::to_string));
        self.read(move |conn| {
            if let Some(group) = &group {
                require(conn, &tenant, group, None)?;
            }
            query_all(
                conn,
                "listing schedules",
                "SELECT p.id AS id, p.group_id AS group_id, p.body AS body, p.touched_at AS touched_at, s.next_fire AS next_fire \
                 FROM schedules s JOIN policies p ON p.id = s.policy_id JOIN groups g ON g.id = s.group_id \
                 WHERE g.tenant_id = ?1 AND g.deleting = 0 AND (?2 IS NULL OR g.id = ?2) ORDER BY s.next_fire, p.id",
                params![tenant, group],
                |row| {
                    Ok(ScheduleEntry {
                        group_id: id(row, "group_id")?,
                        policy: policy_from_row(row)?,
                        next_fire: from_millis(col(row, "next_fire")?)?,
                    })
                },
            )
        })
        .await
    }

    async fn window_timers(&self, tenant: &TenantId) -> Result<Vec<WindowTimer>, StoreError> {
        let _timer = self.metrics.time("window_timers");
        let tenant = tenant.to_string();
        self.read(move |conn| {
            query_all(
                conn,
                "listing window timers",
                "SELECT g.id AS id, g.windows AS windows, t.next_change AS next_change FROM window_timers t \
                 JOIN groups g ON g.id = t.group_id WHERE g.tenant_id = ?1 AND g.deleting = 0 ORDER BY t.next_change",
                [&tenant],
                |row| {
                    let group_id: String = col(row, "id")?;
                    let document =
                        parse_json(&col::<Option<String>>(row, "windows")?.unwrap_or_else(|| "null".into()))?;
                    let windows = GroupWindows::parse_stored(document)
                        .map_err(|err| StoreError::Corrupt(format!("group {group_id}: windows: {}", err.message)))?;
                    Ok(WindowTimer {
                        group_id: group_id.into(),
                        windows: windows.into(),
                        next_change: from_millis(col(row, "next_change")?)?,
                    })
                },
            )
        })
        .await
    }

    async fn list_events(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        limit: usize,
    ) -> Result<Vec<GroupEvent>, StoreError> {
        let _timer = self.metrics.time("list_events");
        let (tenant, group) = (tenant.to_string(), group.to_string());
        self.read(move |conn| {
            require(conn, &tenant, &group, None)?;
            query_all(
                conn,
                "listing events",
                "SELECT group_id, at, kind, policy_id, due, message FROM group_events WHERE group_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
                params![group, limit as i64],
                event_from_row,
            )
        })
        .await
    }
}
