//! Usage reports, shared by `mosaic gateway usage` and `GET /api/usage`: the query
//! a `by`/`since`/`until` request makes ([`usage_query`]), the report with its
//! total line ([`UsageReport`]), and the dates, durations and amounts people type
//! and read (`2025-03-01`, `7d`, `today`, `12.5000`), also used by the key commands.

use serde::Serialize;

use crate::clock::{civil_from_days, days_from_civil};
use crate::keys::FieldNames;
use crate::storage::keys::{UsageGroup, UsageQuery, UsageRow};

const SECONDS_PER_DAY: i64 = 86_400;
/// The query for `--by`, `--since` and `--until` (or the API's `by`, `since`,
/// `until`), at `now` (Unix seconds); the error names the flag or parameter (as
/// `names` says) and the format.
pub fn usage_query(
    by: &str,
    since: Option<&str>,
    until: Option<&str>,
    now: i64,
    names: FieldNames,
) -> Result<UsageQuery, String> {
    let group =
        parse_group(by).map_err(|problem| format!("{} `{by}`: {problem}", names.name("by")))?;
    let since_ms = since
        .map(|text| {
            parse_since(text, now)
                .map_err(|problem| format!("{} `{text}`: {problem}", names.name("since")))
        })
        .transpose()?;
    let until_ms = until
        .map(|text| {
            parse_until(text)
                .map_err(|problem| format!("{} `{text}`: {problem}", names.name("until")))
        })
        .transpose()?;
    if let (Some(since_ms), Some(until_ms)) = (since_ms, until_ms) {
        if until_ms <= since_ms {
            return Err(format!(
                "{} `{}` ends before {} `{}` starts",
                names.name("until"),
                until.unwrap_or_default(),
                names.name("since"),
                since.unwrap_or_default()
            ));
        }
    }
    Ok(UsageQuery {
        since_ms,
        until_ms,
        key_id: None,
        user_id: None,
        group,
    })
}

/// The grouping named `by`.
pub fn parse_group(by: &str) -> Result<UsageGroup, String> {
    match by {
        "key" => Ok(UsageGroup::Key),
        "user" => Ok(UsageGroup::User),
        "agent" => Ok(UsageGroup::Agent),
        "model" => Ok(UsageGroup::Model),
        "day" => Ok(UsageGroup::Day),
        _ => Err("expected key, user, agent, model or day".to_string()),
    }
}
/// A usage report as `--json` and `GET /api/usage` give it.
#[derive(Debug, Clone, Serialize)]
pub struct UsageReport {
    /// The grouping.
    pub by: UsageGroup,
    /// From (inclusive), `YYYY-MM-DD HH:MM:SS` UTC; `null`: from the first record.
    pub since: Option<String>,
    /// Until (exclusive), `YYYY-MM-DD HH:MM:SS` UTC; `null`: up to now.
    pub until: Option<String>,
    /// One row per group.
    pub rows: Vec<ReportRow>,
    /// The sum of every row (`group` is `total`).
    pub total: ReportRow,
}

/// A row of a report: the stored sums and the cost in USD.
#[derive(Debug, Clone, Serialize)]
pub struct ReportRow {
    /// The sums.
    #[serde(flatten)]
    pub row: UsageRow,
    /// The cost in US dollars (`cost_micros` / 1,000,000).
    pub cost_usd: f64,
}

impl ReportRow {
    fn new(row: UsageRow) -> ReportRow {
        ReportRow {
            cost_usd: row.cost_micros as f64 / 1_000_000.0,
            row,
        }
    }
}

impl UsageReport {
    /// The report of `rows`, found for `query`.
    pub fn new(query: &UsageQuery, rows: Vec<UsageRow>) -> UsageReport {
        let mut total = UsageRow {
            group: "total".into(),
            ..UsageRow::default()
        };
        for row in &rows {
            total.requests += row.requests;
            total.input_tokens += row.input_tokens;
            total.output_tokens += row.output_tokens;
            total.cache_read_tokens += row.cache_read_tokens;
            total.cache_write_tokens += row.cache_write_tokens;
            total.errors += row.errors;
            total.cost_micros += row.cost_micros;
        }
        UsageReport {
            by: query.group,
            since: query
                .since_ms
                .map(|ms| format_utc_seconds(ms.div_euclid(1000))),
            until: query
                .until_ms
                .map(|ms| format_utc_seconds(ms.div_euclid(1000))),
            rows: rows.into_iter().map(ReportRow::new).collect(),
            total: ReportRow::new(total),
        }
    }
}

/// Millionths of a dollar as dollars with 4 decimals, rounded half up: `0.0123`.
pub fn format_usd(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let hundreds = (micros.unsigned_abs() + 50) / 100;
    format!("{sign}{}.{:04}", hundreds / 10_000, hundreds % 10_000)
}

/// Parses `--since`: `YYYY-MM-DD` (00:00 UTC), `today`, or a duration ago. Unix
/// milliseconds.
pub fn parse_since(text: &str, now: i64) -> Result<i64, String> {
    if text == "today" {
        return Ok(now.div_euclid(SECONDS_PER_DAY) * SECONDS_PER_DAY * 1000);
    }
    if let Some(day) = parse_date(text) {
        return Ok(day * 1000);
    }
    match parse_duration(text) {
        Ok(seconds) => Ok(now.saturating_sub(seconds).saturating_mul(1000)),
        Err(_) => Err(
            "expected a date (YYYY-MM-DD), `today`, or a duration ago (30m, 12h, 7d, 4w)"
                .to_string(),
        ),
    }
}

