//! Time windows for capacity bounds: while a window is active it replaces the group's min
//! and max, and when it starts it can raise capacity to an initial minimum. The format and
//! rules are Cloud Foundry App Autoscaler's `schedules` (`cf-app-autoscaler.md` §1.4, §1.5,
//! §2.7): recurring windows on days of the week (1 = Monday) or of the month between a start
//! and an end time, with optional start and end dates; and specific date-time windows. All
//! in one IANA time zone.
//!
//! When windows overlap at run time (a recurring and a specific window may), the window that
//! started first wins, and a window whose start falls while another is active is skipped for
//! that occurrence.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde_json::Value;

use crate::Invalid;
use crate::capacity::Bounds;
use crate::json::{self, Obj};

/// Validated windows of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Windows {
    /// The IANA time zone every time is in.
    pub timezone: String,
    zone: TimeZone,
    /// Recurring windows, in order.
    pub recurring: Vec<Recurring>,
    /// Specific date-time windows, in order.
    pub specific: Vec<Specific>,
}

/// The days a recurring window applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Days {
    /// Days of the week, 1 = Monday ... 7 = Sunday.
    Week(Vec<i8>),
    /// Days of the month, 1 ... 31.
    Month(Vec<i8>),
}

/// The bounds a window imposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowBounds {
    /// The minimum while active.
    pub min: u32,
    /// The maximum while active.
    pub max: u32,
    /// Capacity is raised to at least this when the window starts.
    pub initial_min: Option<u32>,
}

/// A window on chosen days between two times of day.
#[derive(Debug, Clone, PartialEq)]
pub struct Recurring {
    start_time: Time,
    end_time: Time,
    days: Days,
    start_date: Option<Date>,
    end_date: Option<Date>,
    bounds: WindowBounds,
}

/// A window from one date-time to another.
#[derive(Debug, Clone, PartialEq)]
pub struct Specific {
    start: DateTime,
    end: DateTime,
    bounds: WindowBounds,
}

/// The window in force at some instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveWindow {
    /// `recurring_schedule[i]` or `specific_date[i]`.
    pub id: String,
    /// Its bounds.
    pub bounds: WindowBounds,
    /// When this occurrence started.
    pub started: Timestamp,
    /// When it ends.
    pub ends: Timestamp,
}

impl ActiveWindow {
    /// The bounds desired capacity is clamped to while the window is active.
    pub fn clamp_bounds(&self) -> Bounds {
        Bounds { min: self.bounds.min, max: self.bounds.max }
    }

    /// Desired capacity when the window starts: raised to the effective minimum (the larger
    /// of min and initial min), lowered to max, otherwise unchanged.
    pub fn starting_capacity(&self, current: u32) -> u32 {
        let floor = self.bounds.min.max(self.bounds.initial_min.unwrap_or(0));
        if current < floor {
            floor
        } else if current > self.bounds.max {
            self.bounds.max
        } else {
            current
        }
    }
}

fn invalid(context: &str, description: impl Into<String>) -> Invalid {
    Invalid::schema(format!("{context}: {}", description.into()))
}

fn parse_time(value: &Value, context: &str) -> Result<Time, Invalid> {
    let text = json::string(value, context, 5)?;
    let bytes = text.as_bytes();
    let valid =
        bytes.len() == 5 && bytes[2] == b':' && bytes.iter().enumerate().all(|(i, b)| i == 2 || b.is_ascii_digit());
    let parsed = valid.then(|| (text[..2].parse::<i8>().ok(), text[3..].parse::<i8>().ok()));
    match parsed {
        Some((Some(hour), Some(minute))) if hour < 24 && minute < 60 => Time::new(hour, minute, 0, 0)
            .map_err(|_| invalid(context, "Does not match pattern '^(2[0-3]|1[0-9]|0[0-9]):([0-5][0-9])$'")),
        _ => Err(invalid(context, "Does not match pattern '^(2[0-3]|1[0-9]|0[0-9]):([0-5][0-9])$'")),
    }
}

fn parse_date(value: &Value, context: &str) -> Result<Option<Date>, Invalid> {
    let text = json::string(value, context, 10)?;
    if text.is_empty() {
        return Ok(None);
    }
    let shape = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-' && text.starts_with('2');
    match (shape, text.parse::<Date>()) {
        (true, Ok(date)) => Ok(Some(date)),
        _ => Err(invalid(context, "Does not match pattern '^2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])$'")),
    }
}

