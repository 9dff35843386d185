//! Date, date-time and duration formats of the API, as the original (Java) service reads and writes them.
//!
//! Output follows Java's `ISO_OFFSET_DATE_TIME` on a London-zoned value:
//! seconds always written, a fraction only when non-zero (trailing zeros
//! dropped), `Z` for a zero offset. Durations are ISO-8601 (`PT1H30M`, `PT0S`).

use chrono::{DateTime, FixedOffset, NaiveDateTime, Timelike};
use delius_db::time::from_london;

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

// Request input: lenient zoned date-times, ISO-8601 durations and
// ISO local dates. Kept apart from the output formats above.
pub use input::{InvalidInput, in_london, parse_duration, parse_local_date, parse_zoned_date_time};

mod input {
    use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
    use delius_db::time::from_london;

    /// A date, date-time or duration in a request that cannot be read.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    #[error("{0}")]
    pub struct InvalidInput(String);

    impl InvalidInput {
        fn new(what: &str, text: &str) -> Self {
            // Echo at most a short prefix of what the caller sent.
            let shown: String = text.chars().take(40).collect();
            InvalidInput(format!("{what}: '{shown}'"))
        }
    }

    /// Reads a date-time as the Resettlement Passport API accepts it: an ISO local
    /// date-time (`yyyy-MM-ddTHH:mm[:ss[.fraction]]`, case-insensitive), then an
    /// optional offset (`Z`, `+01`, `+0100`, `+01:00`, `+01:00:00`), then an
    /// optional `[Region/Id]`, which needs the offset before it and must name a
    /// known zone (`Europe/London`, `UTC`, `+01:00`...). Without an offset (and
    /// then without a region) the value is London time. The offset fixes the
    /// instant; the region is not otherwise consulted. The result is the same
    /// instant with its London offset, ready for [`delius_db::time::to_london`]
    /// or formatting.
    pub fn parse_zoned_date_time(text: &str) -> Result<DateTime<FixedOffset>, InvalidInput> {
        let invalid = || InvalidInput::new("Invalid date-time", text);
        let mut rest = text;
        let mut has_region = false;
        if let Some(without) = rest.strip_suffix(']') {
            let open = without.rfind('[').ok_or_else(invalid)?;
            if !is_known_zone(&without[open + 1..]) {
                return Err(invalid());
            }
            has_region = true;
            rest = &without[..open];
        }
        let (local, offset_text) = parse_local_date_time_prefix(rest).ok_or_else(invalid)?;
        match parse_offset(offset_text).ok_or_else(invalid)? {
            // A region alone leaves the offset to be resolved in that region,
            // which the API has never done: refused, as the original refuses it.
            None if has_region => Err(invalid()),
            None => Ok(from_london(local)),
            Some(offset) => {
                let instant = offset.from_local_datetime(&local).single().ok_or_else(invalid)?;
                Ok(in_london(&instant))
            }
        }
    }

    /// A zone id as Java's `ZoneId.of` knows it: a region of the tz database
    /// (case-sensitive), or a fixed offset, bare (`Z`, `+01:00`) or after
    /// `UTC`, `GMT` or `UT`.
    fn is_known_zone(zone: &str) -> bool {
        if zone.parse::<chrono_tz::Tz>().is_ok() {
            return true;
        }
        let offset = ["UTC", "GMT", "UT"].iter().find_map(|p| zone.strip_prefix(p)).unwrap_or(zone);
        !offset.is_empty() && parse_offset(offset).is_some_and(|o| o.is_some())
    }

    /// The same instant with the offset London has at that instant.
    pub fn in_london(instant: &DateTime<FixedOffset>) -> DateTime<FixedOffset> {
        let london = delius_db::time::to_london(instant);
        let seconds = (london - instant.naive_utc()).num_seconds();
        let offset = i32::try_from(seconds).ok().and_then(FixedOffset::east_opt).unwrap_or(*instant.offset());
        instant.with_timezone(&offset)
    }

