//! Cloud Foundry's history queries (`cf-app-autoscaler.md` §3.1–3.2): scaling histories (a view
//! of the group's history), and aggregated and per-instance metric histories (the stored
//! per-minute aggregates), with CF's query parameters and paginated envelope.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ebb_core::cf_policy::unit_of;
use ebb_core::metrics::minutes::Of;
use ebb_core::records::Source;
use ebb_store::{HistoryQuery, MinuteQuery, Page};
use jiff::Timestamp;

use super::app::{CfApp, store_error};
use crate::body::QueryArgs;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{CfHistoryEntry, CfMetricPoint, CfPage};

/// The most history entries a scaling-history query looks through.
const MAX_ENTRIES: usize = 10_000;

/// CF's query parameters, resolved.
#[derive(Debug, Clone)]
struct CfQuery {
    start: Timestamp,
    end: Timestamp,
    descending: bool,
    page: usize,
    per_page: usize,
    /// What was asked, to re-encode in links.
    asked: BTreeMap<String, String>,
}

fn bad(message: &str) -> ApiError {
    ApiError::cf(StatusCode::BAD_REQUEST, message)
}

fn nanos(at: Timestamp) -> i64 {
    i64::try_from(at.as_nanosecond()).unwrap_or(i64::MAX)
}

fn from_nanos(ns: i64) -> Timestamp {
    Timestamp::from_nanosecond(i128::from(ns)).unwrap_or(if ns < 0 { Timestamp::MIN } else { Timestamp::MAX })
}

impl CfQuery {
    fn parse(args: QueryArgs, now: Timestamp) -> Result<CfQuery, ApiError> {
        let args = args.0;
        let integer = |key: &str, default: i64| -> Result<i64, ApiError> {
            match args.get(key) {
                None => Ok(default),
                Some(text) => text.parse().map_err(|_| bad(&format!("{key} must be an integer"))),
            }
        };
        let start = integer("start-time", 0)?;
        let end = integer("end-time", -1)?;
        let direction = args.get("order-direction").or_else(|| args.get("order"));
        let descending = match direction.map(|d| d.to_ascii_lowercase()) {
            None => true,
            Some(d) if d == "desc" => true,
            Some(d) if d == "asc" => false,
            Some(_) => return Err(bad("order-direction must be DESC or ASC")),
        };
        let positive = |key: &str, default: i64| -> Result<usize, ApiError> {
            let value = integer(key, default)?;
            if value < 1 {
                return Err(bad(&format!("{key} must be greater than 0")));
            }
            Ok(value as usize)
        };
        let page = positive("page", 1)?;
        let per_page = positive("results-per-page", 50)?.min(10_000);
        Ok(CfQuery {
            start: from_nanos(start),
            end: if end < 0 { now } else { from_nanos(end) },
            descending,
            page,
            per_page,
            asked: args.into_iter().collect(),
        })
    }

    fn offset(&self) -> usize {
        (self.page - 1).saturating_mul(self.per_page)
    }

