//! The one error type of validation: what was wrong, in words a user can act on.

/// Which rule a rejected input broke; the API maps each kind to its documented error type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidKind {
    /// The input does not have the documented shape (types, ranges, required or unknown keys).
    Schema,
    /// `minEntities` is greater than `maxEntities` (checked after every shape check).
    MinEntities,
    /// A rule across fields of a valid shape, checked after the bounds
    /// (the ServiceNet rule of Cloud Load Balancers).
    Rule,
}

/// A rejected input, with a message that names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    /// The broken rule.
    pub kind: InvalidKind,
    /// A human-readable explanation naming the field.
    pub message: String,
}

impl Invalid {
    /// A shape error with the given message.
    pub fn schema(message: impl Into<String>) -> Self {
        Invalid { kind: InvalidKind::Schema, message: message.into() }
    }
}
