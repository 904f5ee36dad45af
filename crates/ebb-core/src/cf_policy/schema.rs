//! The schema phase of Cloud Foundry's policy validation: what its JSON Schema (draft-04,
//! checked by gojsonschema) says of a policy, with gojsonschema's contexts and wording
//! (`cf-app-autoscaler.md` §1.2–1.4, §1.6). Every error is collected, as gojsonschema does;
//! the semantic phase runs only when there is none.
//!
//! Unknown keys are allowed in the legacy shape and dropped; the `0.1` shape forbids them at
//! the root only.

use serde_json::{Map, Value};

use super::PolicyError;

/// Collects schema errors while walking a document.
#[derive(Default)]
pub(super) struct Checker {
    pub errors: Vec<PolicyError>,
}

fn given(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `(root).a.b` → `a.b`: how gojsonschema names a field inside its messages.
fn field(context: &str) -> &str {
    context.strip_prefix("(root).").unwrap_or(context)
}

impl Checker {
    pub fn error(&mut self, context: &str, description: impl Into<String>) {
        self.errors.push(PolicyError { context: context.to_string(), description: description.into() });
    }

    fn type_error(&mut self, context: &str, expected: &str, value: &Value) {
        self.error(context, format!("Invalid type. Expected: {expected}, given: {}", given(value)));
    }

    /// The object at `context`, or a type error.
    pub fn object<'a>(&mut self, value: &'a Value, context: &str) -> Option<&'a Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            other => {
                self.type_error(context, "object", other);
                None
            }
        }
    }

    /// The array at `context` with at least `min_items` items, or an error.
    pub fn array<'a>(&mut self, value: &'a Value, context: &str, min_items: usize) -> Option<&'a [Value]> {
        match value {
            Value::Array(items) if items.len() >= min_items => Some(items),
            Value::Array(_) => {
                self.error(context, format!("Array must have at least {min_items} items"));
                None
            }
            other => {
                self.type_error(context, "array", other);
                None
            }
        }
    }

    /// Reports every key of `required` missing from `map` (context: the object).
    pub fn required(&mut self, map: &Map<String, Value>, context: &str, required: &[&str]) {
        for key in required {
            if !map.contains_key(*key) {
                self.error(context, format!("{key} is required"));
            }
        }
    }

    /// The integer at `context` within `[min, max]` (either optional), or an error.
    pub fn integer(&mut self, value: &Value, context: &str, min: Option<i64>, max: Option<i64>) -> Option<i64> {
        let number = match value {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            _ => None,
        };
        let Some(number) = number.filter(|_| given(value) == "integer") else {
            self.type_error(context, "integer", value);
            return None;
        };
        if let Some(min) = min.filter(|min| number < *min) {
            self.error(context, format!("Must be greater than or equal to {min}"));
            return None;
        }
        if let Some(max) = max.filter(|max| number > *max) {
            self.error(context, format!("Must be less than or equal to {max}"));
            return None;
        }
        Some(number)
    }

    /// The string at `context`, or a type error.
    pub fn string<'a>(&mut self, value: &'a Value, context: &str) -> Option<&'a str> {
        match value {
            Value::String(text) => Some(text),
            other => {
                self.type_error(context, "string", other);
                None
            }
        }
    }

    /// The string at `context` if `matches` it, else gojsonschema's pattern error.
    pub fn pattern<'a>(
        &mut self,
        value: &'a Value,
        context: &str,
        pattern: &str,
        matches: impl Fn(&str) -> bool,
    ) -> Option<&'a str> {
        let text = self.string(value, context)?;
        if matches(text) {
            Some(text)
        } else {
            self.error(context, format!("Does not match pattern '{pattern}'"));
            None
        }
    }

    /// The string at `context` if it is one of `allowed`, else gojsonschema's enum error.
    pub fn one_of<'a>(&mut self, value: &'a Value, context: &str, allowed: &[&str]) -> Option<&'a str> {
        match value.as_str().filter(|text| allowed.contains(text)) {
            Some(text) => Some(text),
            None => {
                let list = allowed.iter().map(|a| Value::from(*a).to_string()).collect::<Vec<_>>().join(", ");
                self.error(context, format!("{} must be one of the following: {list}", field(context)));
                None
            }
        }
    }
}