    /// Splits `yyyy-MM-ddTHH:mm[:ss[.fraction]]` off the front of `text`.
    fn parse_local_date_time_prefix(text: &str) -> Option<(NaiveDateTime, &str)> {
        let b = text.as_bytes();
        let digits = |from: usize, n: usize| -> Option<u32> {
            let part = b.get(from..from + n)?;
            part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
        };
        let at = |i: usize, c: u8| b.get(i).is_some_and(|x| x.eq_ignore_ascii_case(&c));
        let year = digits(0, 4)?;
        if !(at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':')) {
            return None;
        }
        let (month, day, hour, minute) = (digits(5, 2)?, digits(8, 2)?, digits(11, 2)?, digits(14, 2)?);
        let mut i = 16;
        let (mut second, mut nanos) = (0, 0);
        if at(i, b':') {
            second = digits(i + 1, 2)?;
            i += 3;
            if at(i, b'.') {
                let count = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                if !(1..=9).contains(&count) {
                    return None;
                }
                nanos = digits(i + 1, count)? * 10u32.pow(9 - count as u32);
                i += 1 + count;
            }
        }
        let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
        let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
        // A leap second is not a valid ISO time.
        if second > 59 {
            return None;
        }
        Some((date.and_time(time), &text[i..]))
    }

    /// `None` inside `Some` means no offset at all.
    fn parse_offset(text: &str) -> Option<Option<FixedOffset>> {
        if text.is_empty() {
            return Some(None);
        }
        if text.eq_ignore_ascii_case("z") {
            return Some(FixedOffset::east_opt(0));
        }
        let sign = match text.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let body = &text[1..];
        let parts: Vec<&str> = if body.contains(':') {
            body.split(':').collect()
        } else if body.is_ascii() && body.len().is_multiple_of(2) {
            (0..body.len()).step_by(2).map(|i| &body[i..i + 2]).collect()
        } else {
            return None;
        };
        if parts.is_empty()
            || parts.len() > 3
            || parts.iter().any(|p| p.len() != 2 || !p.bytes().all(|c| c.is_ascii_digit()))
        {
            return None;
        }
        let number = |i: usize| parts.get(i).map_or(Some(0), |p| p.parse::<i32>().ok());
        let (hours, minutes, seconds) = (number(0)?, number(1)?, number(2)?);
        if hours > 18 || minutes > 59 || seconds > 59 {
            return None;
        }
        let total = hours * 3600 + minutes * 60 + seconds;
        if total > 18 * 3600 {
            return None;
        }
        Some(Some(FixedOffset::east_opt(sign * total)?))
    }

    /// Reads an ISO-8601 duration as Java's `Duration.parse` does:
    /// `[-+]P[nD][T[nH][nM][n[.fraction]S]]`, case-insensitive, each number
    /// optionally signed (`PT30M`, `PT1H30M`, `P1DT2H`, `PT-1M`, `-PT1M`, `PT0.5S`).
    pub fn parse_duration(text: &str) -> Result<chrono::Duration, InvalidInput> {
        let invalid = || InvalidInput::new("Invalid duration", text);
        let (negate, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let rest = rest.strip_prefix(['P', 'p']).ok_or_else(invalid)?;
        let (day_part, time_part) = match rest.find(['T', 't']) {
            Some(t) => (&rest[..t], Some(&rest[t + 1..])),
            None => (rest, None),
        };
        let mut total = chrono::Duration::zero();
        let mut any = false;
        let mut add = |amount: chrono::Duration| -> Result<(), InvalidInput> {
            total = total.checked_add(&amount).ok_or_else(invalid)?;
            any = true;
            Ok(())
        };
        if !day_part.is_empty() {
            let days = day_part.strip_suffix(['D', 'd']).ok_or_else(invalid)?;
            let days = signed_integer(days).ok_or_else(invalid)?;
            add(days.checked_mul(86_400).and_then(chrono::Duration::try_seconds).ok_or_else(invalid)?)?;
        }
        if let Some(mut time) = time_part {
            if time.is_empty() {
                return Err(invalid());
            }
            for (unit, seconds) in [(['H', 'h'], 3600i64), (['M', 'm'], 60)] {
                if let Some(end) = time.find(unit) {
                    let n = signed_integer(&time[..end]).ok_or_else(invalid)?;
                    add(n.checked_mul(seconds).and_then(chrono::Duration::try_seconds).ok_or_else(invalid)?)?;
                    time = &time[end + 1..];
                }
            }
            if !time.is_empty() {
                let number = time.strip_suffix(['S', 's']).ok_or_else(invalid)?;
                let (whole, fraction) = match number.find(['.', ',']) {
                    Some(dot) => (&number[..dot], Some(&number[dot + 1..])),
                    None => (number, None),
                };
                let secs = signed_integer(whole).ok_or_else(invalid)?;
                let mut nanos = 0i64;
                if let Some(f) = fraction {
                    if f.len() > 9 || !f.bytes().all(|c| c.is_ascii_digit()) {
                        return Err(invalid());
                    }
                    nanos = format!("{f:0<9}").parse::<i64>().map_err(|_| invalid())?;
                    if whole.starts_with('-') {
                        nanos = -nanos;
                    }
                }
                add(chrono::Duration::try_seconds(secs).ok_or_else(invalid)? + chrono::Duration::nanoseconds(nanos))?;
            }
        }
        if !any {
            return Err(invalid());
        }
        Ok(if negate { -total } else { total })
    }

    fn signed_integer(text: &str) -> Option<i64> {
        let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    }

    /// Reads an ISO local date, `yyyy-MM-dd`.
    pub fn parse_local_date(text: &str) -> Result<NaiveDate, InvalidInput> {
        let b = text.as_bytes();
        let shape_ok = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        shape_ok
            .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
            .flatten()
            .ok_or_else(|| InvalidInput::new("Invalid date", text))
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::datetime::{format_duration, format_offset};

        fn parsed(text: &str) -> String {
            format_offset(&parse_zoned_date_time(text).unwrap_or_else(|e| panic!("{text}: {e}")))
        }

        #[test]
        fn offsets_in_every_form_the_client_sends() {
            // The real client: hour-only offset with millis, its older colon-less form, and an OffsetDateTime.
            assert_eq!(parsed("2024-04-15T14:32:00.000+01"), "2024-04-15T14:32:00+01:00");
            assert_eq!(parsed("2024-04-15T14:32:00.000+0100"), "2024-04-15T14:32:00+01:00");
            assert_eq!(parsed("2024-06-04T09:16:04+01:00"), "2024-06-04T09:16:04+01:00");
            assert_eq!(parsed("2024-06-04T08:16:04Z"), "2024-06-04T09:16:04+01:00");
            assert_eq!(parsed("2024-06-04t08:16:04z"), "2024-06-04T09:16:04+01:00");
            assert_eq!(parsed("2024-06-04T10:16:04+02:00:00"), "2024-06-04T09:16:04+01:00");
            assert_eq!(parsed("2024-01-10T09:00-05:00"), "2024-01-10T14:00:00Z");
        }

        #[test]
        fn converted_to_london_across_the_clock_change() {
            assert_eq!(parsed("2024-01-15T14:32:00.000+01"), "2024-01-15T13:32:00Z");
            assert_eq!(parsed("2023-02-12T10:15:00.382936Z[Europe/London]"), "2023-02-12T10:15:00.382936Z");
            assert_eq!(parsed("2023-07-12T10:15:00.382936Z[Europe/London]"), "2023-07-12T11:15:00.382936+01:00");
            // The second 01:30 of the autumn overlap keeps its own instant.
            assert_eq!(parsed("2024-10-27T01:30:00Z"), "2024-10-27T01:30:00Z");
            assert_eq!(parsed("2024-10-27T00:30:00Z"), "2024-10-27T01:30:00+01:00");
        }

        #[test]
        fn no_offset_means_london_time() {
            assert_eq!(parsed("2024-04-15T14:32"), "2024-04-15T14:32:00+01:00");
            assert_eq!(parsed("2024-12-15T14:32:05"), "2024-12-15T14:32:05Z");
            // The spring gap moves forward, as Java's ZonedDateTime does.
            assert_eq!(parsed("2024-03-31T01:30"), "2024-03-31T02:30:00+01:00");
        }

        #[test]
        fn a_region_needs_an_offset_and_must_be_known() {
            assert_eq!(parsed("2024-12-15T14:32:05.5Z[UTC]"), "2024-12-15T14:32:05.5Z");
            assert_eq!(parsed("2024-06-15T14:32:05+02:00[Europe/Paris]"), "2024-06-15T13:32:05+01:00");
            assert_eq!(parsed("2024-06-15T14:32:05+01:00[+01:00]"), "2024-06-15T14:32:05+01:00");
            assert_eq!(parsed("2024-06-15T14:32:05Z[GMT]"), "2024-06-15T15:32:05+01:00");
            for text in [
                "2024-12-15T14:32:05.5[Europe/London]",
                "2024-12-15T14:32[UTC]",
                "2024-12-15T14:32:05Z[Mars/Olympus_Mons]",
                "2024-12-15T14:32:05Z[europe/london]",
                "2024-12-15T14:32:05Z[UTC+25:00]",
                "2024-12-15T14:32:05Z[\u{0}]",
            ] {
                assert!(parse_zoned_date_time(text).is_err(), "{text:?} should be refused");
            }
        }

        #[test]
        fn garbage_is_refused() {
            for text in [
                "",
                " ",
                "2024-04-15",
                "2024-04-15 14:32:00",
                "2024-04-15T14",
                "2024-04-15T14:3",
                "2024-04-15T25:00",
                "2024-02-30T10:00",
                "2024-04-15T14:32:60",
                "2024-04-15T14:32.000",
                "2024-04-15T14:32:00.",
                "2024-04-15T14:32:00.1234567890",
                "2024-04-15T14:32:00+1",
                "2024-04-15T14:32:00+010",
                "2024-04-15T14:32:00+19",
                "2024-04-15T14:32:00+01:60",
                "2024-04-15T14:32:00 +01:00",
                "2024-04-15T14:32:00+01:00[]",
                "2024-04-15T14:32:00+01:00Europe/London]",
                "2024-04-15T14:32:00+01:00[Europe/London",
                "yesterday",
                "2024-04-15T14:32:00+01:00x",
            ] {
                assert!(parse_zoned_date_time(text).is_err(), "{text:?} should be refused");
            }
        }

        #[test]
        fn durations_as_java_reads_them() {
            let d = |text: &str| parse_duration(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(d("PT30M"), chrono::Duration::minutes(30));
            assert_eq!(d("PT1H30M"), chrono::Duration::minutes(90));
            assert_eq!(d("pt1h"), chrono::Duration::hours(1));
            assert_eq!(d("P1DT2H"), chrono::Duration::hours(26));
            assert_eq!(d("P2D"), chrono::Duration::days(2));
            assert_eq!(d("PT0S"), chrono::Duration::zero());
            assert_eq!(d("PT1.5S"), chrono::Duration::milliseconds(1500));
            assert_eq!(d("PT-0.5S"), chrono::Duration::milliseconds(-500));
            assert_eq!(d("PT-1M"), chrono::Duration::minutes(-1));
            assert_eq!(d("-PT1M"), chrono::Duration::minutes(-1));
            assert_eq!(d("-PT-1M"), chrono::Duration::minutes(1));
            assert_eq!(d("+PT+90S"), chrono::Duration::seconds(90));
            assert_eq!(d("PT1H-30M"), chrono::Duration::minutes(30));
            for text in
                ["", "P", "PT", "30M", "PT30", "PTM", "PT30X", "P1H", "PT1.S2", "PT1.1234567890S", "PT30M1H", "P-D"]
            {
                assert!(parse_duration(text).is_err(), "{text:?} should be refused");
            }
            assert!(parse_duration("PT99999999999999999999H").is_err());
        }

        #[test]
        fn durations_round_trip_through_the_output_format() {
            for text in ["PT30M", "PT1H30M", "PT0S", "PT1H2M5S", "PT1.5S"] {
                assert_eq!(format_duration(parse_duration(text).unwrap()), text);
            }
        }

        #[test]
        fn local_dates_are_strict_iso() {
            assert_eq!(parse_local_date("2024-02-29").unwrap(), NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
            for text in [
                "",
                "2023-02-29",
                "2024-2-01",
                "2024-02-1",
                "20240201",
                "2024-02-01T00:00",
                "+2024-02-01",
                "abcd-ef-gh",
            ] {
                assert!(parse_local_date(text).is_err(), "{text:?} should be refused");
            }
        }
    }
}
