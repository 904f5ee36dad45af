//! Request-rate traces: `timestamp,requests` per interval (as in `shared/traces/`), the
//! interval being the step between the first two rows. A gap longer than the interval is a
//! hole: the demand there is unknown, not zero.

use jiff::Timestamp;

use crate::scores::Step;

/// A parsed trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// When its first interval starts.
    pub start: Timestamp,
    /// Its interval, in seconds.
    pub interval: f64,
    /// Requests a second from each step on (seconds from `start`), holes as `None`.
    pub rate: Vec<Step>,
    /// Its end, in seconds from `start`.
    pub end: f64,
}

/// Why a trace could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct TraceError {
    /// The line (from 1).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl Trace {
    /// Parses a trace; a header line is allowed.
    pub fn parse(text: &str) -> Result<Trace, TraceError> {
        let mut rows: Vec<(Timestamp, f64, usize)> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = line.trim();
            if line.is_empty() || (index == 0 && line.starts_with("timestamp")) {
                continue;
            }
            let error = |message: String| TraceError { line: line_no, message };
            let (at, requests) =
                line.split_once(',').ok_or_else(|| error("expected `timestamp,requests`".to_string()))?;
            let at: Timestamp = at
                .trim()
                .parse()
                .map_err(|err| error(format!("{:?} is not an RFC 3339 timestamp: {err}", at.trim())))?;
            let requests: f64 = requests
                .trim()
                .parse()
                .ok()
                .filter(|r: &f64| r.is_finite() && *r >= 0.0)
                .ok_or_else(|| error(format!("{:?} is not a count of requests", requests.trim())))?;
            if rows.last().is_some_and(|(previous, _, _)| at <= *previous) {
                return Err(error("timestamps must increase".to_string()));
            }
            rows.push((at, requests, line_no));
        }
        if rows.len() < 2 {
            return Err(TraceError { line: text.lines().count(), message: "a trace needs two rows at least".into() });
        }
        let start = rows[0].0;
        let interval = rows[1].0.duration_since(start).as_secs_f64();
        let mut rate = Vec::with_capacity(rows.len());
        let mut expected = 0.0;
        for (at, requests, _) in &rows {
            let offset = at.duration_since(start).as_secs_f64();
            if offset > expected + interval / 2.0 {
                rate.push(Step::hole(expected));
            }
            rate.push(Step::new(offset, requests / interval));
            expected = offset + interval;
        }
        Ok(Trace { start, interval, rate, end: expected })
    }

    /// The trace with its request rate multiplied by `factor`.
    pub fn scaled(mut self, factor: f64) -> Trace {
        for step in &mut self.rate {
            step.value = step.value.map(|rate| rate * factor);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scores::value_at;

    #[test]
    fn rows_become_rates_and_gaps_become_holes() {
        let text = "timestamp,requests\n2026-01-01T00:00:00Z,60\n2026-01-01T00:01:00Z,120\n2026-01-01T00:05:00Z,30\n";
        let trace = Trace::parse(text).unwrap();
        assert_eq!((trace.interval, trace.end), (60.0, 360.0));
        assert_eq!(value_at(&trace.rate, 30.0), Some(1.0));
        assert_eq!(value_at(&trace.rate, 61.0), Some(2.0));
        assert_eq!(value_at(&trace.rate, 150.0), None, "the hole from 2 to 5 minutes");
        assert_eq!(value_at(&trace.rate, 300.0), Some(0.5));
    }

    #[test]
    fn bad_rows_say_where() {
        let bad = "2026-01-01T00:00:00Z,60\n2026-01-01T00:01:00Z,lots\n";
        assert_eq!(Trace::parse(bad).unwrap_err().line, 2);
        let backwards = "2026-01-01T00:01:00Z,1\n2026-01-01T00:00:00Z,1\n";
        assert!(Trace::parse(backwards).unwrap_err().message.contains("increase"));
        assert!(Trace::parse("2026-01-01T00:00:00Z,1\n").is_err());
    }

    #[test]
    fn the_shared_traces_parse() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/traces/");
        let Ok(nasa) = std::fs::read_to_string(format!("{dir}nasa_http_1995_per_minute.csv")) else {
            eprintln!("skipped: the shared traces are not beside the repository");
            return;
        };
        let trace = Trace::parse(&nasa).unwrap();
        assert_eq!(trace.rate.iter().filter(|s| s.value.is_none()).count(), 2, "NASA's two holes");
    }
}
