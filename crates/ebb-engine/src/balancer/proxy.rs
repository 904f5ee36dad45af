//! Forwarding one client request: choosing a member, rewriting headers, retrying where that is
//! safe, relaying the response as a stream, and tunnelling upgraded connections.

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{Either, Empty, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{
    CONNECTION, CONTENT_TYPE, HOST, HeaderMap, HeaderName, HeaderValue, TE, TRAILER, TRANSFER_ENCODING, UPGRADE,
};
use hyper::http::uri::{self, PathAndQuery};
use hyper::upgrade::OnUpgrade;
use hyper::{Method, Request, Response, StatusCode, Uri, Version};
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

use super::members::{Member, Members};
use super::traffic::{InFlight, Traffic};
use super::upstream::{Failure, RequestBody};

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

const NO_MEMBERS: &str =
    r#"{"error":{"type":"NoMembers","code":503,"message":"no member of this group is ready","details":""}}"#;
const BAD_GATEWAY: &str =
    r#"{"error":{"type":"BadGateway","code":502,"message":"no member of this group could answer","details":""}}"#;
const CONNECT_NOT_ALLOWED: &str = r#"{"error":{"type":"MethodNotAllowed","code":405,"message":"the balancer does not tunnel CONNECT requests","details":""}}"#;

/// What every connection task shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) members: Members,
    pub(crate) group: Arc<Traffic>,
}

/// The body of a response to a client.
#[derive(Debug)]
pub(crate) enum ProxiedBody {
    /// A member's response, holding the request's in-flight counts (member, then group) until
    /// its last frame.
    Relayed { body: Incoming, in_flight: Option<(InFlight, InFlight)> },
    /// An answer of the balancer itself.
    Local(Full<Bytes>),
}

impl Body for ProxiedBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            ProxiedBody::Relayed { body, in_flight } => {
                let polled = Pin::new(&mut *body).poll_frame(cx);
                let finished = match &polled {
                    Poll::Ready(Some(Ok(_))) => body.is_end_stream(),
                    Poll::Ready(_) => true,
                    Poll::Pending => false,
                };
                if finished {
                    *in_flight = None;
                }
                polled
            }
            ProxiedBody::Local(body) => Pin::new(body).poll_frame(cx).map_err(|never| match never {}),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ProxiedBody::Relayed { body, .. } => body.is_end_stream(),
            ProxiedBody::Local(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ProxiedBody::Relayed { body, .. } => body.size_hint(),
            ProxiedBody::Local(body) => body.size_hint(),
        }
    }
}

/// Answers one client request; never fails, since failures become 502 or 503 answers.
pub(crate) async fn handle(
    shared: &Shared,
    client: SocketAddr,
    mut request: Request<Incoming>,
) -> Response<ProxiedBody> {
    let started = Instant::now();
    let group_in_flight = InFlight::begin(&shared.group);
    let method = request.method().clone();
    // Kept for the logs, which show the path but never the query.
    let uri = request.uri().clone();
    if method == Method::CONNECT {
        shared.group.record(Some(started.elapsed()), false);
        return local(StatusCode::METHOD_NOT_ALLOWED, CONNECT_NOT_ALLOWED);
    }
    let client_upgrade = wants_upgrade(request.headers()).then(|| hyper::upgrade::on(&mut request));
    let (parts, body) = request.into_parts();
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers, client_upgrade.is_some());
    add_forwarded(&mut headers, client.ip());
    let target = origin_form(parts.uri);
    // Only a request that is safe to repeat and has nothing to send again is retried after it
    // may have reached a member; anything is retried while it certainly has not.
    let replayable = is_idempotent(&parts.method) && body.is_end_stream();
    let template = replayable.then(|| (parts.method.clone(), target.clone(), headers.clone()));
    let mut next_request = Some(outgoing(
        parts.method,
        target,
        headers,
        if replayable { Either::Right(Empty::new()) } else { Either::Left(body) },
    ));

    let mut tried: Vec<Arc<Member>> = Vec::new();
    let mut last_error = None;
    while let Some((member, member_in_flight)) = shared.members.pick(&tried) {
        let Some(mut request) = next_request.take().or_else(|| {
            template.as_ref().map(|(method, target, headers)| {
                outgoing(method.clone(), target.clone(), headers.clone(), Either::Right(Empty::new()))
            })
        }) else {
            // Unreachable: a failure that leaves nothing to send again ends the loop.
            break;
        };
        let upstream = member.upstream();
        if !request.headers().contains_key(HOST) {
            // HTTP/1.0 clients may omit Host, which HTTP/1.1 requires.
            if let Ok(host) = HeaderValue::from_str(&upstream.address().to_string()) {
                request.headers_mut().insert(HOST, host);
            }
        }
        let attempt_started = Instant::now();
        match upstream.send(request).await {
            Ok(response) => {
                let status = response.status();
                member.traffic.record(Some(attempt_started.elapsed()), status.is_server_error());
                shared.group.record(Some(started.elapsed()), status.is_server_error());
                tracing::debug!(
                    %method,
                    member_id = %member.id,
                    status = status.as_u16(),
                    micros = started.elapsed().as_micros() as u64,
                    "request forwarded"
                );
                return relay(response, client_upgrade, member_in_flight, group_in_flight);
            }
            Err(Failure { request, error }) => {
                // Logged at debug only: a retry may still succeed, and the member's error count
                // shows the failures either way.
                member.traffic.record(None, true);
                tracing::debug!(%method, path = uri.path(), member_id = %member.id, %error, "member did not answer");
                let repeatable = request.is_some() || template.is_some();
                next_request = request;
                last_error = Some(error);
                tried.push(member);
                if !repeatable {
                    break;
                }
            }
        }
    }
    shared.group.record(Some(started.elapsed()), true);
    match (tried.last(), last_error) {
        (Some(member), Some(error)) => {
            tracing::warn!(
                %method,
                path = uri.path(),
                attempts = tried.len(),
                last_member_id = %member.id,
                %error,
                "no member answered"
            );
            local(StatusCode::BAD_GATEWAY, BAD_GATEWAY)
        }
        _ => {
            tracing::debug!(%method, path = uri.path(), "no member is routable");
            local(StatusCode::SERVICE_UNAVAILABLE, NO_MEMBERS)
        }
    }
}