/// Parses `--until`: `YYYY-MM-DD`, included (the end is the next day's 00:00 UTC).
/// Unix milliseconds.
pub fn parse_until(text: &str) -> Result<i64, String> {
    parse_date(text)
        .map(|day| (day + SECONDS_PER_DAY) * 1000)
        .ok_or_else(|| "expected a date, YYYY-MM-DD (included, UTC)".to_string())
}

/// `YYYY-MM-DD` as Unix seconds at 00:00 UTC; `None` unless it is a real date.
pub fn parse_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = &text[range];
        part.bytes()
            .all(|byte| byte.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day) * SECONDS_PER_DAY)
}

/// A duration people type: a whole number and a unit, `s`, `m`, `h`, `d` or `w`
/// (`30m`, `12h`, `7d`, `4w`). Seconds, more than zero.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let problem = || "expected a number and a unit: s, m, h, d or w (30m, 12h, 7d, 4w)".to_string();
    let unit = text.chars().last().ok_or_else(problem)?;
    let seconds_per_unit = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => SECONDS_PER_DAY,
        'w' => 7 * SECONDS_PER_DAY,
        _ => return Err(problem()),
    };
    let number = &text[..text.len() - 1];
    if number.is_empty() || !number.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(problem());
    }
    let count: i64 = number.parse().map_err(|_| problem())?;
    if count == 0 {
        return Err("must be longer than zero".to_string());
    }
    count
        .checked_mul(seconds_per_unit)
        .filter(|seconds| *seconds <= 100 * 366 * SECONDS_PER_DAY)
        .ok_or_else(|| "must be at most 100 years".to_string())
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn format_utc_seconds(seconds: i64) -> String {
    let (year, month, day) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// Unix seconds as `YYYY-MM-DD HH:MM` (UTC), for tables.
pub fn format_utc_minute(seconds: i64) -> String {
    let mut text = format_utc_seconds(seconds);
    text.truncate(16);
    text
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A report by agent of two rows, `a` (2 requests, 1.5 USD) and `-` (1 request,
/// 20 micro-USD), each with 10 input tokens and 1 error: for unit tests.
#[cfg(test)]
pub(crate) fn sample_report() -> UsageReport {
    let row = |group: &str, requests, cost_micros| UsageRow {
        group: group.into(),
        requests,
        input_tokens: 10,
        errors: 1,
        cost_micros,
        ..UsageRow::default()
    };
    let query = usage_query("agent", None, None, 0, FieldNames::Flags).unwrap();
    UsageReport::new(&query, vec![row("a", 2, 1_500_000), row("-", 1, 20)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_invalid_ones_are_refused() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2024-03-01"), Some(1_709_251_200));
        assert_eq!(parse_date("2024-02-29"), Some(1_709_164_800));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-1-01",
            "24-01-01",
            "2024-01-+1",
            "today",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(
            format_utc_seconds(1_709_251_200 + 3661),
            "2024-03-01 01:01:01"
        );
        assert_eq!(format_utc_minute(1_709_251_200 + 3661), "2024-03-01 01:01");
    }

    #[test]
    fn durations_since_and_until_parse_or_say_the_format() {
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("12h"), Ok(43_200));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("4w"), Ok(2_419_200));
        for bad in ["", "d", "7", "7x", "-7d", "1.5h", "7 d"] {
            assert!(
                parse_duration(bad).unwrap_err().contains("30m, 12h"),
                "{bad}"
            );
        }
        assert!(parse_duration("0d").is_err());
        assert!(parse_duration("99999999999w").is_err());
        let now = 1_709_251_200 + 5000;
        assert_eq!(parse_since("today", now), Ok(1_709_251_200_000));
        assert_eq!(parse_since("1h", now), Ok((now - 3600) * 1000));
        assert_eq!(parse_since("2024-03-01", now), Ok(1_709_251_200_000));
        assert_eq!(parse_until("2024-03-01"), Ok(1_709_337_600_000));
        assert!(parse_since("yesterday", now)
            .unwrap_err()
            .contains("YYYY-MM-DD"));
        let error = usage_query(
            "key",
            Some("2024-03-02"),
            Some("2024-03-01"),
            now,
            FieldNames::Flags,
        )
        .unwrap_err();
        assert!(
            error.contains("--until") && error.contains("--since"),
            "{error}"
        );
        let error = usage_query("key", Some("soon"), None, now, FieldNames::Flags).unwrap_err();
        assert!(error.starts_with("--since `soon`: expected"), "{error}");
        let error = usage_query("team", None, None, now, FieldNames::Json).unwrap_err();
        assert!(error.starts_with("by `team`: expected"), "{error}");
    }

    #[test]
    fn costs_show_four_decimals_and_reports_add_a_total() {
        assert_eq!(format_usd(0), "0.0000");
        assert_eq!(format_usd(123_456), "0.1235");
        assert_eq!(format_usd(12_000_049), "12.0000");
        assert_eq!(format_usd(12_000_050), "12.0001");
        let report = sample_report();
        assert_eq!(report.total.row.requests, 3);
        assert_eq!(report.total.row.cost_micros, 1_500_020);
    }
}
