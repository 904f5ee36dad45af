//! The arguments of schedule policies, a one-shot `at` time or a `cron` expression with an
//! optional IANA time zone, and when they fire.
//!
//! Daylight-saving rules for cron schedules in a time zone:
//! - a local time that does not exist (the clock jumps over it) fires once, at the first
//!   instant after the gap (02:30 on the spring-forward night in Berlin fires at 03:00 CEST);
//! - a local time that occurs twice (the clock falls back over it) fires once, at its first
//!   occurrence: the repeated hour is skipped.

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::Timestamp;

use crate::Invalid;

/// When a schedule policy fires.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Once, at this instant (UTC).
    At(Timestamp),
    /// At every minute the expression matches, in a time zone (UTC when `None`).
    Cron {
        /// The 5-field expression.
        expression: String,
        /// The IANA time zone name.
        timezone: Option<String>,
    },
}

impl Schedule {
    /// The first instant strictly after `after` at which the schedule fires; `None` when it
    /// never fires again.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        match self {
            Schedule::At(at) => (*at > after).then_some(*at),
            Schedule::Cron { expression, timezone } => {
                let cron = parse_cron(expression).ok()?;
                let zone = match timezone {
                    Some(name) => jiff::tz::TimeZone::get(name).ok()?,
                    None => jiff::tz::TimeZone::UTC,
                };
                let start = after.to_zoned(zone.clone());
                let mut next = cron.find_next_occurrence(&start, false).ok()?;
                // Local times repeated after the clock fell back fired at their first occurrence:
                // skip candidates that are not later, in local time, than `after`.
                while next.datetime() <= start.datetime() {
                    next = cron.find_next_occurrence(&next, false).ok()?;
                }
                Some(next.timestamp())
            }
        }
    }

    /// The time zone the schedule is written in.
    pub fn timezone(&self) -> &str {
        match self {
            Schedule::Cron { timezone: Some(name), .. } => name,
            _ => "UTC",
        }
    }
}