/// `^[a-zA-Z0-9_]+$`.
pub(super) fn is_metric_name(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `^[-+][1-9]+[0-9]*%?$`.
pub(super) fn is_adjustment(text: &str) -> bool {
    let Some(rest) = text.strip_prefix(['+', '-']) else { return false };
    let digits = rest.strip_suffix('%').unwrap_or(rest);
    digits.bytes().next().is_some_and(|b| (b'1'..=b'9').contains(&b)) && digits.bytes().all(|b| b.is_ascii_digit())
}

fn two_digits(text: &str, max: u8) -> bool {
    text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit()) && text.parse::<u8>().is_ok_and(|n| n <= max)
}

/// `HH:MM` as `^(2[0-3]|1[0-9]|0[0-9]):([0-5][0-9])$`.
pub(super) fn is_time(text: &str) -> bool {
    matches!(text.split_once(':'), Some((h, m)) if two_digits(h, 23) && two_digits(m, 59))
}

/// `YYYY-MM-DD` with the year starting with 2, as CF's date pattern.
pub(super) fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    matches!(parts.as_slice(), [y, m, d]
        if y.len() == 4 && y.starts_with('2') && y.bytes().all(|b| b.is_ascii_digit())
            && two_digits(m, 12) && *m != "00" && two_digits(d, 31) && *d != "00")
}

/// `YYYY-MM-DDTHH:MM`.
pub(super) fn is_date_time(text: &str) -> bool {
    matches!(text.split_once('T'), Some((date, time)) if is_date(date) && is_time(time))
}

pub(super) const ADJUSTMENT_PATTERN: &str = "^[-+][1-9]+[0-9]*%?$";
pub(super) const METRIC_PATTERN: &str = "^[a-zA-Z0-9_]+$";
pub(super) const TIME_PATTERN: &str = "^(2[0-3]|1[0-9]|0[0-9]):([0-5][0-9])$";
pub(super) const DATE_PATTERN: &str = "^(2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1]))?$";
pub(super) const DATE_TIME_PATTERN: &str =
    "^2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T(2[0-3]|1[0-9]|0[0-9]):([0-5][0-9])$";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_cloud_foundrys() {
        for good in ["+1", "-2", "+10%", "-50%", "+100"] {
            assert!(is_adjustment(good), "{good}");
        }
        for bad in ["5", "+0", "+05", "+a1", "+", "+1%%", "1%", "+-1"] {
            assert!(!is_adjustment(bad), "{bad}");
        }
        for good in ["00:00", "09:59", "23:59"] {
            assert!(is_time(good), "{good}");
        }
        for bad in ["24:00", "9:00", "12:60", "12-00", "12:0a"] {
            assert!(!is_time(bad), "{bad}");
        }
        for good in ["2099-01-31", "2000-12-01"] {
            assert!(is_date(good), "{good}");
        }
        for bad in ["1999-01-01", "2099-13-01", "2099-00-01", "2099-01-32", "2099-1-01", "2099/01/01"] {
            assert!(!is_date(bad), "{bad}");
        }
        assert!(is_date_time("2099-01-04T20:00"));
        assert!(!is_date_time("2099-01-04 20:00") && !is_date_time("2099-01-04T20:00:00"));
        assert!(is_metric_name("queue_length_2") && !is_metric_name("queue-length") && !is_metric_name(""));
    }

    #[test]
    fn integers_are_numbers_without_a_fraction() {
        let mut checker = Checker::default();
        assert_eq!(checker.integer(&serde_json::json!(3.0), "(root).x", None, None), Some(3));
        assert_eq!(checker.integer(&serde_json::json!(90.55), "(root).x", None, None), None);
        assert_eq!(checker.integer(&serde_json::json!("3"), "(root).x", None, None), None);
        let descriptions: Vec<&str> = checker.errors.iter().map(|e| e.description.as_str()).collect();
        assert_eq!(
            descriptions,
            ["Invalid type. Expected: integer, given: number", "Invalid type. Expected: integer, given: string"]
        );
    }
}
