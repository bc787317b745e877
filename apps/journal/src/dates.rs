//! Dates on the command line and in output. Stored times are UTC
//! microseconds; input and human output use the local time zone.

use std::str::FromStr;

use anyhow::Result;
use jiff::tz::TimeZone;
use jiff::{Timestamp, civil};

use crate::error::fail;

/// Now, in microseconds since the epoch.
pub fn now_micros() -> i64 {
    Timestamp::now().as_microsecond()
}

fn usage(s: &str) -> anyhow::Error {
    fail(
        crate::error::Code::Usage,
        format!(
            "`{}` is not a date: use YYYY-MM-DD, YYYY-MM-DD HH:MM, RFC 3339, today or yesterday",
            s.escape_debug()
        ),
    )
}

/// Parses a date from the command line. A bare date means its start, or
/// its end when `end_of_day` (so `--until 2024-03-05` includes that day).
///
/// # Errors
/// Exit 2 naming the text that is not a date.
pub fn parse(s: &str, end_of_day: bool) -> Result<i64> {
    let t = s.trim();
    let tz = TimeZone::system();
    let day = |d: civil::Date| -> Result<i64> {
        let dt = if end_of_day {
            d.at(23, 59, 59, 999_999_999)
        } else {
            d.at(0, 0, 0, 0)
        };
        Ok(dt
            .to_zoned(tz.clone())
            .map_err(|_| usage(s))?
            .timestamp()
            .as_microsecond())
    };
    let today = Timestamp::now().to_zoned(tz.clone()).date();
    match t.to_ascii_lowercase().as_str() {
        "today" => return day(today),
        "yesterday" => return day(today.yesterday().map_err(|_| usage(s))?),
        _ => {}
    }
    if let Ok(ts) = Timestamp::from_str(t) {
        return Ok(ts.as_microsecond());
    }
    if t.len() > 10
        && let Ok(dt) = civil::DateTime::from_str(t)
    {
        return Ok(dt
            .to_zoned(tz)
            .map_err(|_| usage(s))?
            .timestamp()
            .as_microsecond());
    }
    if let Ok(d) = civil::Date::from_str(t) {
        return day(d);
    }
    Err(usage(s))
}

/// A local date and time for people: `2024-03-05 10:00`.
pub fn human(us: i64) -> String {
    Timestamp::from_microsecond(us)
        .map(|t| {
            t.to_zoned(TimeZone::system())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| "?".into())
}

/// RFC 3339 in UTC with microseconds, for JSON.
pub fn rfc3339(us: i64) -> String {
    Timestamp::from_microsecond(us)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A local civil date and optional time (jrnl's `date` and `time` fields)
/// as microseconds.
///
/// # Errors
/// When the date or time do not parse.
pub fn from_local(date: &str, time: Option<&str>) -> Result<i64, String> {
    let d = civil::Date::from_str(date.trim())
        .map_err(|_| format!("bad date `{}`", date.escape_debug()))?;
    let t = match time.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => {
            civil::Time::from_str(t).map_err(|_| format!("bad time `{}`", t.escape_debug()))?
        }
        None => civil::Time::midnight(),
    };
    d.to_datetime(t)
        .to_zoned(TimeZone::system())
        .map(|z| z.timestamp().as_microsecond())
        .map_err(|_| "a time that does not exist in the local zone".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn until_a_day_includes_it() {
        let a = parse("2024-03-05", false).unwrap();
        let b = parse("2024-03-05", true).unwrap();
        assert!(b - a > 86_000_000_000);
        assert!(parse("2024-03-05 10:00", false).unwrap() > a);
        assert!(parse("2024-03-05T10:00:00Z", false).is_ok());
        assert!(parse("last tuesday", false).is_err());
        assert!(from_local("2024-03-05", Some("10:00")).is_ok());
        assert!(from_local("2024-13-05", None).is_err());
    }
}