fn parse_date_time(value: &Value, context: &str) -> Result<DateTime, Invalid> {
    let text = json::string(value, context, 16)?;
    let bytes = text.as_bytes();
    let shape = bytes.len() == 16 && bytes[10] == b'T' && bytes[13] == b':' && text.starts_with('2');
    match (shape, text.parse::<DateTime>()) {
        (true, Ok(at)) => Ok(at),
        _ => Err(invalid(
            context,
            "Does not match pattern '^2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T(2[0-3]|1[0-9]|0[0-9]):([0-5][0-9])$'",
        )),
    }
}

fn parse_days(value: &Value, context: &str, max: i64) -> Result<Vec<i8>, Invalid> {
    let items = json::array(value, context, 31)?;
    let mut days = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let day = json::integer(item, &format!("{context}.{index}"), 1, max)? as i8;
        if days.contains(&day) {
            return Err(invalid(context, "array items must be unique"));
        }
        days.push(day);
    }
    Ok(days)
}

fn parse_bounds(obj: &Obj<'_>, kind: &str, index: usize) -> Result<WindowBounds, Invalid> {
    let count = |key: &str| json::integer(obj.required(key)?, &obj.path_of(key), 0, crate::limits::MAX_ENTITIES);
    let min = count("instance_min_count")? as u32;
    let max = count("instance_max_count")? as u32;
    let initial = match obj.get("initial_min_instance_count") {
        None => None,
        Some(value) => {
            match json::integer(value, &obj.path_of("initial_min_instance_count"), 0, crate::limits::MAX_ENTITIES)? {
                0 => None,
                n => Some(n as u32),
            }
        }
    };
    let item = format!("{kind}[{index}]");
    if min > max {
        return Err(invalid(
            &obj.path_of("instance_min_count"),
            format!("{item}.instance_min_count {min} is higher than {item}.instance_max_count {max}"),
        ));
    }
    if let Some(initial) = initial {
        if initial < min {
            return Err(invalid(
                &obj.path_of("initial_min_instance_count"),
                format!("{item}.initial_min_instance_count {initial} is smaller than {item}.instance_min_count {min}"),
            ));
        }
        if initial > max {
            return Err(invalid(
                &obj.path_of("initial_min_instance_count"),
                format!("{item}.initial_min_instance_count {initial} is greater than {item}.instance_max_count {max}"),
            ));
        }
    }
    Ok(WindowBounds { min, max, initial_min: initial })
}