fn outgoing(method: Method, target: Uri, headers: HeaderMap, body: RequestBody) -> Request<RequestBody> {
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = target;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;
    request
}

fn relay(
    mut response: Response<Incoming>,
    client_upgrade: Option<OnUpgrade>,
    member_in_flight: InFlight,
    group_in_flight: InFlight,
) -> Response<ProxiedBody> {
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        let Some(client_upgrade) = client_upgrade else {
            tracing::warn!("member switched protocols without being asked to");
            return local(StatusCode::BAD_GATEWAY, BAD_GATEWAY);
        };
        let member_upgrade = hyper::upgrade::on(&mut response);
        tokio::spawn(tunnel(client_upgrade, member_upgrade, (member_in_flight, group_in_flight)));
        let (mut parts, _empty) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers, true);
        return Response::from_parts(parts, ProxiedBody::Local(Full::default()));
    }
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers, false);
    Response::from_parts(parts, ProxiedBody::Relayed { body, in_flight: Some((member_in_flight, group_in_flight)) })
}

/// Copies bytes both ways between the client and the member once both sides have switched
/// protocols; the request stays in flight until then.
async fn tunnel(client: OnUpgrade, member: OnUpgrade, _in_flight: (InFlight, InFlight)) {
    let (client, member) = match tokio::try_join!(client, member) {
        Ok(upgraded) => upgraded,
        Err(error) => {
            tracing::debug!(%error, "upgrade failed");
            return;
        }
    };
    let (mut client, mut member) = (TokioIo::new(client), TokioIo::new(member));
    match tokio::io::copy_bidirectional(&mut client, &mut member).await {
        Ok((to_member, to_client)) => tracing::debug!(to_member, to_client, "upgraded connection closed"),
        Err(error) => tracing::debug!(%error, "upgraded connection failed"),
    }
}

fn local(status: StatusCode, json: &'static str) -> Response<ProxiedBody> {
    let mut response = Response::new(ProxiedBody::Local(Full::new(Bytes::from_static(json.as_bytes()))));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn is_idempotent(method: &Method) -> bool {
    [Method::GET, Method::HEAD, Method::OPTIONS, Method::PUT, Method::DELETE].contains(method)
}

/// Whether `Connection` lists `upgrade` and `Upgrade` names a protocol.
fn wants_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(UPGRADE) && connection_tokens(headers).any(|token| token.eq_ignore_ascii_case("upgrade"))
}

