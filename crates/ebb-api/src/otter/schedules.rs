//! Schedules, windows and events: every schedule policy with its next fire time and every
//! group's time windows with their next change (in UTC and in their own time zone), and what
//! happened at each of those times.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use ebb_core::ids::{GroupId, PolicyId};
use ebb_core::schedule::Schedule;
use serde_json::Value;

use super::{GroupPath, Ids, TenantPath};
use crate::body::QueryArgs;
use crate::error::{ApiError, Scope};
use crate::state::AppState;
use crate::wire;

/// The most events one request returns.
const MAX_EVENTS: usize = 1000;

/// `GET /v1.0/{tenant}/schedules?group={group}`.
pub async fn list(
    State(state): State<AppState>,
    Ids(path): Ids<TenantPath>,
    args: QueryArgs,
) -> Result<Json<wire::ScheduleList>, ApiError> {
    let group = args.get("group");
    let scope = Scope { tenant: path.tenant.as_str(), group: group.unwrap_or(""), ..Scope::default() };
    let group_id = group.map(GroupId::new);
    let entries =
        state.store().list_schedules(&path.tenant, group_id.as_ref()).await.map_err(|err| scope.error(err))?;
    let mut schedules: Vec<wire::ScheduleView> = entries
        .iter()
        .map(|entry| {
            let schedule = entry.policy.policy.schedule.clone();
            let timezone = schedule.as_ref().map(Schedule::timezone).unwrap_or("UTC").to_string();
            let local = jiff::tz::TimeZone::get(&timezone)
                .map(|zone| entry.next_fire.to_zoned(zone).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
                .unwrap_or_default();
            wire::ScheduleView::Policy {
                group: entry.group_id.to_string(),
                policy: entry.policy.id.to_string(),
                name: entry.policy.body["name"].as_str().unwrap_or_default().to_string(),
                args: entry.policy.body["args"].clone(),
                timezone,
                next_fire: entry.next_fire.to_string(),
                next_fire_local: local,
                links: crate::links::self_links(state.links.policy(&path.tenant, &entry.group_id, &entry.policy.id)),
            }
        })
        .collect();
    let timers = state.store().window_timers(&path.tenant).await.map_err(|err| scope.error(err))?;
    for timer in timers {
        if group.is_some_and(|g| timer.group_id != g) {
            continue;
        }
        let timezone = timer.windows.windows.timezone.clone();
        let (window_group, document, next_change) =
            (timer.group_id, Arc::unwrap_or_clone(timer.windows).document, timer.next_change);
        let local = jiff::tz::TimeZone::get(&timezone)
            .map(|zone| next_change.to_zoned(zone).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
            .unwrap_or_default();
        schedules.push(wire::ScheduleView::Windows {
            group: window_group.into_string(),
            windows: wire::Stored::new(document),
            timezone,
            next_change: next_change.to_string(),
            next_change_local: local,
        });
    }
    Ok(Json(wire::ScheduleList { schedules }))
}

/// `GET /v1.0/{tenant}/groups/{group}/events?limit=N`: newest first (100 by default).
pub async fn events(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
    args: QueryArgs,
) -> Result<Json<wire::EventList>, ApiError> {
    let limit = match args.get("limit") {
        None => 100,
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| ApiError::InvalidQueryArgument("Invalid query argument for \"limit\"".to_string()))?
            .clamp(1, MAX_EVENTS),
    };
    let events =
        state.store().list_events(&path.tenant, &path.group, limit).await.map_err(|err| path.scope().error(err))?;
    let events = events
        .iter()
        .map(|event| wire::EventView {
            at: event.at.to_string(),
            kind: event.kind.as_str().to_string(),
            policy: event.policy_id.as_ref().map(PolicyId::to_string),
            due: event.due.map(|due| due.to_string()),
            message: event.message.clone(),
        })
        .collect();
    Ok(Json(wire::EventList { events }))
}

/// `GET /v1.0/{tenant}/groups/{group}/windows`: the group's time windows and the one in force.
pub async fn get_windows(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
) -> Result<Json<wire::WindowsAnswer>, ApiError> {
    let group = state.store().get_group(&path.tenant, &path.group).await.map_err(|err| path.scope().error(err))?;
    Ok(Json(wire::WindowsAnswer {
        windows: group.windows.map(|w| wire::Stored::new(Arc::unwrap_or_clone(w).document)),
        active: group.state.window,
        desired_capacity: None,
    }))
}

/// `PUT /v1.0/{tenant}/groups/{group}/windows`: replaces the group's time windows with a Cloud
/// Foundry `schedules` document (`timezone`, `recurring_schedule`, `specific_date`); `null`
/// removes them. The window in force now applies at once.
pub async fn put_windows(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
    crate::body::JsonBody(body): crate::body::JsonBody,
) -> Result<Json<wire::WindowsAnswer>, ApiError> {
    let windows = match body {
        Value::Null => None,
        document => {
            let windows = ebb_core::windows::Windows::parse(&document, Some(state.now()))?;
            Some(ebb_core::records::GroupWindows { document, windows })
        }
    };
    let group = state
        .engine
        .replace_windows(&path.tenant, &path.group, windows)
        .await
        .map_err(|err| path.scope().error(err))?;
    Ok(Json(wire::WindowsAnswer {
        windows: group.windows.map(|w| wire::Stored::new(Arc::unwrap_or_clone(w).document)),
        active: group.state.window,
        desired_capacity: Some(group.state.desired),
    }))
}
