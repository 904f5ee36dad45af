//! The provider boundary: the converger talks to members only through a [`Provider`] (start,
//! stop, observe, clean up what a previous run left) and to load balancers only through a
//! [`LoadBalancer`] (add, drain, remove, observe), made by a [`Balancers`] factory.
//!
//! `local_process` and the built-in balancer are the first implementations; engine tests use
//! fakes of both. A member record carries its provider's name and the provider's own
//! reference to it (for a local process, its process id and port), never an assumption
//! about what a member is.

pub mod cloud;
pub mod local_process;

use std::collections::HashSet;
use std::net::SocketAddr;

use ebb_core::launch::{LaunchConfig, LaunchKind};
use ebb_store::MemberRecord;
use serde_json::Value;

use crate::balancer::BalancerStats;

/// A member to start.
#[derive(Debug, Clone)]
pub struct MemberToStart<'a> {
    /// Its group.
    pub group_id: &'a str,
    /// Its id.
    pub member_id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// How to make it.
    pub launch: &'a LaunchConfig,
}

/// A started member: what identifies it to its provider, and where it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    /// Stored with the member record.
    pub reference: Value,
    /// Where load balancers send its requests.
    pub address: SocketAddr,
}

/// Why a provider could not do what was asked, and whether it may have happened anyway.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Nothing happened; the message is meant for the user who can fix it.
    #[error("{0}")]
    Refused(String),
    /// The change may have happened (a timeout, a lost answer): look before trying again.
    #[error("{0} (it may have happened)")]
    Uncertain(String),
}

impl ProviderError {
    /// Whether the change may have happened.
    pub fn may_have_happened(&self) -> bool {
        matches!(self, ProviderError::Uncertain(_))
    }
}

/// What a provider knows of a member now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberStatus {
    /// Running; ready when its readiness check passed.
    Running {
        /// Its readiness check passed.
        ready: bool,
    },
    /// Gone: how, and whether it ever was ready.
    Exited {
        /// How it ended.
        how: String,
        /// It ended before it was ever ready.
        before_ready: bool,
    },
    /// Not one this provider runs (a member of a previous run, or disowned).
    Unknown,
}

/// What makes and removes members of one launch type.
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// The launch type it serves.
    fn kind(&self) -> LaunchKind;
    /// Its name, stored with its members.
    fn name(&self) -> &'static str;
    /// Starts a member.
    async fn start(&self, member: &MemberToStart<'_>) -> Result<Started, ProviderError>;
    /// Where a started member serves, from its record.
    fn address(&self, member: &MemberRecord) -> Option<SocketAddr>;
    /// What is known of a member now.
    fn status(&self, member: &MemberRecord) -> MemberStatus;
    /// Asks a member to stop: gracefully, then by force after its stop timeout.
    fn stop(&self, member: &MemberRecord);
    /// Forgets a member that is gone, cleaning up what it left behind.
    fn forget(&self, member: &MemberRecord);
    /// Forgets a member and leaves it running, unmanaged.
    fn disown(&self, member: &MemberRecord);
    /// Stops, and waits for, every member it runs (the server is stopping).
    async fn stop_all(&self, members: &[MemberRecord]);
    /// Deals with what a previous run of the server left: members recorded then are stopped
    /// (they are replaced, not adopted); returns how many were found running.
    async fn clean_up(&self, recorded: &[MemberRecord], groups: &HashSet<String>) -> usize;
    /// Deals with a group that is gone (its logs, for a local process).
    fn group_gone(&self, group: &str);
    /// The last `max_bytes` (at most) of what a member wrote, and whether older output was
    /// left out.
    async fn output(&self, group: &str, member: &str, max_bytes: u64) -> std::io::Result<(Vec<u8>, bool)>;
}

/// A load balancer in front of a group's members.
#[async_trait::async_trait]
pub trait LoadBalancer: Send + Sync {
    /// The port it listens on.
    fn port(&self) -> u16;
    /// Makes a member routable (idempotent).
    fn add(&self, member: &str, address: SocketAddr);
    /// Stops routing new requests to a member; its requests in flight finish.
    fn drain(&self, member: &str);
    /// Forgets a member that is stopped.
    fn remove(&self, member: &str);
    /// Members that receive new requests.
    fn routable(&self) -> Vec<String>;
    /// Requests in flight to a member.
    fn in_flight(&self, member: &str) -> u64;
    /// Traffic statistics.
    fn stats(&self) -> BalancerStats;
    /// Stops listening.
    async fn shutdown(&self);
}

/// Makes load balancers.
#[async_trait::async_trait]
pub trait Balancers: Send + Sync {
    /// A balancer listening on `port`; the message says why not.
    async fn bind(&self, port: u16) -> Result<std::sync::Arc<dyn LoadBalancer>, String>;
}

/// The built-in balancers, listening on one host address.
pub struct BuiltinBalancers {
    /// The address they listen on.
    pub host: std::net::Ipv4Addr,
}

#[async_trait::async_trait]
impl Balancers for BuiltinBalancers {
    async fn bind(&self, port: u16) -> Result<std::sync::Arc<dyn LoadBalancer>, String> {
        let address = SocketAddr::V4(std::net::SocketAddrV4::new(self.host, port));
        crate::balancer::Balancer::bind(address)
            .await
            .map(|balancer| std::sync::Arc::new(balancer) as std::sync::Arc<dyn LoadBalancer>)
            .map_err(|err| err.to_string())
    }
}

#[async_trait::async_trait]
impl LoadBalancer for crate::balancer::Balancer {
    fn port(&self) -> u16 {
        self.local_addr().port()
    }

    fn add(&self, member: &str, address: SocketAddr) {
        crate::balancer::Balancer::add(self, member, address);
    }

    fn drain(&self, member: &str) {
        crate::balancer::Balancer::remove(self, member);
    }

    fn remove(&self, member: &str) {
        crate::balancer::Balancer::forget(self, member);
    }

    fn routable(&self) -> Vec<String> {
        crate::balancer::Balancer::routable(self)
    }

    fn in_flight(&self, member: &str) -> u64 {
        crate::balancer::Balancer::in_flight(self, member)
    }

    fn stats(&self) -> BalancerStats {
        crate::balancer::Balancer::stats(self)
    }

    async fn shutdown(&self) {
        crate::balancer::Balancer::shutdown(self).await;
    }
}