fn connection_tokens(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

/// Removes the headers that belong to one connection, not to the message. During an upgrade,
/// `Connection: upgrade` and `Upgrade` are what the next hop needs, so they stay.
fn strip_hop_by_hop(headers: &mut HeaderMap, upgrade: bool) {
    // A sender may name further per-connection headers in `Connection` (RFC 9110 §7.6.1).
    let mut listed: Vec<HeaderName> = Vec::new();
    for token in connection_tokens(headers) {
        let known = ["close", "keep-alive", "upgrade"].iter().any(|known| token.eq_ignore_ascii_case(known));
        if !known && let Ok(name) = HeaderName::from_bytes(token.as_bytes()) {
            listed.push(name);
        }
    }
    for name in listed {
        headers.remove(name);
    }
    for name in [CONNECTION, KEEP_ALIVE, PROXY_CONNECTION, TE, TRAILER, TRANSFER_ENCODING] {
        headers.remove(name);
    }
    if upgrade {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        headers.remove(UPGRADE);
    }
}

/// Appends the client's address to `X-Forwarded-For` and says the client spoke plain HTTP.
fn add_forwarded(headers: &mut HeaderMap, client: IpAddr) {
    let client = client.to_canonical().to_string();
    let mut forwarded: Vec<u8> = Vec::new();
    for earlier in headers.get_all(&X_FORWARDED_FOR) {
        forwarded.extend_from_slice(earlier.as_bytes());
        forwarded.extend_from_slice(b", ");
    }
    forwarded.extend_from_slice(client.as_bytes());
    let value = HeaderValue::from_bytes(&forwarded).or_else(|_| HeaderValue::from_str(&client));
    if let Ok(value) = value {
        headers.insert(X_FORWARDED_FOR, value);
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
}

/// The request target as a member expects it from a client: path and query only. An
/// absolute-form target would make the member take its authority over the client's `Host`.
fn origin_form(target: Uri) -> Uri {
    if target.scheme().is_none() && target.authority().is_none() {
        return target;
    }
    let mut parts = uri::Parts::default();
    parts.path_and_query = Some(target.path_and_query().cloned().unwrap_or_else(|| PathAndQuery::from_static("/")));
    Uri::from_parts(parts).unwrap_or_else(|_| Uri::from_static("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn hop_by_hop_headers_and_those_named_in_connection_are_removed() {
        let mut map = headers(&[
            ("connection", "keep-alive, X-Secret"),
            ("keep-alive", "timeout=5"),
            ("x-secret", "1"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("proxy-connection", "keep-alive"),
            ("upgrade", "echo"),
            ("x-kept", "yes"),
        ]);
        strip_hop_by_hop(&mut map, false);
        assert_eq!(map.keys().map(HeaderName::as_str).collect::<Vec<_>>(), ["x-kept"]);
    }

    #[test]
    fn upgrades_keep_connection_upgrade_and_upgrade() {
        let mut map = headers(&[("connection", "keep-alive, Upgrade"), ("upgrade", "websocket")]);
        assert!(wants_upgrade(&map));
        strip_hop_by_hop(&mut map, true);
        assert_eq!(map["connection"], "upgrade");
        assert_eq!(map["upgrade"], "websocket");
        assert!(!wants_upgrade(&headers(&[("connection", "upgrade")])));
        assert!(!wants_upgrade(&headers(&[("upgrade", "websocket")])));
    }

    #[test]
    fn forwarded_for_appends_the_client() {
        let mut map = headers(&[("x-forwarded-for", "10.0.0.1"), ("x-forwarded-for", "10.0.0.2")]);
        add_forwarded(&mut map, "::ffff:127.0.0.1".parse().unwrap());
        assert_eq!(map["x-forwarded-for"], "10.0.0.1, 10.0.0.2, 127.0.0.1");
        assert_eq!(map["x-forwarded-proto"], "http");
        let mut map = HeaderMap::new();
        add_forwarded(&mut map, "::1".parse().unwrap());
        assert_eq!(map["x-forwarded-for"], "::1");
    }

    #[test]
    fn targets_become_origin_form() {
        assert_eq!(origin_form("/a/b?c=d".parse().unwrap()), "/a/b?c=d");
        assert_eq!(origin_form("http://example.com/a?b".parse().unwrap()), "/a?b");
        assert_eq!(origin_form("http://example.com".parse().unwrap()), "/");
        assert_eq!(origin_form("*".parse().unwrap()), "*");
    }

    #[test]
    fn error_bodies_are_json() {
        for body in [NO_MEMBERS, BAD_GATEWAY, CONNECT_NOT_ALLOWED] {
            let value: serde_json::Value = serde_json::from_str(body).unwrap();
            assert!(value["error"]["type"].is_string());
        }
    }
}
