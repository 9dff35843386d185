//! Delius stores date-times as Europe/London wall-clock time without a zone.
//! These helpers convert at the edges.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, SubsecRound, TimeZone, Utc};
use chrono_tz::Europe::London;

/// The current London wall-clock time, as Delius stores it (to the
/// microsecond, the precision of a PostgreSQL timestamp).
pub fn london_now() -> NaiveDateTime {
    Utc::now().with_timezone(&London).naive_local().trunc_subsecs(6)
}

/// Today's date in London.
pub fn london_today() -> NaiveDate {
    london_now().date()
}

/// An instant as London wall-clock time.
pub fn to_london<Tz: TimeZone>(instant: &DateTime<Tz>) -> NaiveDateTime {
    instant.with_timezone(&London).naive_local()
}

/// A London wall-clock time as an instant with its London offset. In the
/// autumn hour that happens twice the earlier instant is taken; in the spring
/// gap the time is read as if the clocks had not changed yet.
pub fn from_london(local: NaiveDateTime) -> DateTime<FixedOffset> {
    match London.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.fixed_offset(),
        LocalResult::None => {
            let before = London.from_local_datetime(&(local - chrono::Duration::hours(1))).earliest();
            match before {
                Some(t) => (t + chrono::Duration::hours(1)).fixed_offset(),
                None => Utc.from_utc_datetime(&local).fixed_offset(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn summer_and_winter_offsets() {
        assert_eq!(from_london(at("2023-09-07 16:35:00")).to_rfc3339(), "2023-09-07T16:35:00+01:00");
        assert_eq!(from_london(at("2023-11-25 13:00:00")).to_rfc3339(), "2023-11-25T13:00:00+00:00");
        let utc = DateTime::parse_from_rfc3339("2022-07-28T09:30:54Z").unwrap();
        assert_eq!(to_london(&utc), at("2022-07-28 10:30:54"));
    }

    #[test]
    fn gap_and_overlap_resolve() {
        // 2024-03-31 01:30 does not exist in London; 2024-10-27 01:30 happens twice.
        assert_eq!(from_london(at("2024-03-31 01:30:00")).to_rfc3339(), "2024-03-31T02:30:00+01:00");
        assert_eq!(from_london(at("2024-10-27 01:30:00")).to_rfc3339(), "2024-10-27T01:30:00+01:00");
    }
}
