//! The secrets in a collector's `args` — passwords, tokens, credentials in URLs, sensitive
//! headers — are stored and used, never shown: an answer carries [`redact`]'s copy, where each
//! stands as [`REDACTED`]; a replacement may keep [`REDACTED`] where the stored secret should
//! stay ([`restore`]), so a document read, edited and sent back keeps its secrets.
//!
//! What is a secret, in one place: a field named like one of [`SECRET_KEYS`] at any depth; the
//! password of any `url`, and its query parameters named like a secret; the value of a header
//! whose name is sensitive ([`is_sensitive_header`]).

use serde_json::{Map, Value};

use crate::Invalid;

/// What a secret is shown as.
pub const REDACTED: &str = "********";

/// Fields that are secrets wherever they are.
pub const SECRET_KEYS: [&str; 5] = ["password", "token", "bearer_token", "api_key", "secret"];

/// Whether a header's value is a secret: credentials and cookies, and any header whose name
/// speaks of a token, a key, a secret or a password.
pub fn is_sensitive_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(name.as_str(), "authorization" | "proxy-authorization" | "cookie")
        || ["token", "key", "secret", "password", "auth"].iter().any(|word| name.contains(word))
}

fn is_secret_parameter(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["token", "key", "secret", "password", "auth", "signature"].iter().any(|word| name.contains(word))
}

/// `document` with every secret replaced by [`REDACTED`].
pub fn redact(document: &Value) -> Value {
    let mut copy = document.clone();
    walk(&mut copy, None, &mut |slot, _| {
        match slot {
            Slot::Whole(value) => *value = Value::String(REDACTED.to_string()),
            Slot::Url(url) => {
                if url.password().is_some() {
                    let _ = url.set_password(Some(REDACTED));
                }
                let pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if is_secret_parameter(&k) { REDACTED.to_string() } else { v.into_owned() };
                        (k.into_owned(), v)
                    })
                    .collect();
                if pairs.iter().any(|(k, _)| is_secret_parameter(k)) {
                    url.query_pairs_mut().clear().extend_pairs(pairs);
                }
            }
        }
        Ok(())
    })
    .unwrap_or(());
    copy
}

/// Every secret of `document`, as written: what a message about it must never contain
/// (an error from a source may quote what it was given).
pub fn values(document: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut copy = document.clone();
    let _ = walk(&mut copy, None, &mut |slot, _| {
        match slot {
            Slot::Whole(value) => found.extend(value.as_str().map(str::to_string)),
            Slot::Url(url) => {
                found.extend(url.password().map(str::to_string));
                found.extend(url.query_pairs().filter(|(k, _)| is_secret_parameter(k)).map(|(_, v)| v.into_owned()));
            }
        }
        Ok(())
    });
    found.retain(|secret| !secret.is_empty() && secret != REDACTED);
    found
}

/// `message` with every one of `secrets` in it replaced by [`REDACTED`]; secrets of fewer
/// than 4 characters are left (they would turn every message into asterisks, and hide
/// nothing).
pub fn scrub(message: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|secret| secret.chars().count() >= 4)
        .fold(message.to_string(), |text, secret| text.replace(secret.as_str(), REDACTED))
}

/// `new` with each [`REDACTED`] that stands where `old` has a secret replaced by it; a
/// [`REDACTED`] with no stored secret behind it is refused.
pub fn restore(new: &Value, old: &Value) -> Result<Value, Invalid> {
    let mut copy = new.clone();
    walk(&mut copy, Some(old), &mut |slot, old| match slot {
        Slot::Whole(value) => {
            if value.as_str() == Some(REDACTED) {
                match old.filter(|o| o.is_string()) {
                    Some(stored) => *value = stored.clone(),
                    None => return Err(()),
                }
            }
            Ok(())
        }
        Slot::Url(url) => {
            let stored = old.and_then(Value::as_str).and_then(|s| url::Url::parse(s).ok());
            if url.password() == Some(REDACTED) {
                let password = stored.as_ref().and_then(|s| s.password().map(str::to_string)).ok_or(())?;
                url.set_password(Some(&password)).map_err(|_| ())?;
            }
            let pairs: Vec<(String, String)> =
                url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            if pairs.iter().any(|(_, v)| v == REDACTED) {
                let mut restored = Vec::with_capacity(pairs.len());
                for (k, v) in pairs {
                    let v = if v == REDACTED {
                        let stored = stored.as_ref().ok_or(())?;
                        stored.query_pairs().find(|(sk, _)| *sk == k).map(|(_, sv)| sv.into_owned()).ok_or(())?
                    } else {
                        v
                    };
                    restored.push((k, v));
                }
                url.query_pairs_mut().clear().extend_pairs(restored);
            }
            Ok(())
        }
    })
    .map_err(|path| {
        Invalid::schema(format!("{path}: {REDACTED:?} stands for a stored secret, and there is none to keep here"))
    })?;
    Ok(copy)
}