/// Checks an IANA time zone name, spelled exactly as the IANA database spells it: names are
/// case-sensitive, so that what is stored and shown is the name the user wrote. A name that
/// differs only in case is refused with the right spelling.
pub fn parse_timezone(name: &str) -> Result<jiff::tz::TimeZone, Invalid> {
    let zone = jiff::tz::TimeZone::get(name).map_err(|_| {
        Invalid::schema(format!("Invalid \"{name}\" timezone: not an IANA time zone name such as Europe/Berlin"))
    })?;
    match zone.iana_name() {
        Some(canonical) if canonical != name => Err(Invalid::schema(format!(
            "Invalid \"{name}\" timezone: time zone names are case-sensitive; did you mean \"{canonical}\"?"
        ))),
        _ => Ok(zone),
    }
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
    if &bytes[17..19] == b"60" {
        // jiff reads a leap second as :59; refusing it keeps every stored time one the user wrote.
        return Err(Invalid::schema(format!("Invalid \"{text}\" at entry: leap seconds (:60) are not supported")));
    }
    let instant: Timestamp = text.parse().map_err(|_| {
        if text[..text.len() - 1].parse::<jiff::civil::DateTime>().is_ok() {
            Invalid::schema(format!(
                "Invalid \"{text}\" at entry: it is beyond the latest supported time, {}",
                Timestamp::MAX.round(jiff::Unit::Second).unwrap_or(Timestamp::MAX)
            ))
        } else {
            bad()
        }
    })?;
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
    let cron = CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(text)
        .map_err(|err| bad(&err.to_string()))?;
    // Every expression that can match does so within a few years of any date (29 February
    // recurs at least every eight); one that finds nothing can never fire, such as `0 0 31 2 *`.
    let reference =
        jiff::civil::date(2000, 1, 1).to_zoned(jiff::tz::TimeZone::UTC).map_err(|err| bad(&err.to_string()))?;
    if cron.find_next_occurrence(&reference, false).is_err() {
        return Err(bad("it never fires: no date matches its day-of-month and month fields together"));
    }
    Ok(cron)
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

    fn cron(expression: &str, timezone: Option<&str>) -> Schedule {
        Schedule::Cron { expression: expression.into(), timezone: timezone.map(str::to_string) }
    }

    fn fires(schedule: &Schedule, from: &str, count: usize) -> Vec<String> {
        let mut at: Timestamp = from.parse().unwrap();
        let mut out = Vec::new();
        for _ in 0..count {
            at = schedule.next_after(at).unwrap();
            out.push(at.to_string());
        }
        out
    }

    #[test]
    fn cron_in_utc_fires_every_matching_minute() {
        assert_eq!(
            fires(&cron("* * * * *", None), "2026-01-01T00:00:30Z", 3),
            ["2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z", "2026-01-01T00:03:00Z"]
        );
        assert_eq!(
            fires(&cron("0 8 * * 1-5", None), "2026-01-02T09:00:00Z", 1),
            ["2026-01-05T08:00:00Z"],
            "Friday to Monday"
        );
    }

    #[test]
    fn cron_in_berlin_follows_local_time_across_daylight_saving() {
        let berlin = cron("0 8 * * *", Some("Europe/Berlin"));
        // 08:00 CET is 07:00 UTC; after the spring change, 08:00 CEST is 06:00 UTC.
        assert_eq!(fires(&berlin, "2026-03-28T00:00:00Z", 2), ["2026-03-28T07:00:00Z", "2026-03-29T06:00:00Z"]);
        // 02:30 does not exist on 2026-03-29: it fires once, at 03:00 CEST (01:00 UTC).
        let gap = cron("30 2 * * *", Some("Europe/Berlin"));
        assert_eq!(fires(&gap, "2026-03-28T12:00:00Z", 2), ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]);
        // 02:30 occurs twice on 2026-10-25: it fires once, at the first (00:30 UTC).
        assert_eq!(fires(&gap, "2026-10-24T12:00:00Z", 2), ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]);
        // Every minute through the repeated hour fires each local minute once.
        let minutes = fires(&cron("* 2 * * *", Some("Europe/Berlin")), "2026-10-25T00:58:00Z", 3);
        assert_eq!(minutes, ["2026-10-25T00:59:00Z", "2026-10-26T01:00:00Z", "2026-10-26T01:01:00Z"]);
    }

    #[test]
    fn cron_in_new_york_and_lord_howe() {
        let new_york = cron("0 9 * * *", Some("America/New_York"));
        // EST (UTC-5) until 2026-03-08, then EDT (UTC-4).
        assert_eq!(fires(&new_york, "2026-03-07T00:00:00Z", 2), ["2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z"]);
        // Lord Howe moves by 30 minutes: UTC+11 in summer, UTC+10:30 from 2026-04-05 02:00.
        let lord_howe = cron("0 12 * * *", Some("Australia/Lord_Howe"));
        assert_eq!(fires(&lord_howe, "2026-04-04T00:00:00Z", 2), ["2026-04-04T01:00:00Z", "2026-04-05T01:30:00Z"]);
        // 02:15 falls in Lord Howe's 30-minute spring gap (2026-10-04, 02:00 jumps to 02:30):
        // it fires at 02:30 (+11:00), then at 02:15 the next night.
        let gap = cron("15 2 * * *", Some("Australia/Lord_Howe"));
        assert_eq!(fires(&gap, "2026-10-03T00:00:00Z", 2), ["2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"]);
    }

    #[test]
    fn at_fires_once() {
        let at = Schedule::At("2026-05-01T10:00:00Z".parse().unwrap());
        assert_eq!(at.next_after("2026-05-01T09:59:59Z".parse().unwrap()).unwrap().to_string(), "2026-05-01T10:00:00Z");
        assert_eq!(at.next_after("2026-05-01T10:00:00Z".parse().unwrap()), None);
    }

    #[test]
    fn time_zones_are_iana_names_spelled_exactly() {
        assert!(parse_timezone("Europe/Berlin").is_ok());
        assert!(parse_timezone("UTC").is_ok());
        assert!(parse_timezone("Mars/Olympus").is_err());
        let err = parse_timezone("europe/berlin").unwrap_err();
        assert!(err.message.contains("did you mean \"Europe/Berlin\""), "{}", err.message);
    }

    #[test]
    fn a_cron_that_can_never_fire_is_refused() {
        let err = parse_cron("0 0 31 2 *").unwrap_err();
        assert!(err.message.contains("never fires"), "{}", err.message);
        assert!(parse_cron("0 0 30 2 *").is_err());
        assert!(parse_cron("0 0 29 2 *").is_ok(), "leap days come round");
        assert!(parse_cron("0 0 31 2 1").is_ok(), "day of month or day of week: every Monday");
    }

    #[test]
    fn at_refuses_leap_seconds_and_times_beyond_the_supported_range() {
        let leap = parse_at("2030-06-30T23:59:60Z", Some(now())).unwrap_err();
        assert!(leap.message.contains("leap seconds"), "{}", leap.message);
        let far = parse_at("9999-12-31T23:59:59Z", Some(now())).unwrap_err();
        assert!(far.message.contains("beyond the latest supported time"), "{}", far.message);
        assert!(parse_at("9999-12-30T00:00:00Z", Some(now())).is_ok());
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
