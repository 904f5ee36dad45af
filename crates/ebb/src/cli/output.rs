//! Printing answers: the JSON as it came (`-o json`), one value of it (`--get POINTER`), or a
//! table of chosen fields.
//!
//! Tables are drawn with box characters only when both standard output and standard error are
//! terminals; otherwise (a pipe, a file, a script) they are plain columns. Control characters
//! in values are escaped, so a name cannot move the cursor or hide text.

use std::io::IsTerminal;

use comfy_table::{Table, presets};
use serde_json::Value;

use super::{Connection, Failure, Output};

/// A field of a row, by JSON pointer, under a column header.
pub struct Column {
    pub header: &'static str,
    pub pointer: &'static str,
}

/// Shorthand for a [`Column`].
pub const fn col(header: &'static str, pointer: &'static str) -> Column {
    Column { header, pointer }
}

/// A value as a table cell: strings as they are, with control characters escaped.
fn cell(value: Option<&Value>) -> String {
    let text = match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) if number.is_f64() => format!("{:.2}", number.as_f64().unwrap_or_default()),
        Some(other) => other.to_string(),
    };
    escape_controls(&text)
}

/// `text` with every control character written as an escape (`\n`, `\u{1b}`).
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// How to print what a command gets back.
pub struct Printer {
    /// Table or JSON.
    pub format: Output,
    /// Print only this JSON pointer of the answer.
    get: Option<String>,
    /// Box drawing allowed.
    fancy: bool,
}

impl Printer {
    /// The printer the connection flags ask for.
    pub fn new(connection: &Connection) -> Printer {
        Printer {
            format: connection.output,
            get: connection.get.clone(),
            fancy: std::io::stdout().is_terminal() && std::io::stderr().is_terminal(),
        }
    }

    fn table(&self) -> Table {
        let mut table = Table::new();
        table.load_style(if self.fancy { presets::UTF8_FULL_CONDENSED } else { presets::NOTHING });
        table
    }

    /// With `--get`, prints the value at its pointer and returns `true`.
    fn got(&self, whole: &Value) -> Result<bool, Failure> {
        let Some(pointer) = &self.get else { return Ok(false) };
        match whole.pointer(pointer) {
            Some(Value::String(text)) => println!("{text}"),
            Some(value) => println!("{value}"),
            None => {
                return Err(Failure::Usage(anyhow::anyhow!(
                    "nothing at {pointer} in the answer; see it whole with -o json"
                )));
            }
        }
        Ok(true)
    }

    /// Prints `rows` as a table, or `whole` as JSON.
    pub fn rows(&self, whole: &Value, rows: &[Value], columns: &[Column]) -> Result<(), Failure> {
        if self.got(whole)? {
            return Ok(());
        }
        match self.format {
            Output::Json => json(whole),
            Output::Table => {
                let mut table = self.table();
                table.set_header(columns.iter().map(|c| c.header));
                for row in rows {
                    table.add_row(columns.iter().map(|c| cell(row.pointer(c.pointer))));
                }
                println!("{table}");
            }
        }
        Ok(())
    }

    /// Prints one object as a two-column table of fields, or `whole` as JSON.
    pub fn record(&self, whole: &Value, object: &Value, columns: &[Column]) -> Result<(), Failure> {
        if self.got(whole)? {
            return Ok(());
        }
        match self.format {
            Output::Json => json(whole),
            Output::Table => {
                let mut table = self.table();
                for c in columns {
                    table.add_row(vec![c.header.to_string(), cell(object.pointer(c.pointer))]);
                }
                println!("{table}");
            }
        }
        Ok(())
    }

    /// Prints the whole answer as JSON (`-o json`) or the value `--get` asks for, and says so;
    /// `false` when the caller is to print its table.
    pub fn whole(&self, whole: &Value) -> Result<bool, Failure> {
        if self.got(whole)? {
            return Ok(true);
        }
        if self.format == Output::Json {
            json(whole);
            return Ok(true);
        }
        Ok(false)
    }

    /// Prints a JSON answer as it is.
    pub fn json(&self, whole: &Value) -> Result<(), Failure> {
        if !self.got(whole)? {
            json(whole);
        }
        Ok(())
    }

    /// Prints a confirmation line (tables) or `{}`-style JSON.
    pub fn done(&self, message: &str, whole: &Value) -> Result<(), Failure> {
        if self.got(whole)? {
            return Ok(());
        }
        match self.format {
            Output::Json if whole.is_null() => json(&Value::Object(Default::default())),
            Output::Json => json(whole),
            Output::Table => println!("{message}"),
        }
        Ok(())
    }
}

/// Prints a JSON value, pretty, on standard error (errors with `-o json`).
pub fn json_to_stderr(value: &Value) {
    eprintln!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()));
}

/// Prints a JSON value, pretty.
pub fn json(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_in_cells() {
        assert_eq!(cell(Some(&Value::String("web\u{1b}[2J\nx".into()))), "web\\u{1b}[2J\\nx");
        assert_eq!(cell(Some(&Value::String("plain".into()))), "plain");
    }
}
