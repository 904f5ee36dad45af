//! Members of a group as Ebb runs them: the list, each member's log, and the traffic
//! statistics of the group's built-in load balancers.

use axum::Json;
use axum::extract::State;

use super::{GroupPath, Ids, MemberPath, view};
use crate::body::QueryArgs;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire;

/// The most log lines one request returns.
const MAX_LOG_LINES: usize = 10_000;

/// The most bytes of a log one request reads, whatever `tail` says.
pub const MAX_LOG_BYTES: u64 = 256 * 1024;

/// `GET .../groups/{group}/members`: every member with its status, as last observed.
pub async fn list(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
) -> Result<Json<wire::MemberList>, ApiError> {
    let group = state.store().get_group(&path.tenant, &path.group).await.map_err(|err| path.scope().error(err))?;
    let observation = state.engine.observation(&group.id);
    let members = observation.members.iter().map(|m| view::member(&state.links, &group, m)).collect();
    Ok(Json(wire::MemberList { members }))
}

/// `GET .../groups/{group}/members/{member}/logs?tail=N`: the last N lines (default 200, at
/// most 10,000) of what the member wrote to its standard output and error, from at most the
/// last [`MAX_LOG_BYTES`] of it; `truncated` says whether older output was left out.
pub async fn logs(
    State(state): State<AppState>,
    Ids(path): Ids<MemberPath>,
    args: QueryArgs,
) -> Result<Json<wire::LogsAnswer>, ApiError> {
    let scope = path.scope();
    let group = state.store().get_group(&path.tenant, &path.group).await.map_err(|err| scope.error(err))?;
    let tail = match args.get("tail") {
        None => 200,
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| ApiError::InvalidQueryArgument("Invalid query argument for \"tail\"".to_string()))?
            .min(MAX_LOG_LINES),
    };
    // Member ids are UUIDs; anything else could reach outside the log directory.
    let not_found = || scope.error(ebb_store::StoreError::MemberNotFound);
    if uuid::Uuid::parse_str(path.member.as_str()).is_err() {
        return Err(not_found());
    }
    let (bytes, cut) = state
        .engine
        .converger()
        .member_output(&group.id, &path.member, MAX_LOG_BYTES)
        .await
        .map_err(|_| not_found())?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if cut && !lines.is_empty() {
        // The first line read was cut in the middle.
        lines.remove(0);
    }
    let start = lines.len().saturating_sub(tail);
    let truncated = cut || start > 0;
    let lines = lines[start..].iter().map(|line| line.to_string()).collect();
    Ok(Json(wire::LogsAnswer { member: path.member.into_string(), lines, truncated }))
}

/// `GET .../groups/{group}/stats`: traffic through each of the group's load balancers, for
/// the group and per member: requests per second, in flight, open connections, response
/// time percentiles and error rate.
pub async fn stats(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
) -> Result<Json<wire::StatsAnswer>, ApiError> {
    let group = state.store().get_group(&path.tenant, &path.group).await.map_err(|err| path.scope().error(err))?;
    Ok(Json(wire::StatsAnswer { load_balancers: state.engine.converger().balancer_stats(group.id.as_str()) }))
}
