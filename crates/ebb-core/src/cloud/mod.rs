//! Real cloud servers, as data: Rackspace identity's requests and answers ([`identity`]), a
//! tenant's cloud settings ([`settings`]), and the servers a group creates in Nova ([`nova`]).
//! The engine's cloud provider does the I/O.

pub mod identity;
pub mod nova;
pub mod settings;
