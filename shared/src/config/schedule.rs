//! The catalog sync schedule: an EventBridge `rate(…)` or `cron(…)` expression, checked for shape.
//!
//! Rules from the EventBridge user guide, "Using cron and rate expressions to schedule rules"
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html>):
//! `rate(value unit)` with a positive integer and unit `minute(s)`, `hour(s)` or `day(s)` (singular
//! exactly when the value is 1); `cron(minutes hours day-of-month month day-of-week year)` with six
//! fields, where one of day-of-month and day-of-week must be `?`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::ConfigError;

/// A validated EventBridge schedule expression, kept exactly as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Schedule {
    expression: String,
    interval: Option<Duration>,
}

impl Schedule {
    /// The expression as EventBridge takes it (`rate(1 day)`, `cron(0 3 * * ? *)`).
    pub fn as_str(&self) -> &str {
        &self.expression
    }

    /// The period of a `rate(…)` schedule (the local stack runs the sync on it); `None` for cron.
    pub fn interval(&self) -> Option<Duration> {
        self.interval
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression)
    }
}

impl FromStr for Schedule {
    type Err = ConfigError;

    /// Checks the expression; the error (for field `catalog.schedule`) says what was expected.
    fn from_str(expression: &str) -> Result<Self, ConfigError> {
        Schedule::check(expression)
            .map_err(|problem| ConfigError::invalid("catalog.schedule", problem))
    }
}

impl Schedule {
    /// The schedule, or what is wrong with the expression.
    pub(super) fn check(expression: &str) -> Result<Self, String> {
        let interval = if let Some(inner) = inside(expression, "rate(") {
            Some(rate(inner)?)
        } else if let Some(inner) = inside(expression, "cron(") {
            cron(inner)?;
            None
        } else {
            return Err(format!(
                "`{expression}` is not a schedule expression: expected `rate(value unit)` (e.g. `rate(1 day)`, `rate(6 hours)`) or `cron(minutes hours day-of-month month day-of-week year)` (e.g. `cron(0 3 * * ? *)`)"
            ));
        };
        Ok(Schedule { expression: expression.to_owned(), interval })
    }
}

/// The text between `prefix` and a final `)`.
fn inside<'a>(expression: &'a str, prefix: &str) -> Option<&'a str> {
    expression.strip_prefix(prefix)?.strip_suffix(')')
}

/// The period of `value unit`.
fn rate(inner: &str) -> Result<Duration, String> {
    let expected = "expected `rate(value unit)` with a positive whole value and unit minute(s), hour(s) or day(s), e.g. `rate(1 day)` or `rate(12 hours)`";
    let parts: Vec<&str> = inner.split(' ').collect();
    let [value, unit] = parts.as_slice() else {
        return Err(format!("`rate({inner})`: {expected}"));
    };
    let value: u64 = match value.parse() {
        Ok(n) if n > 0 && !value.starts_with('0') => n,
        _ => {
            return Err(format!(
                "`rate({inner})`: `{value}` is not a positive whole number; {expected}"
            ));
        }
    };
    let seconds = match *unit {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3_600,
        "day" | "days" => 86_400,
        _ => return Err(format!("`rate({inner})`: `{unit}` is not a unit; {expected}")),
    };
    let plural = unit.ends_with('s');
    if plural == (value == 1) {
        let hint = if value == 1 { "singular for 1" } else { "plural above 1" };
        return Err(format!(
            "`rate({inner})`: the unit must be {hint} (`rate(1 day)`, `rate(2 days)`)"
        ));
    }
    Ok(Duration::from_secs(value * seconds))
}

/// Field names and the characters each may hold (digits, month/day names, wildcards).
const CRON_FIELDS: [(&str, &str); 6] = [
    ("minutes", ",-*/"),
    ("hours", ",-*/"),
    ("day-of-month", ",-*?/LW"),
    ("month", ",-*/"),
    ("day-of-week", ",-*?L#"),
    ("year", ",-*/"),
];

