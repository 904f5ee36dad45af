//! The cloud provider's I/O: Rackspace identity ([`identity`]) and Nova ([`nova`]), each for
//! one tenant.

pub mod identity;
pub mod nova;
