//! Connections from the balancer to one member: a small pool of idle HTTP/1.1 keep-alive
//! connections, and sending a request on one of them.
//!
//! Each member address has its own pool, so forgetting a member or changing its address closes
//! its idle connections once the requests still using them finish.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{Either, Empty};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::connection::CountedStream;
use super::traffic::{Traffic, lock};

/// The body of a request to a member: the client's, streamed, or an empty one that can be sent
/// again on a retry.
pub(crate) type RequestBody = Either<Incoming, Empty<Bytes>>;

/// Members are local processes: a connection that takes longer than this is not coming.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Idle connections are not reused after this long. It is shorter than the keep-alive timeouts
/// of common servers (gunicorn 2 s, Node 5 s), so the balancer does not send a request on a
/// connection the member is closing at that very moment, which would fail requests that cannot
/// be retried. A new local connection costs little.
const IDLE_TIMEOUT: Duration = Duration::from_millis(1500);
/// Idle connections kept per member; more are closed when they become idle.
const MAX_IDLE: usize = 128;

/// Why a request got no response from a member.
#[derive(Debug)]
pub(crate) enum UpstreamError {
    Connect(std::io::Error),
    ConnectTimeout,
    Http(hyper::Error),
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamError::Connect(error) => write!(f, "cannot connect: {error}"),
            UpstreamError::ConnectTimeout => write!(f, "cannot connect: timed out"),
            UpstreamError::Http(error) => write!(f, "{error}"),
        }
    }
}

/// A failed attempt, with the request when it was certainly not sent.
pub(crate) struct Failure {
    pub(crate) request: Option<Request<RequestBody>>,
    pub(crate) error: UpstreamError,
}

struct Idle {
    sender: SendRequest<RequestBody>,
    since: Instant,
}

pub(crate) struct Upstream {
    address: SocketAddr,
    /// The member's counters, for its open connections.
    traffic: Arc<Traffic>,
    /// Most recently used at the back.
    idle: Mutex<VecDeque<Idle>>,
    /// Whether a task is closing expired idle connections.
    reaping: AtomicBool,
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream").field("address", &self.address).finish_non_exhaustive()
    }
}

impl Upstream {
    pub(crate) fn new(address: SocketAddr, traffic: Arc<Traffic>) -> Upstream {
        Upstream { address, traffic, idle: Mutex::new(VecDeque::new()), reaping: AtomicBool::new(false) }
    }

    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    /// Sends `request` and waits for the response headers.
    ///
    /// A pooled connection that turns out to be closed before the request was written is
    /// replaced by the next one, and finally by a new connection; only the failure of a new
    /// connection, or of a request that may have been written, is reported.
    pub(crate) async fn send(
        self: &Arc<Self>,
        mut request: Request<RequestBody>,
    ) -> Result<Response<Incoming>, Failure> {
        loop {
            let (mut sender, reused) = match self.checkout() {
                Some(sender) => (sender, true),
                None => match self.connect().await {
                    Ok(sender) => (sender, false),
                    Err(error) => return Err(Failure { request: Some(request), error }),
                },
            };
            match sender.try_send_request(request).await {
                Ok(response) => {
                    self.recycle(sender);
                    return Ok(response);
                }
                Err(mut failure) => match failure.take_message() {
                    Some(unsent) if reused => request = unsent,
                    unsent => {
                        return Err(Failure { request: unsent, error: UpstreamError::Http(failure.into_error()) });
                    }
                },
            }
        }
    }

    fn checkout(&self) -> Option<SendRequest<RequestBody>> {
        let mut idle = lock(&self.idle);
        while let Some(connection) = idle.pop_back() {
            if connection.since.elapsed() < IDLE_TIMEOUT && connection.sender.is_ready() {
                return Some(connection.sender);
            }
        }
        None
    }

    /// Puts the connection back into the pool once the response has been read to its end; until
    /// then HTTP/1.1 cannot carry another request on it.
    fn recycle(self: &Arc<Self>, mut sender: SendRequest<RequestBody>) {
        let upstream = Arc::clone(self);
        tokio::spawn(async move {
            if sender.ready().await.is_err() {
                return;
            }
            {
                let now = Instant::now();
                let mut idle = lock(&upstream.idle);
                close_expired(&mut idle, now);
                if idle.len() < MAX_IDLE {
                    idle.push_back(Idle { sender, since: now });
                }
            }
            upstream.reap_later();
        });
    }

    /// Closes idle connections once they expire, so that a member without traffic is left with
    /// no connections. One task per member does this, and only while it has idle connections.
    fn reap_later(self: &Arc<Self>) {
        if self.reaping.swap(true, Ordering::AcqRel) {
            return;
        }
        let upstream = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(IDLE_TIMEOUT).await;
                // A forgotten member's pool is gone, and its connections with it.
                let Some(upstream) = upstream.upgrade() else { return };
                let mut idle = lock(&upstream.idle);
                close_expired(&mut idle, Instant::now());
                // Decided under the lock: a connection checked in after this sees the flag
                // cleared and starts a new task.
                if idle.is_empty() {
                    upstream.reaping.store(false, Ordering::Release);
                    return;
                }
            }
        });
    }

    async fn connect(&self) -> Result<SendRequest<RequestBody>, UpstreamError> {
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(self.address)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => return Err(UpstreamError::Connect(error)),
            Err(_elapsed) => return Err(UpstreamError::ConnectTimeout),
        };
        let io = TokioIo::new(CountedStream::new(stream, &self.traffic));
        let (sender, connection) = hyper::client::conn::http1::handshake(io).await.map_err(UpstreamError::Http)?;
        let address = self.address;
        tokio::spawn(async move {
            // Errors here also reach the request that was using the connection, which logs them.
            if let Err(error) = connection.with_upgrades().await {
                tracing::debug!(%address, %error, "member connection closed with an error");
            }
        });
        Ok(sender)
    }
}

/// Drops the connections idle for [`IDLE_TIMEOUT`] or longer, which closes them.
fn close_expired(idle: &mut VecDeque<Idle>, now: Instant) {
    while idle.front().is_some_and(|oldest| now.duration_since(oldest.since) >= IDLE_TIMEOUT) {
        idle.pop_front();
    }
}
