//! A small checker over parsed JSON that yields schema-style messages naming the field.
//!
//! Written by hand rather than with a JSON Schema crate because the rules need more than
//! a schema says (order of checks, "exactly one of", non-blank strings, Otter's wording),
//! and because every message should carry the path of the field at fault.

use serde_json::{Map, Value};

use crate::Invalid;

/// Short display of a value for messages; long values are cut so a message stays one line.
pub fn show(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

fn type_error(path: &str, value: &Value, expected: &str) -> Invalid {
    Invalid::schema(format!("{path}: {} is not of type '{expected}'", show(value)))
}

/// A JSON object under validation, remembering where it sits in the document.
pub struct Obj<'a> {
    path: String,
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    /// Checks that `value` is an object.
    pub fn new(value: &'a Value, path: &str) -> Result<Self, Invalid> {
        match value {
            Value::Object(map) => Ok(Obj { path: path.to_string(), map }),
            other => Err(type_error(path, other, "object")),
        }
    }

    /// The path of a key of this object, for messages.
    pub fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) }
    }

    /// The path of this object.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The underlying map.
    pub fn map(&self) -> &'a Map<String, Value> {
        self.map
    }

    /// Rejects keys outside `allowed`.
    pub fn only(&self, allowed: &[&str]) -> Result<(), Invalid> {
        let mut unexpected: Vec<&str> =
            self.map.keys().filter(|key| !allowed.contains(&key.as_str())).map(String::as_str).collect();
        if unexpected.is_empty() {
            return Ok(());
        }
        unexpected.sort_unstable();
        let list = unexpected.iter().map(|key| format!("'{key}'")).collect::<Vec<_>>().join(", ");
        let verb = if unexpected.len() == 1 { "was" } else { "were" };
        let at = if self.path.is_empty() { String::new() } else { format!("{}: ", self.path) };
        Err(Invalid::schema(format!("{at}Additional properties are not allowed ({list} {verb} unexpected)")))
    }

    /// The value of a key that must be present (`null` counts as present).
    pub fn required(&self, key: &str) -> Result<&'a Value, Invalid> {
        self.map.get(key).ok_or_else(|| {
            let at = if self.path.is_empty() { String::new() } else { format!("{}: ", self.path) };
            Invalid::schema(format!("{at}'{key}' is a required property"))
        })
    }

    /// The value of an optional key; `None` when absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// Whether the key is present.
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }
}

/// A string of at most `max_len` characters.
pub fn string<'v>(value: &'v Value, path: &str, max_len: usize) -> Result<&'v str, Invalid> {
    let Value::String(text) = value else {
        return Err(type_error(path, value, "string"));
    };
    if text.chars().count() > max_len {
        return Err(Invalid::schema(format!("{path}: {} is too long (at most {max_len} characters)", show(value))));
    }
    Ok(text)
}

/// A string of at most `max_len` characters with at least one non-whitespace character.
pub fn non_blank<'v>(value: &'v Value, path: &str, max_len: usize) -> Result<&'v str, Invalid> {
    let text = string(value, path, max_len)?;
    if text.trim().is_empty() {
        return Err(Invalid::schema(format!(
            "{path}: {} does not match '\\S+' (it must not be empty or blank)",
            show(value)
        )));
    }
    Ok(text)
}

/// A non-empty string without any whitespace, of at most `max_len` characters.
pub fn token<'v>(value: &'v Value, path: &str, max_len: usize) -> Result<&'v str, Invalid> {
    let text = string(value, path, max_len)?;
    if text.is_empty() || text.chars().any(char::is_whitespace) {
        return Err(Invalid::schema(format!(
            "{path}: {} does not match '^\\S+$' (it must be non-empty with no whitespace)",
            show(value)
        )));
    }
    Ok(text)
}

