//! Tenants' cloud settings, the same for every backend: a separate trait, as the settings are
//! read only by the cloud provider and the admin API.

use ebb_core::cloud::settings::CloudSettings;

use crate::error::StoreError;
use crate::model::TenantId;

/// Tenants' cloud settings.
#[async_trait::async_trait]
pub trait CloudStore: Send + Sync {
    /// Replaces a tenant's cloud settings (`None` removes them).
    async fn set_cloud(&self, tenant: &TenantId, settings: Option<CloudSettings>) -> Result<(), StoreError>;
    /// A tenant's cloud settings, if it has any.
    async fn cloud(&self, tenant: &TenantId) -> Result<Option<CloudSettings>, StoreError>;
}

/// The stored document of settings.
pub(crate) fn document(settings: &CloudSettings) -> String {
    settings.document().to_string()
}

/// Settings from their stored document.
pub(crate) fn parse(text: &str) -> Result<CloudSettings, StoreError> {
    let document = crate::stored::parse_json(text)?;
    CloudSettings::parse(&document).map_err(|err| StoreError::Corrupt(format!("cloud settings: {}", err.message)))
}
