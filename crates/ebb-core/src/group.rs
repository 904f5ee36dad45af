//! Group configuration: the name, cooldown and capacity bounds of a scaling group.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::json::{self, Obj};
use crate::limits::{MAX_COOLDOWN, MAX_ENTITIES};
use crate::{Invalid, InvalidKind};

/// A validated group configuration, as stored and as shown (`groupConfiguration`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupConfig {
    /// Not unique; at least one non-whitespace character.
    pub name: String,
    /// Seconds after a successful execution during which no policy of the group may execute.
    pub cooldown: u32,
    /// The fewest members the group may have.
    pub min_entities: u32,
    /// The most members the group may have.
    pub max_entities: u32,
    /// Free-form string pairs.
    #[schemars(with = "crate::documents::Metadata")]
    pub metadata: Map<String, Value>,
    /// Seconds after a successful execution during which no policy may scale the group up
    /// (`cooldown` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up_cooldown: Option<u32>,
    /// The same for scaling down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_cooldown: Option<u32>,
}

/// Whether a configuration is being created (optional fields get defaults) or replaced
/// (`PUT .../config`: every field is required).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `POST /groups`.
    Create,
    /// `PUT /groups/{id}/config`.
    Replace,
}

impl GroupConfig {
    /// Validates a `groupConfiguration` object found at `path`.
    ///
    /// An explicit `"maxEntities": null` means "no limit of its own", that is 1000
    /// (see `docs/decisions/0001-otter-gaps.md`).
    pub fn parse(value: &Value, path: &str, mode: Mode) -> Result<Self, Invalid> {
        let obj = Obj::new(value, path)?;
        obj.only(&[
            "name",
            "cooldown",
            "minEntities",
            "maxEntities",
            "metadata",
            "scaleUpCooldown",
            "scaleDownCooldown",
        ])?;
        let name = json::non_blank(obj.required("name")?, &obj.path_of("name"), 256)?;
        let cooldown = json::integer(obj.required("cooldown")?, &obj.path_of("cooldown"), 0, MAX_COOLDOWN)?;
        let min = json::integer(obj.required("minEntities")?, &obj.path_of("minEntities"), 0, MAX_ENTITIES)?;
        let max_value = match mode {
            Mode::Create => obj.get("maxEntities"),
            Mode::Replace => Some(obj.required("maxEntities")?),
        };
        let max = match max_value {
            None | Some(Value::Null) => MAX_ENTITIES,
            Some(value) => json::integer(value, &obj.path_of("maxEntities"), 0, MAX_ENTITIES)?,
        };
        let metadata_value = match mode {
            Mode::Create => obj.get("metadata"),
            Mode::Replace => Some(obj.required("metadata")?),
        };
        let metadata = match metadata_value {
            None => Map::new(),
            Some(value) => {
                json::metadata(value, &obj.path_of("metadata"), 256, 256)?;
                value.as_object().cloned().unwrap_or_default()
            }
        };
        let directed = |key: &str| {
            obj.get(key)
                .map(|value| json::integer(value, &obj.path_of(key), 0, MAX_COOLDOWN).map(|s| s as u32))
                .transpose()
        };
        let config = GroupConfig {
            name: name.to_string(),
            cooldown: cooldown as u32,
            min_entities: min as u32,
            max_entities: max as u32,
            metadata,
            scale_up_cooldown: directed("scaleUpCooldown")?,
            scale_down_cooldown: directed("scaleDownCooldown")?,
        };
        config.check_bounds()?;
        crate::documents::conforms::<crate::documents::GroupConfigDocument>(value, path)?;
        Ok(config)
    }

    /// The group's cooldowns by direction: each direction's own when set, else `cooldown`.
    pub fn cooldowns(&self) -> crate::capacity::GroupCooldown {
        crate::capacity::GroupCooldown {
            up: self.scale_up_cooldown.unwrap_or(self.cooldown),
            down: self.scale_down_cooldown.unwrap_or(self.cooldown),
            any: self.cooldown,
        }
    }

