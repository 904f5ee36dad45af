//! Printing answers: the JSON as it came (`-o json`) or a table of chosen fields.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::Value;

use super::Output;

/// A field of a row, by JSON pointer, under a column header.
pub struct Column {
    pub header: &'static str,
    pub pointer: &'static str,
}

/// Shorthand for a [`Column`].
pub const fn col(header: &'static str, pointer: &'static str) -> Column {
    Column { header, pointer }
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) if number.is_f64() => format!("{:.2}", number.as_f64().unwrap_or_default()),
        Some(other) => other.to_string(),
    }
}

/// Prints `rows` as a table, or `whole` as JSON.
pub fn rows(output: Output, whole: &Value, rows: &[Value], columns: &[Column]) {
    match output {
        Output::Json => json(whole),
        Output::Table => {
            let mut table = Table::new();
            table.load_style(UTF8_FULL_CONDENSED);
            table.set_header(columns.iter().map(|c| c.header));
            for row in rows {
                table.add_row(columns.iter().map(|c| cell(row.pointer(c.pointer))));
            }
            println!("{table}");
        }
    }
}

/// Prints one object as a two-column table of fields, or `whole` as JSON.
pub fn record(output: Output, whole: &Value, object: &Value, columns: &[Column]) {
    match output {
        Output::Json => json(whole),
        Output::Table => {
            let mut table = Table::new();
            table.load_style(UTF8_FULL_CONDENSED);
            for c in columns {
                table.add_row(vec![c.header.to_string(), cell(object.pointer(c.pointer))]);
            }
            println!("{table}");
        }
    }
}

/// Prints a JSON value, pretty.
pub fn json(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()));
}

/// Prints a confirmation line (tables) or `{}`-style JSON.
pub fn done(output: Output, message: &str, whole: &Value) {
    match output {
        Output::Json if whole.is_null() => json(&Value::Object(Default::default())),
        Output::Json => json(whole),
        Output::Table => println!("{message}"),
    }
}