impl Windows {
    /// Validates a `schedules` document as Cloud Foundry does: the shape first, then the
    /// rules (times in order, dates not past, bounds, overlaps), with CF's messages.
    /// `now` decides what is past, in the document's time zone; `None` (a document read back
    /// from the store) skips those checks.
    pub fn parse(value: &Value, now: Option<Timestamp>) -> Result<Windows, Invalid> {
        let root = Obj::new(value, "(root).schedules")?;
        root.only(&["timezone", "recurring_schedule", "specific_date"])?;
        let timezone_value = root.required("timezone")?;
        let timezone = json::string(timezone_value, &root.path_of("timezone"), 64)?.to_string();
        let zone = match crate::schedule::parse_timezone(&timezone) {
            Ok(zone) => zone,
            Err(err) if TimeZone::get(&timezone).is_ok() => {
                // Known, but not spelled as IANA spells it: say how.
                return Err(invalid(&root.path_of("timezone"), err.message));
            }
            Err(_) => {
                return Err(invalid(
                    &root.path_of("timezone"),
                    format!("schedules.timezone must be an IANA time zone name, not {timezone:?}"),
                ));
            }
        };
        if !root.has("recurring_schedule") && !root.has("specific_date") {
            return Err(invalid("(root).schedules", "Must validate at least one schema (anyOf)"));
        }
        let today = now.map(|now| now.to_zoned(zone.clone()).date()).unwrap_or(Date::MIN);
        let local_now = now.map(|now| now.to_zoned(zone.clone()).datetime()).unwrap_or(DateTime::MIN);
        let mut recurring = Vec::new();
        if let Some(list) = root.get("recurring_schedule") {
            for (index, item) in json::array(list, &root.path_of("recurring_schedule"), 1000)?.iter().enumerate() {
                let context = format!("(root).schedules.recurring_schedule.{index}");
                let obj = Obj::new(item, &context)?;
                obj.only(&[
                    "start_time",
                    "end_time",
                    "days_of_week",
                    "days_of_month",
                    "start_date",
                    "end_date",
                    "instance_min_count",
                    "instance_max_count",
                    "initial_min_instance_count",
                ])?;
                let days = match (obj.get("days_of_week"), obj.get("days_of_month")) {
                    (Some(week), None) => Days::Week(parse_days(week, &obj.path_of("days_of_week"), 7)?),
                    (None, Some(month)) => Days::Month(parse_days(month, &obj.path_of("days_of_month"), 31)?),
                    _ => return Err(invalid(&context, "Must validate one and only one schema (oneOf)")),
                };
                let start_time = parse_time(obj.required("start_time")?, &obj.path_of("start_time"))?;
                let end_time = parse_time(obj.required("end_time")?, &obj.path_of("end_time"))?;
                let start_date =
                    obj.get("start_date").map(|v| parse_date(v, &obj.path_of("start_date"))).transpose()?.flatten();
                let end_date =
                    obj.get("end_date").map(|v| parse_date(v, &obj.path_of("end_date"))).transpose()?.flatten();
                let bounds = parse_bounds(&obj, "recurring_schedule", index)?;
                let item_name = format!("recurring_schedule[{index}]");
                if start_time >= end_time {
                    return Err(invalid(
                        &context,
                        format!("{item_name}.start_time is same or after {item_name}.end_time"),
                    ));
                }
                if start_date.is_some_and(|d| d < today) {
                    return Err(invalid(
                        &context,
                        format!("{item_name}.start_date is before {item_name}.current_date"),
                    ));
                }
                if end_date.is_some_and(|d| d < today) {
                    return Err(invalid(&context, format!("{item_name}.end_date is before {item_name}.current_date")));
                }
                if let (Some(start), Some(end)) = (start_date, end_date)
                    && start > end
                {
                    return Err(invalid(&context, format!("{item_name}.start_date is after {item_name}.end_date")));
                }
                recurring.push(Recurring { start_time, end_time, days, start_date, end_date, bounds });
            }
        }
        let mut specific = Vec::new();
        if let Some(list) = root.get("specific_date") {
            for (index, item) in json::array(list, &root.path_of("specific_date"), 1000)?.iter().enumerate() {
                let context = format!("(root).schedules.specific_date.{index}");
                let obj = Obj::new(item, &context)?;
                obj.only(&[
                    "start_date_time",
                    "end_date_time",
                    "instance_min_count",
                    "instance_max_count",
                    "initial_min_instance_count",
                ])?;
                let start = parse_date_time(obj.required("start_date_time")?, &obj.path_of("start_date_time"))?;
                let end = parse_date_time(obj.required("end_date_time")?, &obj.path_of("end_date_time"))?;
                let bounds = parse_bounds(&obj, "specific_date", index)?;
                let item_name = format!("specific_date[{index}]");
                if start <= local_now {
                    return Err(invalid(&context, format!("{item_name}.start_date_time is before current date time")));
                }
                if start >= end {
                    return Err(invalid(
                        &context,
                        format!("{item_name}.start_date_time is after {item_name}.end_date_time"),
                    ));
                }
                specific.push(Specific { start, end, bounds });
            }
        }
        crate::documents::conforms::<crate::documents::WindowsDocument>(value, "(root).schedules")?;
        let windows = Windows { timezone, zone, recurring, specific };
        windows.check_overlaps()?;
        Ok(windows)
    }