    /// `minEntities` must not exceed `maxEntities`: checked after the shape.
    fn check_bounds(&self) -> Result<(), Invalid> {
        if self.min_entities > self.max_entities {
            return Err(Invalid {
                kind: InvalidKind::MinEntities,
                message: "minEntities must be less than or equal to maxEntities".to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<GroupConfig, Invalid> {
        GroupConfig::parse(&value, "groupConfiguration", Mode::Create)
    }

    #[test]
    fn omitted_fields_get_defaults() {
        let config = parse(json!({"name": "web", "cooldown": 60, "minEntities": 1})).unwrap();
        assert_eq!(config.max_entities, 1000);
        assert!(config.metadata.is_empty());
        let config = parse(json!({"name": "web", "cooldown": 0, "minEntities": 1, "maxEntities": null})).unwrap();
        assert_eq!(config.max_entities, 1000);
    }

    #[test]
    fn bounds_are_checked_after_shape() {
        let err = parse(json!({"name": "w", "cooldown": 0, "minEntities": 5, "maxEntities": 4})).unwrap_err();
        assert_eq!(err.kind, InvalidKind::MinEntities);
        let err = parse(json!({"name": "", "cooldown": 0, "minEntities": 5, "maxEntities": 4})).unwrap_err();
        assert_eq!(err.kind, InvalidKind::Schema);
        assert!(parse(json!({"name": "w", "cooldown": 0, "minEntities": 4, "maxEntities": 4})).is_ok());
    }

    #[test]
    fn rejections_follow_the_otter_schema() {
        let base = json!({"name": "w", "cooldown": 0, "minEntities": 0});
        let cases = [
            ("name", json!(" ")),
            ("name", json!("n".repeat(257))),
            ("name", json!(5)),
            ("cooldown", json!(-1)),
            ("cooldown", json!(86401)),
            ("cooldown", json!(1.5)),
            ("minEntities", json!(-1)),
            ("minEntities", json!(1001)),
            ("maxEntities", json!(1001)),
            ("maxEntities", json!(-1)),
            ("metadata", json!({"k": 1})),
            ("metadata", json!({"k": null})),
            ("metadata", json!({"k": "v".repeat(257)})),
            ("metadata", json!({"k".repeat(257): "v"})),
            ("metadata", json!("text")),
            ("extra", json!(1)),
        ];
        for (key, value) in cases {
            let mut body = base.clone();
            body[key] = value.clone();
            let err = parse(body).expect_err(&format!("{key} = {value} should be rejected"));
            assert_eq!(err.kind, InvalidKind::Schema, "{key} = {value}");
        }
    }

    #[test]
    fn replace_requires_every_field() {
        let partial = json!({"name": "w", "cooldown": 0, "minEntities": 0, "maxEntities": 3});
        assert!(GroupConfig::parse(&partial, "", Mode::Replace).is_err());
        let full = json!({"name": "w", "cooldown": 0, "minEntities": 0, "maxEntities": 3, "metadata": {}});
        assert!(GroupConfig::parse(&full, "", Mode::Replace).is_ok());
    }

    #[test]
    fn cooldowns_may_differ_per_direction() {
        let config = parse(
            json!({"name": "w", "cooldown": 60, "minEntities": 0, "scaleUpCooldown": 0, "scaleDownCooldown": 600}),
        )
        .unwrap();
        assert_eq!(config.cooldowns(), crate::capacity::GroupCooldown { up: 0, down: 600, any: 60 });
        let plain = parse(json!({"name": "w", "cooldown": 60, "minEntities": 0})).unwrap();
        assert_eq!(plain.cooldowns(), crate::capacity::GroupCooldown::same(60), "cooldown keeps its meaning");
        assert!(!serde_json::to_string(&plain).unwrap().contains("Cooldown\""), "absent ones are not shown");
        let err = parse(json!({"name": "w", "cooldown": 0, "minEntities": 0, "scaleDownCooldown": 86401})).unwrap_err();
        assert!(err.message.contains("scaleDownCooldown"), "{}", err.message);
    }
}