/// An integer (no fraction, no exponent form that parsed as a float) within `min..=max`.
pub fn integer(value: &Value, path: &str, min: i64, max: i64) -> Result<i64, Invalid> {
    let number = match value {
        Value::Number(number) => number,
        other => return Err(type_error(path, other, "integer")),
    };
    let Some(int) = number.as_i64() else {
        // Integers beyond i64 (and floats) parse as floats or u64; both are out of any range we accept.
        if number.as_u64().is_some() {
            return Err(range_error(path, value, min, max));
        }
        return Err(type_error(path, value, "integer"));
    };
    if int < min || int > max {
        return Err(range_error(path, value, min, max));
    }
    Ok(int)
}

fn range_error(path: &str, value: &Value, min: impl std::fmt::Display, max: impl std::fmt::Display) -> Invalid {
    Invalid::schema(format!("{path}: {} is out of range (it must be between {min} and {max})", show(value)))
}

/// A number (integer or float) within `min..=max`.
pub fn number(value: &Value, path: &str, min: f64, max: f64) -> Result<f64, Invalid> {
    let Some(float) = value.as_f64().filter(|_| value.is_number()) else {
        return Err(type_error(path, value, "number"));
    };
    if !(min..=max).contains(&float) {
        return Err(range_error(path, value, min, max));
    }
    Ok(float)
}

/// A metadata object: keys of at most `max_key` characters, string values of at most `max_value`.
pub fn metadata(value: &Value, path: &str, max_key: usize, max_value: usize) -> Result<(), Invalid> {
    let obj = Obj::new(value, path)?;
    for (key, item) in obj.map() {
        if key.chars().count() > max_key {
            return Err(Invalid::schema(format!(
                "{path}: key {} is too long (at most {max_key} characters)",
                show(&Value::String(key.clone()))
            )));
        }
        string(item, &obj.path_of(key), max_value)?;
    }
    Ok(())
}

/// One of the strings `allowed`, as it is spelled there.
pub fn one_of(value: &Value, path: &str, allowed: &[&'static str]) -> Result<&'static str, Invalid> {
    if let Some(found) = allowed.iter().find(|a| value.as_str() == Some(**a)) {
        return Ok(found);
    }
    let names: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
    Err(Invalid::schema(format!("{path}: {} is not one of {}", show(value), names.join(", "))))
}

/// A boolean.
pub fn boolean(value: &Value, path: &str) -> Result<bool, Invalid> {
    value.as_bool().ok_or_else(|| type_error(path, value, "boolean"))
}

/// An array of at most `max_items` items.
pub fn array<'v>(value: &'v Value, path: &str, max_items: usize) -> Result<&'v [Value], Invalid> {
    let Value::Array(items) = value else {
        return Err(type_error(path, value, "array"));
    };
    if items.len() > max_items {
        return Err(Invalid::schema(format!(
            "{path}: has {} items, more than the maximum of {max_items}",
            items.len()
        )));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_keys_are_named_in_order() {
        let value = json!({"a": 1, "zz": 2, "b": 3});
        let err = Obj::new(&value, "thing").unwrap().only(&["a"]).unwrap_err();
        assert_eq!(err.message, "thing: Additional properties are not allowed ('b', 'zz' were unexpected)");
    }

    #[test]
    fn integers_reject_floats_and_out_of_range_values() {
        assert!(integer(&json!(1.5), "x", 0, 10).unwrap_err().message.contains("not of type 'integer'"));
        assert!(integer(&json!(11), "x", 0, 10).unwrap_err().message.contains("out of range"));
        assert!(integer(&json!(u64::MAX), "x", 0, 10).unwrap_err().message.contains("out of range"));
        assert!(integer(&json!(1e300), "x", 0, 10).is_err());
        assert_eq!(integer(&json!(10), "x", 0, 10), Ok(10));
    }

    #[test]
    fn blank_strings_are_rejected() {
        assert!(non_blank(&json!("  "), "name", 256).is_err());
        assert!(non_blank(&json!(""), "name", 256).is_err());
        assert!(non_blank(&json!(" a "), "name", 256).is_ok());
        assert!(non_blank(&json!("x".repeat(257)), "name", 256).is_err());
    }
}
