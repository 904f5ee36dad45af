//! The cloud provider's I/O: for now, Rackspace identity ([`identity`]).

pub mod identity;
