//! Cloud Foundry's scaling rules (`cf-app-autoscaler.md` §2.4–2.6): when a rule is breached,
//! and the instance count it asks for.
//!
//! Evaluation differs from Cloud Foundry's in one way, on purpose: it is meant to run when a
//! sample arrives (or a breach window elapses), not on a 40–60 s loop, so a breach is acted on
//! as soon as the sample that completes it is aggregated.

use std::fmt;

use jiff::{SignedDuration, Timestamp};

use crate::Invalid;
use crate::capacity::Bounds;

/// How a rule compares an aggregated value with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `<`
    Below,
    /// `<=`
    AtMost,
    /// `>`
    Above,
    /// `>=`
    AtLeast,
}

impl Operator {
    /// The operator spelt `text` (`<`, `<=`, `>`, `>=`).
    pub fn parse(text: &str) -> Option<Operator> {
        match text {
            "<" => Some(Operator::Below),
            "<=" => Some(Operator::AtMost),
            ">" => Some(Operator::Above),
            ">=" => Some(Operator::AtLeast),
            _ => None,
        }
    }

    /// Whether `value` breaches `threshold`.
    pub fn holds(self, value: i64, threshold: i64) -> bool {
        match self {
            Operator::Below => value < threshold,
            Operator::AtMost => value <= threshold,
            Operator::Above => value > threshold,
            Operator::AtLeast => value >= threshold,
        }
    }

    /// Its spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Below => "<",
            Operator::AtMost => "<=",
            Operator::Above => ">",
            Operator::AtLeast => ">=",
        }
    }
}

/// What a breached rule changes the instance count by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjustment {
    /// By this many instances (`+1`, `-2`).
    Step(i64),
    /// By this percentage of the current count (`+10%`, `-50%`).
    Percent(i64),
}

impl Adjustment {
    /// Parses Cloud Foundry's adjustment, pattern `^[-+][1-9]+[0-9]*%?$`: `+1`, `-2`, `+10%`;
    /// `5`, `+0`, `+05` and `+a1` are rejected.
    pub fn parse(text: &str) -> Result<Adjustment, Invalid> {
        let invalid = || Invalid::schema(format!("adjustment {text:?} does not match pattern '^[-+][1-9]+[0-9]*%?$'"));
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'+') => (1, &text[1..]),
            Some(b'-') => (-1, &text[1..]),
            _ => return Err(invalid()),
        };
        let (digits, percent) = match rest.strip_suffix('%') {
            Some(digits) => (digits, true),
            None => (rest, false),
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.is_empty() || digits.starts_with('0') {
            return Err(invalid());
        }
        let amount: i64 = digits.parse().map_err(|_| invalid())?;
        Ok(if percent { Adjustment::Percent(sign * amount) } else { Adjustment::Step(sign * amount) })
    }

    /// The count this adjustment asks for from `current`, before clamping (§2.6): a step adds;
    /// a percentage rounds half up and, when that leaves the count as it was, moves it by one
    /// in the adjustment's direction. Never below 0.
    pub fn apply(self, current: u32) -> i64 {
        let current = i64::from(current);
        let target = match self {
            Adjustment::Step(n) => current.saturating_add(n),
            Adjustment::Percent(p) => {
                let scaled = (current as f64 * (1.0 + p as f64 / 100.0) + 0.5).floor() as i64;
                if scaled == current { current + p.signum() } else { scaled }
            }
        };
        target.max(0)
    }
}

impl serde::Serialize for Operator {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Operator {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Operator::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("unknown operator {text:?}")))
    }
}

impl serde::Serialize for Adjustment {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Adjustment {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Adjustment::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Adjustment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Adjustment::Step(n) => write!(f, "{n:+}"),
            Adjustment::Percent(p) => write!(f, "{p:+}%"),
        }
    }
}

