//! Ebb's built-in HTTP/1.1 load balancer: one reverse proxy per scaling group, running in the
//! Ebb process, in front of the group's members (local processes on `127.0.0.1:PORT`).
//!
//! Each request goes to the routable member with the fewest requests in flight, ties broken
//! round-robin. Members are added when they are ready, removed (drained) before they are stopped,
//! and forgotten once stopped; a drained member finishes the requests it has.
//!
//! Layout:
//! - [`Balancer`]: the listener, its connection tasks and the public operations;
//! - `members`: the member table and the choice of a member;
//! - `proxy`: forwarding one request, retries and upgrades;
//! - `upstream`: pooled keep-alive connections to one member;
//! - `traffic`: counters, rates and response-time percentiles;
//! - `connection`: TCP streams that count themselves.

mod connection;
mod members;
mod proxy;
mod traffic;
mod upstream;

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::connection::CountedStream;
use self::members::{Added, Members};
use self::proxy::Shared;
pub use self::traffic::TrafficStats;
use self::traffic::{Traffic, lock};

/// Idle client connections are closed after this long without a new request.
const CLIENT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a balancer could not start.
#[derive(Debug, thiserror::Error)]
pub enum BalancerError {
    /// Another socket listens on the port.
    #[error("port {port} is already in use")]
    PortInUse {
        /// The port asked for.
        port: u16,
    },
    /// Any other failure to listen.
    #[error("cannot listen on {address}: {message}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// What the operating system said.
        message: String,
    },
}

/// Statistics of a balancer: the group as a whole and every member it knows.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct BalancerStats {
    /// The port the balancer listens on.
    pub port: u16,
    /// All requests clients sent, and client connections.
    pub group: TrafficStats,
    /// Routable and draining members, in the order they were added.
    pub members: Vec<MemberStats>,
}

/// Statistics of one member.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct MemberStats {
    /// The id given to [`Balancer::add`].
    pub member_id: String,
    /// Where the member listens.
    pub address: SocketAddr,
    /// Whether the member was removed and only finishes its requests.
    pub draining: bool,
    /// Requests sent to this member, including attempts that failed and were retried elsewhere.
    pub traffic: TrafficStats,
}

/// A running load balancer; cheap to clone, and all clones control the same one.
///
/// Dropping the last clone stops it as [`Balancer::shutdown`] does, without waiting.
#[derive(Clone)]
pub struct Balancer {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    /// Set to `true` (or dropped) to stop accepting; connection tasks then close once idle.
    stop: watch::Sender<bool>,
    accept_task: Mutex<Option<JoinHandle<()>>>,
}

impl fmt::Debug for Balancer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Balancer").field("local_addr", &self.inner.local_addr).finish_non_exhaustive()
    }
}

