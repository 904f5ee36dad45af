//! `GET /v1.0/{tenant}/limits`: the absolute limits, as JSON or, when asked, XML.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;
use crate::wire;

/// The limits.
pub async fn limits(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let limits = state.config.limits;
    let wants_xml = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.to_ascii_lowercase().contains("xml"));
    if wants_xml {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <limits xmlns=\"http://docs.openstack.org/common/api/v1.0\">\
             <absolute>\
             <limit name=\"maxGroups\" value=\"{}\"/>\
             <limit name=\"maxPoliciesPerGroup\" value=\"{}\"/>\
             <limit name=\"maxWebhooksPerPolicy\" value=\"{}\"/>\
             </absolute></limits>",
            limits.max_groups, limits.max_policies_per_group, limits.max_webhooks_per_policy
        );
        return ([(header::CONTENT_TYPE, "application/xml")], body).into_response();
    }
    Json(wire::LimitsAnswer {
        limits: wire::Limits {
            absolute: wire::AbsoluteLimits {
                max_groups: limits.max_groups,
                max_policies_per_group: limits.max_policies_per_group,
                max_webhooks_per_policy: limits.max_webhooks_per_policy,
            },
        },
    })
    .into_response()
}