/// A scaling rule, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The metric it reads.
    pub metric: String,
    /// Its unit, for messages.
    pub unit: String,
    /// How it compares.
    pub operator: Operator,
    /// What it compares with.
    pub threshold: i64,
    /// How long every aggregated value must breach.
    pub breach: SignedDuration,
    /// The group's cooldown after a scale this rule causes.
    pub cooldown: SignedDuration,
    /// What a breach changes.
    pub adjustment: Adjustment,
}

impl Rule {
    /// Cloud Foundry's reason for a scale by this rule (§2.6 step 1), e.g.
    /// `+1 instance(s) because memoryused >= 30MB for 60 seconds`.
    pub fn reason(&self) -> String {
        format!(
            "{} instance(s) because {} {} {}{} for {} seconds",
            self.adjustment,
            self.metric,
            self.operator.as_str(),
            self.threshold,
            self.unit,
            self.breach.as_secs()
        )
    }
}

/// What the aggregated points of a rule's metric say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    /// Every point in the breach window breaches.
    Breached,
    /// Some point in the window does not.
    NotBreached,
    /// The points do not cover the whole window yet.
    NotEnoughData,
}

/// Evaluates `rule` at `now` on its metric's aggregated points, oldest first (§2.4): the points
/// must reach back beyond `now − breach` (so the window is covered), and every point within
/// the window must breach. A window with no point in it is not enough data.
pub fn evaluate(rule: &Rule, points: &[(Timestamp, i64)], now: Timestamp) -> Breach {
    let start = now - rule.breach;
    let lookback = now - rule.breach - rule.breach;
    let relevant = &points[points.partition_point(|(at, _)| *at < lookback)..];
    let covered = relevant.first().is_some_and(|(at, _)| *at < start);
    let window = &relevant[relevant.partition_point(|(at, _)| *at < start)..];
    if !covered || window.is_empty() {
        Breach::NotEnoughData
    } else if window.iter().all(|(_, value)| rule.operator.holds(*value, rule.threshold)) {
        Breach::Breached
    } else {
        Breach::NotBreached
    }
}

/// The first instant after `now` at which `rule` would be breached by these points alone (a
/// breach window elapsing with no new sample): the evaluation changes only when a point
/// leaves the window, so each such instant is tried in order.
pub fn next_breach_at(rule: &Rule, points: &[(Timestamp, i64)], now: Timestamp) -> Option<Timestamp> {
    let tick = SignedDuration::from_millis(1);
    points
        .iter()
        .map(|(at, _)| *at + rule.breach + tick)
        .filter(|candidate| *candidate > now)
        .find(|candidate| evaluate(rule, points, *candidate) == Breach::Breached)
}

/// The first of `rules` (policy order) that is breached at `now`, given each metric's points.
pub fn first_breached<'a>(
    rules: &'a [Rule],
    points: impl Fn(&str) -> &'a [(Timestamp, i64)],
    now: Timestamp,
) -> Option<&'a Rule> {
    rules.iter().find(|rule| evaluate(rule, points(&rule.metric), now) == Breach::Breached)
}