    /// The envelope of a page of `total` results; links relative, query keys sorted, only
    /// `page` changed.
    fn envelope<T>(&self, path: &str, total: usize, resources: Vec<T>) -> CfPage<T> {
        let total_pages = total.div_ceil(self.per_page);
        let link = |page: usize| {
            let mut asked = self.asked.clone();
            asked.insert("page".to_string(), page.to_string());
            let query: Vec<String> = asked.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
            format!("{path}?{}", query.join("&"))
        };
        CfPage {
            total_results: total,
            total_pages,
            page: self.page,
            prev_url: if self.page > 1 && self.page <= total_pages + 1 { link(self.page - 1) } else { String::new() },
            next_url: if self.page < total_pages { link(self.page + 1) } else { String::new() },
            resources,
        }
    }
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// `GET /v1/apps/{appId}/scaling_histories`: every change of the group's desired capacity
/// (CF's public history hides the ones that changed nothing, and so does this).
pub async fn scaling(
    app: CfApp,
    State(state): State<AppState>,
    args: QueryArgs,
) -> Result<Json<CfPage<CfHistoryEntry>>, ApiError> {
    let query = CfQuery::parse(args, state.now())?;
    let mut entries = Vec::new();
    let mut marker = None;
    while entries.len() < MAX_ENTRIES {
        let page = Page { marker: marker.clone(), limit: 100 };
        let history = HistoryQuery { page, since: Some(query.start), until: None, source: None };
        let records = state.store().list_history(&app.tenant, &app.group, &history).await.map_err(store_error)?;
        let last = records.len() < 100;
        marker = records.last().map(|r| r.id.clone());
        entries.extend(records.into_iter().filter(|r| r.entry.at <= query.end && r.entry.from != r.entry.to));
        if last {
            break;
        }
    }
    if !query.descending {
        entries.reverse();
    }
    let total = entries.len();
    let resources = entries
        .into_iter()
        .skip(query.offset())
        .take(query.per_page)
        .map(|r| CfHistoryEntry {
            app_id: app.group.to_string(),
            timestamp: nanos(r.entry.at),
            scaling_type: match r.entry.source {
                Source::Schedule | Source::WindowStart | Source::WindowEnd => 1,
                _ => 0,
            },
            status: 0,
            old_instances: i64::from(r.entry.from),
            new_instances: i64::from(r.entry.to),
            reason: r.entry.reason,
            message: String::new(),
        })
        .collect();
    Ok(Json(query.envelope(&format!("/v1/apps/{}/scaling_histories", app.group), total, resources)))
}

async fn minutes(
    app: &CfApp,
    state: &AppState,
    metric: String,
    args: QueryArgs,
    of_group: bool,
    path: String,
) -> Result<CfPage<CfMetricPoint>, ApiError> {
    if ebb_core::metrics::check_name(&metric, "metric_type").is_err() {
        return Err(bad("metric type must match ^[a-zA-Z0-9_]+$"));
    }
    let query = CfQuery::parse(args, state.now())?;
    let stored = MinuteQuery {
        metric: metric.clone(),
        of_group,
        from: query.start,
        to: query.end,
        descending: query.descending,
        offset: query.offset(),
        limit: query.per_page,
    };
    let (rows, total) = state.store().list_minutes(&app.group, &stored).await.map_err(store_error)?;
    let unit = unit_of(&metric).to_string();
    let resources = rows
        .into_iter()
        .map(|m| CfMetricPoint {
            app_id: app.group.to_string(),
            instance_index: match m.of {
                Of::Group => None,
                Of::Slot(slot) => Some(slot),
            },
            name: m.metric,
            value: m.value.to_string(),
            unit: unit.clone(),
            timestamp: nanos(m.minute),
        })
        .collect();
    Ok(query.envelope(&path, total, resources))
}

/// `GET /v1/apps/{appId}/aggregated_metric_histories/{metric_type}`: the group's value of the
/// metric, minute by minute.
pub async fn aggregated(
    app: CfApp,
    State(state): State<AppState>,
    Path((_, metric)): Path<(String, String)>,
    args: QueryArgs,
) -> Result<Json<CfPage<CfMetricPoint>>, ApiError> {
    let path = format!("/v1/apps/{}/aggregated_metric_histories/{metric}", app.group);
    minutes(&app, &state, metric, args, true, path).await.map(Json)
}

/// `GET /v1/apps/{appId}/metric_histories/{metric_type}`: each member slot's value of the
/// metric, minute by minute.
pub async fn per_instance(
    app: CfApp,
    State(state): State<AppState>,
    Path((_, metric)): Path<(String, String)>,
    args: QueryArgs,
) -> Result<Json<CfPage<CfMetricPoint>>, ApiError> {
    let path = format!("/v1/apps/{}/metric_histories/{metric}", app.group);
    minutes(&app, &state, metric, args, false, path).await.map(Json)
}
