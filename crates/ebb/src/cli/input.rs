//! Reading request bodies from files: JSON or YAML, `-` for standard input.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use serde_json::Value;

/// Reads a JSON or YAML document from `path` (`-` is standard input).
pub fn read_document(path: &Path) -> anyhow::Result<Value> {
    let text = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("cannot read standard input")?;
        text
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
    };
    parse_document(&text).with_context(|| format!("{} is neither JSON nor YAML", path.display()))
}

fn parse_document(text: &str) -> anyhow::Result<Value> {
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(json_err) => serde_yaml_ng::from_str(text)
            .map_err(|yaml_err| anyhow::anyhow!("as JSON: {json_err}; as YAML: {yaml_err}")),
    }
}

/// Parses `key=value` metadata pairs.
pub fn metadata(pairs: &[String]) -> anyhow::Result<serde_json::Map<String, Value>> {
    pairs
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(key, value)| (key.to_string(), Value::String(value.to_string())))
                .ok_or_else(|| anyhow::anyhow!("metadata {pair:?} is not key=value"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_give_the_same_document() {
        let json = parse_document(r#"{"a": [1, "x"], "b": {"c": true}}"#).unwrap();
        let yaml = parse_document("a:\n  - 1\n  - x\nb:\n  c: true\n").unwrap();
        assert_eq!(json, yaml);
        assert!(parse_document("{ not: [valid").is_err());
    }

    #[test]
    fn metadata_pairs_need_an_equals_sign() {
        assert_eq!(metadata(&["a=b=c".into()]).unwrap()["a"], "b=c");
        assert!(metadata(&["ab".into()]).is_err());
    }
}
