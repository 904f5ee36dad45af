//! Real cloud servers, as data: Rackspace identity's requests and answers ([`identity`]), and a
//! tenant's cloud settings ([`settings`]).
//! The engine's cloud provider does the I/O.

pub mod identity;
pub mod settings;
