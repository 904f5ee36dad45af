//! Real cloud servers, as data: Rackspace identity's requests and answers ([`identity`]).
//! The engine's cloud provider does the I/O.

pub mod identity;
