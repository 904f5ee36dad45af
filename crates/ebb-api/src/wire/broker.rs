//! The service broker's shapes (Open Service Broker API v2): errors, catalog, bindings.

use schemars::JsonSchema;
use serde::Serialize;

/// An error of the service broker, as the Open Service Broker API v2 has it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BrokerErrorAnswer {
    /// A code the platform acts on (`RequiresApp`, `InvalidPolicy`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What went wrong, for people.
    pub description: String,
}

/// The service broker's catalog: one service, Ebb's autoscaler, with its plans.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BrokerCatalog {
    /// The services offered.
    pub services: Vec<BrokerService>,
}

/// A service of the catalog.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BrokerService {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Whether instances can be bound (they can: binding attaches a group).
    pub bindable: bool,
    /// Whether an instance can change plans.
    pub plan_updateable: bool,
    /// Whether instances can be fetched (they cannot).
    pub instances_retrievable: bool,
    /// Whether bindings can be fetched (they cannot).
    pub bindings_retrievable: bool,
    /// Tags.
    pub tags: Vec<String>,
    /// Its plans.
    pub plans: Vec<BrokerPlan>,
}

/// A plan of the catalog's service.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BrokerPlan {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it offers.
    pub description: String,
    /// Whether it is free.
    pub free: bool,
}

/// What a bind answers: the credentials the bound app submits its custom metrics with.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BrokerBinding {
    /// The credentials, as Cloud Foundry puts them in `VCAP_SERVICES`.
    pub credentials: BrokerCredentials,
}

/// A binding's credentials.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BrokerCredentials {
    /// The metric credential of the bound group.
    pub custom_metrics: BrokerMetricCredential,
}

/// A bound group's metric credential (HTTP Basic on `POST {url}/v1/apps/{appId}/metrics`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BrokerMetricCredential {
    /// The user name.
    pub username: String,
    /// The password, shown only here.
    pub password: String,
    /// Where metrics are submitted.
    pub url: String,
}
