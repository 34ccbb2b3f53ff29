//! UTC timestamps as RFC 3339 text for any date, never a panic: humantime
//! formats only 1970 to 9999 (past 9999 its `Display` fails, which
//! `to_string()` turns into a panic), while git accepts commit dates far
//! outside that (`GIT_AUTHOR_DATE="@300000000000 +0000"`).

use std::time::{SystemTime, UNIX_EPOCH};

/// `secs` since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`; a year outside
/// 0000..=9999 in ISO 8601's expanded form, sign and at least six digits
/// (`+011476-…`, `-000001-…`), which JS `Date` also reads.
pub fn rfc3339(secs: i64) -> String {
    let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        format!("{year:+07}")
    };
    format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// `time` as [`rfc3339`] (whole seconds, rounded down).
pub fn rfc3339_of(time: SystemTime) -> String {
    let secs = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let d = before.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            // rounded down: 0.5 s before the epoch is 1969-12-31T23:59:59Z
            -whole - i64::from(d.subsec_nanos() > 0)
        }
    };
    rfc3339(secs)
}

/// Year, month (1-12) and day (1-31) of day `days` since 1970-01-01 in
/// the proleptic Gregorian calendar (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March first
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn agrees_with_humantime_where_it_formats() {
        for secs in [
            0_i64,
            59,
            86_399,
            951_782_400,   // 2000-02-29
            1_700_000_000, // 2023-11-14
            4_102_444_800, // 2100-01-01
            253_402_300_799,
        ] {
            let time = UNIX_EPOCH + Duration::from_secs(secs as u64);
            let expected = humantime::format_rfc3339_seconds(time).to_string();
            assert_eq!(rfc3339(secs), expected);
            assert_eq!(rfc3339_of(time), expected);
        }
    }

    #[test]
    fn formats_every_date_outside_humantimes_range() {
        assert_eq!(rfc3339(253_402_300_800), "+010000-01-01T00:00:00Z");
        assert_eq!(rfc3339(300_000_000_000), "+011476-08-15T05:20:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(-62_167_219_200), "0000-01-01T00:00:00Z");
        assert_eq!(rfc3339(-62_167_219_201), "-000001-12-31T23:59:59Z");
        assert!(rfc3339(i64::MAX).starts_with("+292277026596-"));
        assert!(rfc3339(i64::MIN).starts_with("-292277022657-"));
        assert_eq!(
            rfc3339_of(UNIX_EPOCH - Duration::from_millis(500)),
            "1969-12-31T23:59:59Z"
        );
    }
}