impl Balancer {
    /// Starts listening on `address` (e.g. `0.0.0.0:8080` or `127.0.0.1:0`) and serving.
    pub async fn bind(address: SocketAddr) -> Result<Balancer, BalancerError> {
        let bind_error = |error: std::io::Error| match error.kind() {
            std::io::ErrorKind::AddrInUse => BalancerError::PortInUse { port: address.port() },
            _ => BalancerError::Bind { address, message: error.to_string() },
        };
        // Tokio sets SO_REUSEADDR, so a port left in TIME_WAIT by an earlier balancer can be
        // bound again at once, while a port someone listens on is still refused.
        let listener = TcpListener::bind(address).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let shared = Arc::new(Shared { members: Members::default(), group: Arc::new(Traffic::new()) });
        let (stop, stopped) = watch::channel(false);
        let accept_task = tokio::spawn(accept(listener, Arc::clone(&shared), stopped));
        tracing::info!(address = %local_addr, "balancer listening");
        Ok(Balancer { inner: Arc::new(Inner { shared, local_addr, stop, accept_task: Mutex::new(Some(accept_task)) }) })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// Makes a member routable, or updates its address. Idempotent.
    ///
    /// Adding a draining member makes it routable again. After an address change, new requests
    /// go to the new address while those in flight finish at the old one.
    pub fn add(&self, member_id: &str, address: SocketAddr) {
        let port = self.inner.local_addr.port();
        match self.inner.shared.members.add(member_id, address) {
            Added::New => tracing::info!(port, member_id, %address, "member added to balancer"),
            Added::Readmitted => tracing::info!(port, member_id, %address, "member routable again"),
            Added::Moved => tracing::info!(port, member_id, %address, "member address changed"),
            Added::Unchanged => {}
        }
    }

    /// Stops routing new requests to a member (draining); its in-flight requests continue and are
    /// still counted. Idempotent; unknown ids are ignored.
    pub fn remove(&self, member_id: &str) {
        if self.inner.shared.members.drain(member_id) {
            let in_flight = self.in_flight(member_id);
            tracing::info!(port = self.inner.local_addr.port(), member_id, in_flight, "member draining");
        }
    }

    /// Drops everything known about a member (after it was stopped). Requests still in flight to
    /// it finish, uncounted.
    pub fn forget(&self, member_id: &str) {
        if self.inner.shared.members.forget(member_id) {
            tracing::info!(port = self.inner.local_addr.port(), member_id, "member forgotten");
        }
    }

    /// Requests in flight to a member right now (0 for unknown members).
    pub fn in_flight(&self, member_id: &str) -> u64 {
        self.inner.shared.members.find(member_id).map_or(0, |member| member.traffic.in_flight())
    }

    /// Ids of the members that receive new requests, in the order they were added.
    pub fn routable(&self) -> Vec<String> {
        let members = self.inner.shared.members.all();
        members.iter().filter(|member| !member.is_draining()).map(|member| member.id.clone()).collect()
    }

    /// Statistics of the group and of every known member (routable or draining).
    pub fn stats(&self) -> BalancerStats {
        let members = self.inner.shared.members.all();
        BalancerStats {
            port: self.inner.local_addr.port(),
            group: self.inner.shared.group.snapshot(),
            members: members
                .iter()
                .map(|member| MemberStats {
                    member_id: member.id.clone(),
                    address: member.address(),
                    draining: member.is_draining(),
                    traffic: member.traffic.snapshot(),
                })
                .collect(),
        }
    }

    /// Stops accepting connections and closes the listener; returns once the port is free.
    ///
    /// Requests in flight finish, after which their keep-alive connections close; upgraded
    /// connections stay open until one side closes them.
    pub async fn shutdown(&self) {
        self.inner.stop.send_replace(true);
        let accept_task = lock(&self.inner.accept_task).take();
        if let Some(accept_task) = accept_task
            && let Err(error) = accept_task.await
        {
            tracing::warn!(%error, "balancer accept task failed");
        }
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    let port = listener.local_addr().map_or(0, |address| address.port());
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).keep_alive(true).header_read_timeout(CLIENT_IDLE_TIMEOUT);
    let builder = Arc::new(builder);
    loop {
        let accepted = tokio::select! {
            // A changed value means `shutdown`; an error means every `Balancer` was dropped.
            _ = stopped.changed() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, client)) => {
                tokio::spawn(serve(stream, client, Arc::clone(&shared), Arc::clone(&builder), stopped.clone()));
            }
            Err(error) if is_connection_error(&error) => {
                tracing::debug!(port, %error, "client connection failed before it was accepted");
            }
            Err(error) => {
                // Out of file descriptors or memory: retrying at once would spin, and waiting
                // lets connections close.
                tracing::warn!(port, %error, "cannot accept connections");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    tracing::info!(port, "balancer stopped listening");
}

fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(error.kind(), ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused)
}

async fn serve(
    stream: TcpStream,
    client: SocketAddr,
    shared: Arc<Shared>,
    builder: Arc<http1::Builder>,
    mut stopped: watch::Receiver<bool>,
) {
    let io = TokioIo::new(CountedStream::new(stream, &shared.group));
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(proxy::handle(&shared, client, request).await) }
    });
    let connection = builder.serve_connection(io, service).with_upgrades();
    let mut connection = std::pin::pin!(connection);
    // Resolves at once when the balancer stopped between accepting this connection and now.
    let stop = async move {
        let _ = stopped.wait_for(|stopped| *stopped).await;
    };
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stop => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%client, %error, "client connection closed with an error");
    }
}