/// The new count for a breach of `rule` at `current`, clamped to `bounds`, with the clamp's
/// message when it limited the count (§2.6 steps 6–8).
pub fn new_count(rule: &Rule, current: u32, bounds: Bounds) -> (u32, Option<String>) {
    let wanted = rule.adjustment.apply(current);
    let count = bounds.clamp(i128::from(wanted));
    let limited = if wanted < i64::from(bounds.min) {
        Some(format!("limited by min instances {}", bounds.min))
    } else if wanted > i64::from(bounds.max) {
        Some(format!("limited by max instances {}", bounds.max))
    } else {
        None
    };
    (count, limited)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn rule(operator: &str, threshold: i64, breach_secs: i64, adjustment: &str) -> Rule {
        Rule {
            metric: "memoryused".into(),
            unit: "MB".into(),
            operator: Operator::parse(operator).unwrap(),
            threshold,
            breach: SignedDuration::from_secs(breach_secs),
            cooldown: SignedDuration::from_secs(300),
            adjustment: Adjustment::parse(adjustment).unwrap(),
        }
    }

    #[test]
    fn adjustments_follow_cloud_foundrys_pattern() {
        let good = [("+1", Adjustment::Step(1)), ("-2", Adjustment::Step(-2)), ("+10%", Adjustment::Percent(10))];
        for (text, expected) in good {
            assert_eq!(Adjustment::parse(text).unwrap(), expected, "{text}");
            assert_eq!(expected.to_string(), text);
        }
        assert_eq!(Adjustment::parse("-50%").unwrap(), Adjustment::Percent(-50));
        assert_eq!(Adjustment::parse("+100").unwrap(), Adjustment::Step(100));
        for bad in ["5", "+0", "+05", "+a1", "", "+", "+%", "-0%", "+1%%", "++1"] {
            assert!(Adjustment::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percentages_round_half_up_and_always_move() {
        // The examples of §2.6, then the edges.
        let table = [(3, "-10%", 2), (5, "+10%", 6), (2, "+25%", 3), (4, "-100%", 0), (1, "+1%", 2), (0, "+50%", 1)];
        for (current, adjustment, expected) in table {
            assert_eq!(Adjustment::parse(adjustment).unwrap().apply(current), expected, "{current} {adjustment}");
        }
        assert_eq!(Adjustment::Step(-5).apply(2), 0, "never below 0");
    }

    #[test]
    fn a_rule_is_breached_only_when_every_point_of_a_covered_window_breaches() {
        let r = rule(">=", 30, 60, "+1");
        let now = at(100);
        let table: [(&[(i64, i64)], Breach); 6] = [
            (&[], Breach::NotEnoughData),
            (&[(50, 40), (70, 40), (90, 40)], Breach::NotEnoughData),
            (&[(39, 40), (70, 40), (90, 40)], Breach::Breached),
            (&[(39, 40), (70, 29), (90, 40)], Breach::NotBreached),
            (&[(39, 10), (70, 30), (100, 31)], Breach::Breached),
            (&[(10, 40), (39, 40)], Breach::NotEnoughData),
        ];
        for (points, expected) in table {
            let points: Vec<(Timestamp, i64)> = points.iter().map(|(s, v)| (at(*s), *v)).collect();
            assert_eq!(evaluate(&r, &points, now), expected, "{points:?}");
        }
    }

    #[test]
    fn points_older_than_twice_the_breach_do_not_cover_the_window() {
        let r = rule(">", 0, 60, "+1");
        let points = [(at(-30), 5), (at(70), 5)];
        assert_eq!(evaluate(&r, &points, at(100)), Breach::NotEnoughData, "only a point inside [now-2b, now-b) covers");
    }

    #[test]
    fn the_first_breached_rule_in_policy_order_wins() {
        let rules = [rule(">", 100, 60, "+1"), rule(">", 10, 60, "+2"), rule(">", 5, 60, "+3")];
        let points = [(at(30), 50), (at(90), 50)];
        let chosen = first_breached(&rules, |_| &points[..], at(100)).unwrap();
        assert_eq!(chosen.adjustment, Adjustment::Step(2));
    }

    #[test]
    fn the_new_count_is_clamped_to_the_bounds_in_force_with_the_reason() {
        let bounds = Bounds { min: 1, max: 5 };
        assert_eq!(new_count(&rule(">", 0, 60, "+2"), 2, bounds), (4, None));
        assert_eq!(new_count(&rule(">", 0, 60, "+10"), 2, bounds), (5, Some("limited by max instances 5".into())));
        assert_eq!(new_count(&rule("<", 0, 60, "-100%"), 3, bounds), (1, Some("limited by min instances 1".into())));
    }

    #[test]
    fn reasons_read_as_cloud_foundrys() {
        assert_eq!(rule(">=", 30, 60, "+1").reason(), "+1 instance(s) because memoryused >= 30MB for 60 seconds");
    }
}