/// Checks the six fields of a cron expression for shape.
fn cron(inner: &str) -> Result<(), String> {
    let fields: Vec<&str> = inner.split_whitespace().collect();
    if fields.len() != CRON_FIELDS.len() {
        return Err(format!(
            "`cron({inner})` has {} fields; expected six: minutes hours day-of-month month day-of-week year (e.g. `cron(0 3 * * ? *)`)",
            fields.len()
        ));
    }
    for (field, (name, wildcards)) in fields.iter().zip(CRON_FIELDS) {
        let names_allowed = name == "month" || name == "day-of-week";
        let bad = field.chars().find(|c| {
            !(c.is_ascii_digit()
                || wildcards.contains(*c)
                || (names_allowed && c.is_ascii_uppercase()))
        });
        if let Some(c) = bad {
            return Err(format!(
                "`cron({inner})`: the {name} field `{field}` cannot contain `{c}` (allowed: digits{} and `{wildcards}`)",
                if names_allowed { ", upper-case names" } else { "" }
            ));
        }
    }
    let (day_of_month, day_of_week) = (fields[2], fields[4]);
    if (day_of_month == "?") == (day_of_week == "?") {
        return Err(format!(
            "`cron({inner})`: exactly one of day-of-month (`{day_of_month}`) and day-of-week (`{day_of_week}`) must be `?`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(expression: &str) -> Schedule {
        Schedule::check(expression).unwrap_or_else(|e| panic!("{expression}: {e}"))
    }

    #[test]
    fn rate_expressions_from_the_eventbridge_guide() {
        for (expression, seconds) in [
            ("rate(1 day)", 86_400),
            ("rate(5 minutes)", 300),
            ("rate(1 minute)", 60),
            ("rate(1 hour)", 3_600),
            ("rate(12 hours)", 43_200),
            ("rate(7 days)", 604_800),
        ] {
            let schedule = parse(expression);
            assert_eq!(schedule.interval(), Some(Duration::from_secs(seconds)), "{expression}");
            assert_eq!(schedule.to_string(), expression);
        }
    }

    #[test]
    fn cron_expressions_from_the_eventbridge_guide() {
        for expression in [
            "cron(0 10 * * ? *)",
            "cron(15 12 * * ? *)",
            "cron(0 18 ? * MON-FRI *)",
            "cron(0 8 1 * ? *)",
            "cron(0/15 * * * ? *)",
            "cron(0/10 * ? * MON-FRI *)",
            "cron(0/5 8-17 ? * MON-FRI *)",
            "cron(0 9 ? * 2#1 *)",
            "cron(0 0 L * ? *)",
        ] {
            assert_eq!(parse(expression).interval(), None, "{expression}");
        }
    }

    #[test]
    fn malformed_schedules_say_what_is_wrong() {
        let cases = [
            ("every day", "is not a schedule expression: expected `rate(value unit)`"),
            ("rate(1 days)", "the unit must be singular for 1"),
            ("rate(2 day)", "the unit must be plural above 1"),
            ("rate(0 minutes)", "`0` is not a positive whole number"),
            ("rate(1 week)", "`week` is not a unit"),
            ("rate(1day)", "expected `rate(value unit)`"),
            ("cron(0 3 * * *)", "has 5 fields; expected six"),
            (
                "cron(0 3 * * * *)",
                "exactly one of day-of-month (`*`) and day-of-week (`*`) must be `?`",
            ),
            ("cron(0 3 ? * ? *)", "exactly one of day-of-month"),
            ("cron(0 3% * * ? *)", "the hours field `3%` cannot contain `%`"),
            ("at(2025-01-01T00:00:00)", "is not a schedule expression"),
        ];
        let err = "rate(1 days)".parse::<Schedule>().expect_err("singular");
        assert!(err.to_string().starts_with("catalog.schedule: `rate(1 days)`: "), "{err}");
        for (expression, problem) in cases {
            let err = Schedule::check(expression).expect_err(expression);
            assert!(err.contains(problem), "{expression}: {err}");
        }
    }
}
