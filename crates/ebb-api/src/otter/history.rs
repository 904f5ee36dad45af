//! `GET /v1.0/{tenant}/groups/{group}/history`: every change of a group's desired capacity,
//! and every execution that changed nothing, newest first, with Otter's `limit`/`marker`
//! pagination and `since`, `until` and `source` filters.

use axum::Json;
use axum::extract::State;
use ebb_core::ids::{PolicyId, WebhookId};
use ebb_core::limits::PAGE_LIMIT;
use ebb_core::records::Source;
use ebb_store::HistoryQuery;
use jiff::Timestamp;

use super::{GroupPath, Ids};
use crate::body::QueryArgs;
use crate::error::ApiError;
use crate::links;
use crate::state::AppState;
use crate::wire;

fn time_argument(args: &QueryArgs, name: &str) -> Result<Option<Timestamp>, ApiError> {
    args.get(name)
        .map(|text| {
            text.parse::<Timestamp>().map_err(|_| {
                ApiError::InvalidQueryArgument(format!(
                    "Invalid query argument for \"{name}\": an RFC 3339 time such as 2026-01-31T08:00:00Z"
                ))
            })
        })
        .transpose()
}

/// `GET .../groups/{group}/history`.
pub async fn list(
    State(state): State<AppState>,
    Ids(path): Ids<GroupPath>,
    args: QueryArgs,
) -> Result<Json<wire::HistoryList>, ApiError> {
    let page = links::page(&args, PAGE_LIMIT)?;
    let source = args
        .get("source")
        .map(|name| {
            Source::parse(name).ok_or_else(|| {
                let names: Vec<&str> = Source::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::InvalidQueryArgument(format!(
                    "Invalid query argument for \"source\": one of {}",
                    names.join(", ")
                ))
            })
        })
        .transpose()?;
    let query =
        HistoryQuery { page, since: time_argument(&args, "since")?, until: time_argument(&args, "until")?, source };
    let records =
        state.store().list_history(&path.tenant, &path.group, &query).await.map_err(|err| path.scope().error(err))?;
    let mut next = links::next_links(
        &format!("{}history/", state.links.group(&path.tenant, &path.group)),
        &query.page,
        records.last().map(|r| r.id.as_str()),
        records.len(),
    );
    // The filters go on in the next page.
    for link in &mut next {
        for (name, value) in
            [("since", args.get("since")), ("until", args.get("until")), ("source", args.get("source"))]
        {
            if let Some(value) = value {
                link.href.push_str(&format!("&{name}={value}"));
            }
        }
    }
    let history = records
        .into_iter()
        .map(|record| {
            let entry = record.entry;
            wire::HistoryView {
                id: record.id,
                at: entry.at.to_string(),
                source: entry.source.as_str().to_string(),
                policy: entry.policy_id.map(PolicyId::into_string),
                webhook: entry.webhook_id.map(WebhookId::into_string),
                from: entry.from,
                to: entry.to,
                bounds: wire::BoundsView { min: entry.bounds.min, max: entry.bounds.max },
                reason: entry.reason,
            }
        })
        .collect();
    Ok(Json(wire::HistoryList { history, history_links: next }))
}
