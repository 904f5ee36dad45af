//! The arguments of schedule policies: a one-shot `at` time or a `cron` expression.

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::Timestamp;

use crate::Invalid;

/// When a schedule policy fires.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Once, at this instant (UTC).
    At(Timestamp),
    /// At every minute the expression matches (UTC).
    Cron(String),
}

/// Parses an `at` value: ISO-8601 UTC with seconds, ending in `Z`
/// (`YYYY-MM-DDTHH:MM:SS[.ffffff]Z`). When `now` is given the instant must lie after it.
pub fn parse_at(text: &str, now: Option<Timestamp>) -> Result<Timestamp, Invalid> {
    let bad = || {
        Invalid::schema(format!(
            "Invalid \"{text}\" at entry: it must be an ISO-8601 UTC date-time with seconds ending in Z, like 2030-01-31T08:00:00Z"
        ))
    };
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() >= 20
        && bytes.len() <= 27
        && text.ends_with('Z')
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':'
        && [0..4, 5..7, 8..10, 11..13, 14..16, 17..19]
            .into_iter()
            .all(|range| bytes[range].iter().all(u8::is_ascii_digit))
        && match &bytes[19..bytes.len() - 1] {
            [] => true,
            [b'.', digits @ ..] => (1..=6).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit),
            _ => false,
        };
    if !shape_ok {
        return Err(bad());
    }
    let instant: Timestamp = text.parse().map_err(|_| bad())?;
    if let Some(now) = now
        && instant <= now
    {
        return Err(Invalid::schema(format!("Invalid \"{text}\" at entry: it must be in the future")));
    }
    Ok(instant)
}

/// Parses a standard 5-field cron expression (minute, hour, day of month, month, day of week).
pub fn parse_cron(text: &str) -> Result<Cron, Invalid> {
    let bad = |why: &str| Invalid::schema(format!("Invalid \"{text}\" cron entry: {why}"));
    let fields: Vec<&str> = text.split_whitespace().collect();
    if text.contains('@') {
        return Err(bad("@ keywords are not allowed; write the 5 fields"));
    }
    match fields.len() {
        5 => {}
        6 => return Err(bad("Seconds not allowed")),
        n => return Err(bad(&format!("expected 5 fields, found {n}"))),
    }
    if !fields
        .iter()
        .all(|field| field.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | ',' | '-' | '/' | '?' | '#')))
    {
        return Err(bad("unexpected character"));
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(text)
        .map_err(|err| bad(&err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn at_accepts_utc_with_seconds_in_the_future() {
        assert!(parse_at("2030-12-30T11:12:13Z", Some(now())).is_ok());
        assert!(parse_at("2030-12-30T11:12:13.123456Z", Some(now())).is_ok());
    }

    #[test]
    fn at_rejects_every_documented_bad_form() {
        for text in [
            "2030-12-30T11:12:13",
            "2030-12-30 11:12:13Z",
            "2030/12/30T11:12:13Z",
            "05-12-2030T11:12:13Z",
            "2030-12-30",
            "11:12:13",
            "",
            "  ",
            "* * * * *",
            "2030-13-30T11:12:13Z",
            "2030-12-33T11:12:13Z",
            "2030-12-30T27:12:13Z",
            "2030-12-30T11:70:13Z",
            "2030-12-30T11:12:80Z",
            "2030-12-05T03:12Z",
            "2020-12-30T11:12:13Z",
            "2030-12-30T11:12:13+01:00",
        ] {
            assert!(parse_at(text, Some(now())).is_err(), "should reject {text:?}");
        }
        assert!(parse_at("2020-12-30T11:12:13Z", None).is_ok(), "stored past times still parse");
    }

    #[test]
    fn cron_accepts_standard_five_field_expressions() {
        for text in [
            "* * * * *",
            "0-59 0-23 1-31 1-12 0-6",
            "00 9,16 * * *",
            "00 02-11 * * *",
            "00 09-18 * * 1-5",
            "*/5 * * * *",
        ] {
            assert!(parse_cron(text).is_ok(), "should accept {text:?}");
        }
    }

    #[test]
    fn cron_rejects_every_documented_bad_form() {
        for text in [
            "",
            " ",
            "*",
            "* * * *",
            "* * * * * * * *",
            "12345",
            "hello world",
            "- - - - -",
            "@yearly",
            "@daily",
            "@hourly",
            "@reboot",
            "@weekly",
            "@monthly",
            "60 * * * *",
            "* 24 * * *",
            "* * -32 * *",
            "* * * 13 *",
            "* * * * 6-0",
            "* * * * 2-",
            "$ * * * *",
        ] {
            assert!(parse_cron(text).is_err(), "should reject {text:?}");
        }
        assert!(parse_cron("0 * * * * *").unwrap_err().message.contains("Seconds not allowed"));
    }
}
