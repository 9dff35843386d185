//! Date, date-time and duration formats of the API (spec §3.0).
//!
//! Output follows Java's `ISO_OFFSET_DATE_TIME` on a London-zoned value:
//! seconds always written, a fraction only when non-zero (trailing zeros
//! dropped), `Z` for a zero offset. Durations are ISO-8601 (`PT1H30M`, `PT0S`).

use chrono::{DateTime, FixedOffset, NaiveDateTime, Timelike};
use delius_shared::time::from_london;

/// A London wall-clock time (as Delius stores it) in the API's format.
pub fn format_london(local: NaiveDateTime) -> String {
    format_offset(&from_london(local))
}

/// An instant in `ISO_OFFSET_DATE_TIME` form, in its own offset.
pub fn format_offset(t: &DateTime<FixedOffset>) -> String {
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.nanosecond() % 1_000_000_000;
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    let offset = t.offset().local_minus_utc();
    if offset == 0 {
        out.push('Z');
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let abs = offset.abs();
        out.push_str(&format!("{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60));
        if abs % 60 != 0 {
            out.push_str(&format!(":{:02}", abs % 60));
        }
    }
    out
}

/// A duration in ISO-8601 form as Java's `Duration.toString()` writes it.
pub fn format_duration(d: chrono::Duration) -> String {
    let total_nanos = d.num_nanoseconds().unwrap_or(i64::MAX);
    if total_nanos == 0 {
        return "PT0S".to_string();
    }
    let negative = total_nanos < 0;
    let abs = total_nanos.unsigned_abs();
    let secs_total = abs / 1_000_000_000;
    let nanos = abs % 1_000_000_000;
    let hours = secs_total / 3600;
    let minutes = (secs_total % 3600) / 60;
    let secs = secs_total % 60;
    let sign = if negative { "-" } else { "" };
    let mut out = String::from("PT");
    if hours != 0 {
        out.push_str(&format!("{sign}{hours}H"));
    }
    if minutes != 0 {
        out.push_str(&format!("{sign}{minutes}M"));
    }
    if secs != 0 || nanos != 0 {
        out.push_str(&format!("{sign}{secs}"));
        if nanos != 0 {
            out.push('.');
            out.push_str(format!("{nanos:09}").trim_end_matches('0'));
        }
        out.push('S');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn london_times_in_winter_and_summer() {
        assert_eq!(format_london(at("2023-11-25 13:00:00")), "2023-11-25T13:00:00Z");
        assert_eq!(format_london(at("2023-09-07 16:35:00")), "2023-09-07T16:35:00+01:00");
        assert_eq!(format_london(at("2023-09-07 16:35:00.120")), "2023-09-07T16:35:00.12+01:00");
    }

    #[test]
    fn durations_as_java_writes_them() {
        assert_eq!(format_duration(chrono::Duration::minutes(30)), "PT30M");
        assert_eq!(format_duration(chrono::Duration::minutes(90)), "PT1H30M");
        assert_eq!(format_duration(chrono::Duration::hours(1)), "PT1H");
        assert_eq!(format_duration(chrono::Duration::zero()), "PT0S");
        assert_eq!(format_duration(chrono::Duration::seconds(3725)), "PT1H2M5S");
        assert_eq!(format_duration(chrono::Duration::milliseconds(1500)), "PT1.5S");
    }
}
