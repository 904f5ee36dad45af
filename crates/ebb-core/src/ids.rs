//! Identifiers as types of their own, so a policy id cannot be passed where a group id is
//! expected: most store and engine calls take several of them side by side.
//!
//! Each wraps the string clients see (a UUID for what Ebb creates, the operator's name for a
//! tenant) and reads and writes as that string in JSON. Nothing here checks its form: ids come
//! from URLs and are looked up, and an id that names nothing is simply not found.

use std::fmt;

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id spelt `id`.
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            /// A new id, unique and ordered by creation time (a UUIDv7).
            pub fn generate() -> Self {
                $name(uuid::Uuid::now_v7().to_string())
            }

            /// The id as clients see it.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_string())
            }
        }

        // Hashes and orders as its string does, so maps keyed by ids are searched by `&str`.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

identifier!(
    /// A tenant: the operator's name for it.
    TenantId
);
identifier!(
    /// A scaling group.
    GroupId
);
identifier!(
    /// A scaling policy.
    PolicyId
);
identifier!(
    /// A webhook of a policy.
    WebhookId
);
identifier!(
    /// A member of a group.
    MemberId
);
identifier!(
    /// A collector of a group.
    CollectorId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_reads_and_writes_as_its_string() {
        let group = GroupId::new("0192-abc");
        assert_eq!(serde_json::to_string(&group).unwrap(), "\"0192-abc\"");
        assert_eq!(serde_json::from_str::<GroupId>("\"0192-abc\"").unwrap(), group);
        assert_eq!(group.to_string(), "0192-abc");
        assert_eq!(group, "0192-abc");
    }

    #[test]
    fn generated_ids_are_unique_and_ordered_by_creation() {
        let first = PolicyId::generate();
        let second = PolicyId::generate();
        assert_ne!(first, second);
        assert!(first < second);
    }
}
