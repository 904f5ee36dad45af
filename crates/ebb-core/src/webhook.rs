//! Webhook bodies: a name and free-form metadata.

use serde_json::{Map, Value};

use crate::Invalid;
use crate::json::{self, Obj};

/// A validated webhook body.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookBody {
    /// At least one non-whitespace character.
    pub name: String,
    /// String pairs; `{}` when omitted on create.
    pub metadata: Map<String, Value>,
}

impl WebhookBody {
    /// Validates a webhook found at `path`. On replace (`PUT`) `metadata` is required.
    pub fn parse(value: &Value, path: &str, replace: bool) -> Result<Self, Invalid> {
        let obj = Obj::new(value, path)?;
        obj.only(&["name", "metadata"])?;
        let name = json::non_blank(obj.required("name")?, &obj.path_of("name"), 256)?;
        let metadata_value = if replace { Some(obj.required("metadata")?) } else { obj.get("metadata") };
        let metadata = match metadata_value {
            None => Map::new(),
            Some(value) => {
                json::metadata(value, &obj.path_of("metadata"), 256, 256)?;
                value.as_object().cloned().unwrap_or_default()
            }
        };
        crate::documents::conforms::<crate::documents::WebhookDocument>(value, path)?;
        Ok(WebhookBody { name: name.to_string(), metadata })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_defaults_to_empty_and_is_required_on_replace() {
        let body = WebhookBody::parse(&json!({"name": "hook"}), "", false).unwrap();
        assert!(body.metadata.is_empty());
        assert!(WebhookBody::parse(&json!({"name": "hook"}), "", true).is_err());
        assert!(WebhookBody::parse(&json!({"name": "hook", "metadata": {}}), "", true).is_ok());
    }

    #[test]
    fn rejects_bad_names_and_metadata() {
        for body in [
            json!({"name": ""}),
            json!({"name": "  "}),
            json!({"name": "a", "metadata": "text"}),
            json!({"name": "a", "metadata": {"k": 1}}),
            json!({"name": "a", "other": 1}),
            json!({}),
        ] {
            assert!(WebhookBody::parse(&body, "", false).is_err(), "should reject {body}");
        }
    }
}
