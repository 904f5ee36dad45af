//! The members a balancer knows, and the choice of the member that takes the next request:
//! the fewest requests in flight, ties broken round-robin.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::traffic::{InFlight, Traffic, lock};
use super::upstream::Upstream;

#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) id: String,
    pub(crate) traffic: Arc<Traffic>,
    draining: AtomicBool,
    /// Replaced when the member's address changes; requests already sent keep the old one.
    upstream: Mutex<Arc<Upstream>>,
}

impl Member {
    fn new(id: &str, address: SocketAddr) -> Member {
        let traffic = Arc::new(Traffic::new());
        let upstream = Mutex::new(Arc::new(Upstream::new(address, Arc::clone(&traffic))));
        Member { id: id.to_owned(), traffic, draining: AtomicBool::new(false), upstream }
    }

    pub(crate) fn upstream(&self) -> Arc<Upstream> {
        Arc::clone(&lock(&self.upstream))
    }

    pub(crate) fn address(&self) -> SocketAddr {
        lock(&self.upstream).address()
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}

/// What [`Members::add`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Added {
    New,
    Readmitted,
    Moved,
    Unchanged,
}

#[derive(Debug, Default)]
pub(crate) struct Members {
    /// Read on every request, written only when membership changes.
    list: RwLock<Vec<Arc<Member>>>,
    /// Rotates among members tied for the fewest requests in flight.
    next: AtomicUsize,
}

impl Members {
    fn read(&self) -> RwLockReadGuard<'_, Vec<Arc<Member>>> {
        // Nothing panics while holding the lock, so a poisoned list is still consistent.
        self.list.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Vec<Arc<Member>>> {
        self.list.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn add(&self, id: &str, address: SocketAddr) -> Added {
        let mut list = self.write();
        let Some(member) = list.iter().find(|member| member.id == id) else {
            list.push(Arc::new(Member::new(id, address)));
            return Added::New;
        };
        let moved = {
            let mut upstream = lock(&member.upstream);
            if upstream.address() == address {
                false
            } else {
                *upstream = Arc::new(Upstream::new(address, Arc::clone(&member.traffic)));
                true
            }
        };
        let was_draining = member.draining.swap(false, Ordering::AcqRel);
        match (moved, was_draining) {
            (true, _) => Added::Moved,
            (false, true) => Added::Readmitted,
            (false, false) => Added::Unchanged,
        }
    }

    /// Returns whether the member was routable until now.
    pub(crate) fn drain(&self, id: &str) -> bool {
        self.find(id).is_some_and(|member| !member.draining.swap(true, Ordering::AcqRel))
    }

    /// Returns whether the member was known.
    pub(crate) fn forget(&self, id: &str) -> bool {
        let mut list = self.write();
        let before = list.len();
        list.retain(|member| member.id != id);
        list.len() != before
    }

    pub(crate) fn find(&self, id: &str) -> Option<Arc<Member>> {
        self.read().iter().find(|member| member.id == id).cloned()
    }

    pub(crate) fn all(&self) -> Vec<Arc<Member>> {
        self.read().clone()
    }

    /// Chooses the routable member with the fewest requests in flight, skipping `tried`, and
    /// counts the new request as in flight to it.
    pub(crate) fn pick(&self, tried: &[Arc<Member>]) -> Option<(Arc<Member>, InFlight)> {
        let list = self.read();
        let eligible =
            |member: &&Arc<Member>| !member.is_draining() && !tried.iter().any(|earlier| Arc::ptr_eq(earlier, member));
        let mut fewest = u64::MAX;
        let mut tied = 0;
        for member in list.iter().filter(eligible) {
            let in_flight = member.traffic.in_flight();
            if in_flight < fewest {
                fewest = in_flight;
                tied = 1;
            } else if in_flight == fewest {
                tied += 1;
            }
        }
        if tied == 0 {
            return None;
        }
        // Counts may have moved since the first pass; `<=` still finds a least-loaded member, and
        // the turn-th one of those when nothing moved.
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % tied;
        let mut least_loaded = list.iter().filter(eligible).filter(|member| member.traffic.in_flight() <= fewest);
        let chosen =
            least_loaded.clone().nth(turn).or_else(|| least_loaded.next()).or_else(|| list.iter().find(eligible))?;
        Some((Arc::clone(chosen), InFlight::begin(&chosen.traffic)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn pick_id(members: &Members) -> Option<String> {
        members.pick(&[]).map(|(member, _in_flight)| member.id.clone())
    }

    #[test]
    fn ties_are_broken_round_robin_among_routable_members() {
        let members = Members::default();
        for (id, port) in [("a", 1), ("b", 2), ("c", 3)] {
            members.add(id, address(port));
        }
        members.drain("a");
        let picks: Vec<String> = (0..6).filter_map(|_| pick_id(&members)).collect();
        assert_eq!(picks.iter().filter(|id| *id == "b").count(), 3);
        assert_eq!(picks.iter().filter(|id| *id == "c").count(), 3);
    }

    #[test]
    fn the_member_with_fewest_in_flight_wins() {
        let members = Members::default();
        members.add("a", address(1));
        members.add("b", address(2));
        let (busy, _held) = members.pick(&[]).unwrap();
        for _ in 0..5 {
            let (chosen, _released) = members.pick(&[]).unwrap();
            assert_ne!(chosen.id, busy.id);
        }
    }

    #[test]
    fn tried_members_are_skipped() {
        let members = Members::default();
        members.add("a", address(1));
        members.add("b", address(2));
        let (first, _in_flight) = members.pick(&[]).unwrap();
        let (second, _in_flight) = members.pick(std::slice::from_ref(&first)).unwrap();
        assert_ne!(first.id, second.id);
        assert!(members.pick(&[first, second]).is_none());
    }

    #[test]
    fn adding_again_readmits_or_moves_a_member() {
        let members = Members::default();
        assert_eq!(members.add("a", address(1)), Added::New);
        assert_eq!(members.add("a", address(1)), Added::Unchanged);
        assert!(members.drain("a"));
        assert!(!members.drain("a"));
        assert!(pick_id(&members).is_none());
        assert_eq!(members.add("a", address(1)), Added::Readmitted);
        assert_eq!(members.add("a", address(2)), Added::Moved);
        assert_eq!(members.find("a").unwrap().address(), address(2));
        assert!(members.forget("a"));
        assert!(!members.forget("a"));
        assert!(members.find("a").is_none());
    }
}