    fn check_overlaps(&self) -> Result<(), Invalid> {
        for (i, a) in self.recurring.iter().enumerate() {
            for (j, b) in self.recurring.iter().enumerate().skip(i + 1) {
                let days_meet = match (&a.days, &b.days) {
                    (Days::Week(x), Days::Week(y)) | (Days::Month(x), Days::Month(y)) => {
                        x.iter().any(|d| y.contains(d))
                    }
                    _ => false,
                };
                let times_meet = b.end_time >= a.start_time && a.end_time >= b.start_time;
                let (a_start, a_end) = (a.start_date.unwrap_or(Date::MIN), a.end_date.unwrap_or(Date::MAX));
                let (b_start, b_end) = (b.start_date.unwrap_or(Date::MIN), b.end_date.unwrap_or(Date::MAX));
                let dates_meet = b_end >= a_start && a_end >= b_start;
                if days_meet && times_meet && dates_meet {
                    return Err(invalid(
                        &format!("(root).schedules.recurring_schedule.{i}"),
                        format!("recurring_schedule[{i}] and recurring_schedule[{j}] are overlapping"),
                    ));
                }
            }
        }
        for (i, a) in self.specific.iter().enumerate() {
            for (j, b) in self.specific.iter().enumerate().skip(i + 1) {
                if b.end > a.start && a.end > b.start {
                    return Err(invalid(
                        &format!("(root).schedules.specific_date.{i}"),
                        format!(
                            "specific_date[{i}]:{{start_date_time: {}, end_date_time: {}}} and specific_date[{j}]:{{start_date_time: {}, end_date_time: {}}} are overlapping",
                            a.start.strftime("%Y-%m-%dT%H:%M"),
                            a.end.strftime("%Y-%m-%dT%H:%M"),
                            b.start.strftime("%Y-%m-%dT%H:%M"),
                            b.end.strftime("%Y-%m-%dT%H:%M")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn instant(&self, at: DateTime) -> Option<Timestamp> {
        at.to_zoned(self.zone.clone()).ok().map(|z| z.timestamp())
    }

    /// Every window occurrence covering `at`: (id, index for ordering, start, end, bounds).
    fn covering(&self, at: Timestamp) -> Vec<(String, usize, Timestamp, Timestamp, WindowBounds)> {
        let mut found = Vec::new();
        let local = at.to_zoned(self.zone.clone());
        let date = local.date();
        for (index, window) in self.recurring.iter().enumerate() {
            if let Some((start, end)) = self.occurrence(window, date)
                && start <= at
                && at < end
            {
                found.push((format!("recurring_schedule[{index}]"), index, start, end, window.bounds));
            }
        }
        for (index, window) in self.specific.iter().enumerate() {
            if let (Some(start), Some(end)) = (self.instant(window.start), self.instant(window.end))
                && start <= at
                && at < end
            {
                found.push((
                    format!("specific_date[{index}]"),
                    self.recurring.len() + index,
                    start,
                    end,
                    window.bounds,
                ));
            }
        }
        found
    }

    /// The occurrence of a recurring window on a local date, if it has one.
    fn occurrence(&self, window: &Recurring, date: Date) -> Option<(Timestamp, Timestamp)> {
        if window.start_date.is_some_and(|d| date < d) || window.end_date.is_some_and(|d| date > d) {
            return None;
        }
        let applies = match &window.days {
            Days::Week(days) => days.contains(&date.weekday().to_monday_one_offset()),
            Days::Month(days) => days.contains(&date.day()),
        };
        if !applies {
            return None;
        }
        Some((self.instant(date.to_datetime(window.start_time))?, self.instant(date.to_datetime(window.end_time))?))
    }

    /// The window in force at `at`: of the windows covering it, the one that started first,
    /// unless another was already active when it started (then it is skipped).
    pub fn active_at(&self, at: Timestamp) -> Option<ActiveWindow> {
        let mut candidates = self.covering(at);
        candidates.sort_by(|a, b| a.2.cmp(&b.2).then(a.1.cmp(&b.1)));
        candidates.into_iter().find_map(|(id, order, started, ends, bounds)| {
            let pre_empted = self
                .covering(started)
                .iter()
                .any(|other| other.1 != order && (other.2 < started || (other.2 == started && other.1 < order)));
            (!pre_empted).then_some(ActiveWindow { id, bounds, started, ends })
        })
    }

    /// The first instant after `after` at which a window starts or ends.
    pub fn next_change_after(&self, after: Timestamp) -> Option<Timestamp> {
        let mut best: Option<Timestamp> = None;
        let mut consider = |at: Timestamp| {
            if at > after && best.is_none_or(|b| at < b) {
                best = Some(at);
            }
        };
        let first = after.to_zoned(self.zone.clone()).date();
        for window in &self.recurring {
            let mut date = first;
            // Windows recur at least once a year (31 February never happens, but the 31st
            // recurs within two months), so a bit over a year ahead finds the next one.
            for _ in 0..400 {
                if let Some((start, end)) = self.occurrence(window, date) {
                    consider(start);
                    consider(end);
                    if start > after {
                        break;
                    }
                }
                match date.checked_add(1.day()) {
                    Ok(next) => date = next,
                    Err(_) => break,
                }
            }
        }
        for window in &self.specific {
            if let Some(start) = self.instant(window.start) {
                consider(start);
            }
            if let Some(end) = self.instant(window.end) {
                consider(end);
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        // A Monday: 2026-06-01 10:00 in Berlin (CEST, +02:00).
        "2026-06-01T08:00:00Z".parse().unwrap()
    }

    fn parse(value: Value) -> Result<Windows, Invalid> {
        Windows::parse(&value, Some(now()))
    }

    fn message(value: Value) -> String {
        parse(value).unwrap_err().message
    }

    fn recurring(items: Value) -> Value {
        json!({"timezone": "Europe/Berlin", "recurring_schedule": items})
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn the_cf_validation_cases() {
        assert!(message(json!({"timezone": "Europe/Berlin"})).ends_with("Must validate at least one schema (anyOf)"));
        assert!(message(json!({"recurring_schedule": []})).contains("'timezone' is a required property"));
        assert!(message(json!({"timezone": "Nowhere/Town", "specific_date": []})).contains("IANA"));
        assert!(message(json!({"timezone": "europe/berlin", "specific_date": []})).contains("case-sensitive"));
        let both = recurring(
            json!([{"start_time": "10:00", "end_time": "18:00", "days_of_week": [1, 2, 3], "days_of_month": [1, 2, 3], "instance_min_count": 1, "instance_max_count": 5}]),
        );
        assert_eq!(
            message(both),
            "(root).schedules.recurring_schedule.0: Must validate one and only one schema (oneOf)"
        );
        let overlapping = json!({"timezone": "Asia/Kolkata", "recurring_schedule": [
            {"start_time": "10:00", "end_time": "18:00", "days_of_week": [1, 2, 3], "instance_min_count": 1, "instance_max_count": 5},
            {"start_time": "08:00", "end_time": "20:00", "days_of_week": [2, 4, 6], "instance_min_count": 1, "instance_max_count": 5}]});
        assert_eq!(
            message(overlapping),
            "(root).schedules.recurring_schedule.0: recurring_schedule[0] and recurring_schedule[1] are overlapping"
        );
        let touching = recurring(json!([
            {"start_time": "10:00", "end_time": "12:00", "days_of_week": [1], "instance_min_count": 1, "instance_max_count": 5},
            {"start_time": "12:00", "end_time": "14:00", "days_of_week": [1], "instance_min_count": 1, "instance_max_count": 5}]));
        assert!(message(touching).ends_with("are overlapping"), "recurring overlap is inclusive");
        let week_and_month = recurring(json!([
            {"start_time": "10:00", "end_time": "12:00", "days_of_week": [1], "instance_min_count": 1, "instance_max_count": 5},
            {"start_time": "10:00", "end_time": "12:00", "days_of_month": [1], "instance_min_count": 1, "instance_max_count": 5}]));
        assert!(parse(week_and_month).is_ok(), "week and month windows are not compared");
        let disjoint_dates = recurring(json!([
            {"start_time": "10:00", "end_time": "12:00", "days_of_week": [1], "end_date": "2026-07-01", "instance_min_count": 1, "instance_max_count": 5},
            {"start_time": "10:00", "end_time": "12:00", "days_of_week": [1], "start_date": "2026-07-02", "instance_min_count": 1, "instance_max_count": 5}]));
        assert!(parse(disjoint_dates).is_ok());
        let past = json!({"timezone": "Europe/Berlin", "specific_date": [{"start_date_time": "2010-01-04T20:00", "end_date_time": "2010-01-05T20:00", "instance_min_count": 1, "instance_max_count": 2}]});
        assert_eq!(
            message(past),
            "(root).schedules.specific_date.0: specific_date[0].start_date_time is before current date time"
        );
        let cases = [
            (
                json!({"start_time": "18:00", "end_time": "10:00", "days_of_week": [1], "instance_min_count": 1, "instance_max_count": 5}),
                "recurring_schedule[0].start_time is same or after recurring_schedule[0].end_time",
            ),
            (
                json!({"start_time": "10:00", "end_time": "10:00", "days_of_week": [1], "instance_min_count": 1, "instance_max_count": 5}),
                "recurring_schedule[0].start_time is same or after recurring_schedule[0].end_time",
            ),
            (
                json!({"start_time": "10:00", "end_time": "11:00", "days_of_week": [1], "start_date": "2020-01-01", "instance_min_count": 1, "instance_max_count": 5}),
                "recurring_schedule[0].start_date is before recurring_schedule[0].current_date",
            ),
            (
                json!({"start_time": "10:00", "end_time": "11:00", "days_of_week": [1], "end_date": "2020-01-01", "instance_min_count": 1, "instance_max_count": 5}),
                "recurring_schedule[0].end_date is before recurring_schedule[0].current_date",
            ),
            (
                json!({"start_time": "10:00", "end_time": "11:00", "days_of_week": [1], "start_date": "2027-02-01", "end_date": "2027-01-01", "instance_min_count": 1, "instance_max_count": 5}),
                "recurring_schedule[0].start_date is after recurring_schedule[0].end_date",
            ),
            (
                json!({"start_time": "10:00", "end_time": "11:00", "days_of_week": [1], "instance_min_count": 6, "instance_max_count": 5}),
                "recurring_schedule[0].instance_min_count 6 is higher than recurring_schedule[0].instance_max_count 5",
            ),
            (
                json!({"start_time": "10:00", "end_time": "11:00", "days_of_week": [1], "instance_min_count": 2, "instance_max_count": 5, "initial_min_instance_count": 1}),
                "recurring_schedule[0].initial_min_instance_count 1 is smaller than recurring_schedule[0].instance_min_count 2",
            ),
            (
                json!({"start_time": "10:00", "end_time": "11:00", "days_of_week": [1], "instance_min_count": 2, "instance_max_count": 5, "initial_min_instance_count": 6}),
                "recurring_schedule[0].initial_min_instance_count 6 is greater than recurring_schedule[0].instance_max_count 5",
            ),
            (
                json!({"start_time": "24:00", "end_time": "11:00", "days_of_week": [1], "instance_min_count": 1, "instance_max_count": 5}),
                "Does not match pattern",
            ),
            (
                json!({"start_time": "9:00", "end_time": "11:00", "days_of_week": [1], "instance_min_count": 1, "instance_max_count": 5}),
                "Does not match pattern",
            ),
            (
                json!({"start_time": "09:00", "end_time": "11:00", "days_of_week": [8], "instance_min_count": 1, "instance_max_count": 5}),
                "out of range",
            ),
            (
                json!({"start_time": "09:00", "end_time": "11:00", "days_of_month": [32], "instance_min_count": 1, "instance_max_count": 5}),
                "out of range",
            ),
            (
                json!({"start_time": "09:00", "end_time": "11:00", "days_of_week": [1], "instance_max_count": 5}),
                "'instance_min_count' is a required property",
            ),
            (
                json!({"start_time": "09:00", "end_time": "11:00", "days_of_week": [1], "instance_min_count": 1, "instance_max_count": 5, "extra": 1}),
                "Additional properties",
            ),
        ];
        for (item, expected) in cases {
            let got = message(recurring(json!([item.clone()])));
            assert!(got.contains(expected), "{item}: {got}");
        }
        let specific = |start: &str, end: &str| json!({"start_date_time": start, "end_date_time": end, "instance_min_count": 1, "instance_max_count": 2});
        let reversed =
            json!({"timezone": "Europe/Berlin", "specific_date": [specific("2026-07-02T10:00", "2026-07-01T10:00")]});
        assert!(
            message(reversed).ends_with("specific_date[0].start_date_time is after specific_date[0].end_date_time")
        );
        let clash = json!({"timezone": "Europe/Berlin", "specific_date": [specific("2026-07-01T10:00", "2026-07-01T12:00"), specific("2026-07-01T11:00", "2026-07-01T13:00")]});
        assert!(message(clash).ends_with("specific_date[0]:{start_date_time: 2026-07-01T10:00, end_date_time: 2026-07-01T12:00} and specific_date[1]:{start_date_time: 2026-07-01T11:00, end_date_time: 2026-07-01T13:00} are overlapping"));
        let touching = json!({"timezone": "Europe/Berlin", "specific_date": [specific("2026-07-01T10:00", "2026-07-01T12:00"), specific("2026-07-01T12:00", "2026-07-01T13:00")]});
        assert!(parse(touching).is_ok(), "specific windows may touch");
        let bad_format =
            json!({"timezone": "Europe/Berlin", "specific_date": [specific("2026-07-01 10:00", "2026-07-01T12:00")]});
        assert!(message(bad_format).contains("Does not match pattern"));
        let stored =
            json!({"timezone": "Europe/Berlin", "specific_date": [specific("2010-01-04T20:00", "2010-01-05T20:00")]});
        assert!(Windows::parse(&stored, None).is_ok(), "documents read back are not checked against the clock");
    }

    #[test]
    fn a_recurring_window_is_active_on_its_days_between_its_times_in_its_time_zone() {
        let windows =
            parse(recurring(json!([{"start_time": "09:00", "end_time": "17:00", "days_of_week": [1, 2, 3, 4, 5],
            "instance_min_count": 3, "instance_max_count": 8, "initial_min_instance_count": 5}])))
            .unwrap();
        // Monday 2026-06-01, Berlin is UTC+2: 09:00 local is 07:00 UTC.
        assert_eq!(windows.active_at(at("2026-06-01T06:59:59Z")), None);
        let active = windows.active_at(at("2026-06-01T07:00:00Z")).unwrap();
        assert_eq!(active.id, "recurring_schedule[0]");
        assert_eq!((active.started, active.ends), (at("2026-06-01T07:00:00Z"), at("2026-06-01T15:00:00Z")));
        assert_eq!(windows.active_at(at("2026-06-01T15:00:00Z")), None, "the end is exclusive");
        assert_eq!(windows.active_at(at("2026-06-06T10:00:00Z")), None, "not on Saturday");
        assert_eq!(windows.next_change_after(at("2026-06-01T08:00:00Z")), Some(at("2026-06-01T15:00:00Z")));
        assert_eq!(
            windows.next_change_after(at("2026-06-05T16:00:00Z")),
            Some(at("2026-06-08T07:00:00Z")),
            "Friday evening to Monday"
        );
        assert_eq!(active.starting_capacity(2), 5);
        assert_eq!(active.starting_capacity(6), 6);
        assert_eq!(active.starting_capacity(9), 8);
    }

    #[test]
    fn days_of_the_month_and_date_ranges() {
        let windows = parse(recurring(json!([{"start_time": "00:00", "end_time": "23:59", "days_of_month": [15],
            "start_date": "2026-07-01", "end_date": "2026-08-31", "instance_min_count": 1, "instance_max_count": 2}])))
        .unwrap();
        assert!(windows.active_at(at("2026-06-15T10:00:00Z")).is_none(), "before the start date");
        assert!(windows.active_at(at("2026-07-15T10:00:00Z")).is_some());
        assert!(windows.active_at(at("2026-09-15T10:00:00Z")).is_none(), "after the end date");
        assert_eq!(windows.next_change_after(at("2026-06-01T00:00:00Z")), Some(at("2026-07-14T22:00:00Z")));
    }

    #[test]
    fn the_window_that_started_first_wins_and_a_pre_empted_one_is_skipped() {
        let windows = parse(json!({"timezone": "UTC",
            "recurring_schedule": [{"start_time": "10:00", "end_time": "12:00", "days_of_week": [3], "instance_min_count": 2, "instance_max_count": 4}],
            "specific_date": [{"start_date_time": "2026-06-03T11:00", "end_date_time": "2026-06-03T13:00", "instance_min_count": 6, "instance_max_count": 9}]})).unwrap();
        assert_eq!(windows.active_at(at("2026-06-03T11:30:00Z")).unwrap().id, "recurring_schedule[0]");
        assert_eq!(
            windows.active_at(at("2026-06-03T12:30:00Z")),
            None,
            "the specific window started while another was active: skipped"
        );
        let later = parse(json!({"timezone": "UTC",
            "recurring_schedule": [{"start_time": "10:00", "end_time": "12:00", "days_of_week": [3], "instance_min_count": 2, "instance_max_count": 4}],
            "specific_date": [{"start_date_time": "2026-06-03T09:00", "end_date_time": "2026-06-03T11:00", "instance_min_count": 6, "instance_max_count": 9}]})).unwrap();
        assert_eq!(later.active_at(at("2026-06-03T10:30:00Z")).unwrap().id, "specific_date[0]");
        assert_eq!(
            later.active_at(at("2026-06-03T11:30:00Z")),
            None,
            "the recurring window's start fell inside the specific one"
        );
    }
}