enum Slot<'a> {
    /// A value that is a secret as a whole.
    Whole(&'a mut Value),
    /// A URL, whose password and some parameters are.
    Url(&'a mut url::Url),
}

type Visit<'f> = dyn FnMut(Slot<'_>, Option<&Value>) -> Result<(), ()> + 'f;

/// Calls `visit` on every secret of `value`, with what `old` holds at the same place; the
/// error is the path of the secret `visit` refused.
fn walk(value: &mut Value, old: Option<&Value>, visit: &mut Visit<'_>) -> Result<(), String> {
    walk_at(value, old, visit, "")
}

fn walk_at(value: &mut Value, old: Option<&Value>, visit: &mut Visit<'_>, path: &str) -> Result<(), String> {
    let Value::Object(map) = value else {
        if let Value::Array(items) = value {
            for (index, item) in items.iter_mut().enumerate() {
                let before = old.and_then(|o| o.get(index));
                walk_at(item, before, visit, &format!("{path}[{index}]"))?;
            }
        }
        return Ok(());
    };
    for (key, item) in map.iter_mut() {
        let here = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
        let before = old.and_then(|o| o.get(key));
        if SECRET_KEYS.contains(&key.as_str()) && item.is_string() {
            visit(Slot::Whole(item), before).map_err(|()| here.clone())?;
        } else if key == "url" {
            if let Some(mut url) = item.as_str().and_then(|s| url::Url::parse(s).ok()) {
                let as_written = url.clone();
                visit(Slot::Url(&mut url), before).map_err(|()| here.clone())?;
                // Written back only when changed: parsing normalizes (a trailing slash).
                if url != as_written {
                    *item = Value::String(url.to_string());
                }
            }
        } else if key == "headers" {
            if let Value::Object(headers) = item {
                headers_at(headers, before, visit, &here)?;
            }
        } else {
            walk_at(item, before, visit, &here)?;
        }
    }
    Ok(())
}

fn headers_at(
    headers: &mut Map<String, Value>,
    old: Option<&Value>,
    visit: &mut Visit<'_>,
    path: &str,
) -> Result<(), String> {
    for (name, value) in headers.iter_mut() {
        if is_sensitive_header(name) && value.is_string() {
            let before = old.and_then(|o| o.get(name));
            visit(Slot::Whole(value), before).map_err(|()| format!("{path}.{name}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stored() -> Value {
        json!({"name": "q", "type": "redis", "metric": "jobs", "args": {
            "url": "redis://worker:s3cret@cache:6379/0?api_key=k1&db=0",
            "list": "celery",
            "password": "p4ss",
            "headers": {"Authorization": "Bearer abc", "Accept": "application/json", "X-Api-Token": "t"}}})
    }

    #[test]
    fn no_secret_survives_redaction_and_everything_else_does() {
        let shown = redact(&stored());
        let text = shown.to_string();
        for secret in ["s3cret", "k1", "p4ss", "Bearer abc", "\"t\""] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(shown["args"]["url"], "redis://worker:********@cache:6379/0?api_key=********&db=0");
        assert_eq!(shown["args"]["headers"]["Accept"], "application/json");
        assert_eq!(shown["args"]["headers"]["Authorization"], REDACTED);
        assert_eq!(shown["args"]["list"], "celery");
        let plain = json!({"args": {"url": "http://app:8080"}});
        assert_eq!(redact(&plain), plain, "a URL without credentials is shown as it is");
    }

    #[test]
    fn a_redacted_document_sent_back_keeps_the_stored_secrets() {
        let mut edited = redact(&stored());
        edited["args"]["list"] = json!("high");
        let restored = restore(&edited, &stored()).unwrap();
        let mut expected = stored();
        expected["args"]["list"] = json!("high");
        assert_eq!(restored, expected);
        // A new secret replaces the old one.
        let mut changed = redact(&stored());
        changed["args"]["password"] = json!("n3w");
        assert_eq!(restore(&changed, &stored()).unwrap()["args"]["password"], "n3w");
    }

    #[test]
    fn the_secrets_of_a_document_are_found_and_scrubbed_from_messages() {
        let secrets = values(&stored());
        for secret in ["s3cret", "k1", "p4ss", "Bearer abc", "t"] {
            assert!(secrets.iter().any(|s| s == secret), "{secret} in {secrets:?}");
        }
        let message = "cannot connect to redis://worker:s3cret@cache:6379: wrong password p4ss";
        assert_eq!(
            scrub(message, &secrets),
            "cannot connect to redis://worker:********@cache:6379: wrong password ********"
        );
    }

    #[test]
    fn a_placeholder_with_nothing_stored_behind_it_is_refused() {
        let new = json!({"args": {"url": "redis://:********@cache:6379/0", "list": "q"}});
        let old = json!({"args": {"url": "redis://cache:6379/0", "list": "q"}});
        let err = restore(&new, &old).unwrap_err().to_string();
        assert!(err.starts_with("args.url: \"********\" stands for a stored secret"), "{err}");
        let err = restore(&json!({"args": {"password": REDACTED}}), &json!({})).unwrap_err().to_string();
        assert!(err.starts_with("args.password"), "{err}");
    }
}
