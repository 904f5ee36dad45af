//! Real cloud servers, as data: Rackspace identity's requests and answers ([`identity`]), a
//! tenant's cloud settings ([`settings`]), the servers a group creates in Nova ([`nova`]), and the
//! nodes of Cloud Load Balancers ([`clb`]).
//! The engine's cloud provider does the I/O.

pub mod clb;
pub mod converge;
pub mod identity;
pub mod launch;
pub mod nova;
pub mod settings;
