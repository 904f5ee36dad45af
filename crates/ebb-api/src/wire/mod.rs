//! The answers of the API, as types: handlers build these, serde writes them, and the OpenAPI
//! document publishes their schemas (derived with `schemars`), so the document describes
//! exactly what is sent. Request bodies are the types of `ebb_core::documents`.
//!
//! By concern: what every API shares is here (stored documents, links, errors, health);
//! [`admin`] (tenants, tokens, grants), [`otter`] (the Auto Scale API's groups, policies,
//! webhooks, members, schedules, history, limits, samples), [`explain`] (explanations and
//! votes), [`cf`] (Cloud Foundry's shapes), [`broker`] (the service broker's). Every type is
//! re-exported here: handlers write `wire::GroupAnswer` whatever the file.

use std::marker::PhantomData;

use schemars::JsonSchema;
use serde::{Serialize, Serializer};
use serde_json::Value;

mod admin;
mod broker;
mod cf;
mod explain;
mod otter;

pub use admin::*;
pub use broker::*;
pub use cf::*;
pub use explain::*;
pub use otter::*;

/// A document stored as it was submitted and shown as it was stored, published with the
/// schema of the type `T` it was checked against.
#[derive(Debug, Clone)]
pub struct Stored<T>(pub Value, PhantomData<T>);

impl<T> Stored<T> {
    /// A stored document.
    pub fn new(document: Value) -> Self {
        Stored(document, PhantomData)
    }
}

impl<T> Serialize for Stored<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<T: JsonSchema> JsonSchema for Stored<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// A link to a resource.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Link {
    /// An absolute URL, ending with `/`.
    pub href: String,
    /// `self`, `next`, `capability`, `policies`, `webhooks`.
    pub rel: String,
}

impl Link {
    /// `{"href": url, "rel": rel}`.
    pub fn new(href: String, rel: &str) -> Link {
        Link { href, rel: rel.to_string() }
    }
}

/// The error body every failure answers with.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorAnswer {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorDetail {
    /// The error type, such as `NoSuchScalingGroupError`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status.
    pub code: u16,
    /// What happened, in words.
    pub message: String,
    /// More detail (often empty).
    pub details: String,
}

/// `{}`: an answer with nothing to say.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// `GET /health`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Health {
    /// Whether the service can answer.
    pub healthy: bool,
    /// The store.
    pub store: StoreHealth,
}

/// The store's health.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StoreHealth {
    /// Whether it answered.
    pub healthy: bool,
    /// Why not.
    pub error: Option<String>,
}
