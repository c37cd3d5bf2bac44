//! `mosaic gateway usage [--by key|user|agent|model|day] [--since DATE|DURATION]
//! [--until DATE]`: what the proxy's requests used, summed per group, with a total
//! line; `--json` for scripts. It reads the storage directly (like `gateway keys`),
//! so it works whether the daemon runs or not, in both tiers. The query and the
//! report are shared with the HTTP API ([`crate::usage_report`]).

use std::io::Write;

use anyhow::Result;
use mosaic_plugin_api::sdk::output::Table;
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context, Example};
use serde::Deserialize;

use super::keys::{open_storage, usage_error};
use super::needs_an_install;
use crate::clock::unix_now;
use crate::keys::FieldNames;
use crate::storage::keys::UsageQuery;
use crate::usage_report::{format_usd, usage_query, UsageReport};

/// Exit code for a value that does not parse (like a usage error of the parser).
pub const EXIT_BAD_INPUT: i32 = 2;

/// `mosaic gateway usage`.
pub struct Usage;

/// What the command was asked.
#[derive(Debug, Clone, Deserialize)]
pub struct UsageOptions {
    /// `--by`: the grouping.
    pub by: String,
    /// `--since`: a date or a duration ago.
    pub since: Option<String>,
    /// `--until`: the last date included.
    pub until: Option<String>,
}

impl Command for Usage {
    type Options = UsageOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "usage",
            "Show what the proxy's requests used: tokens, errors, cost",
        )
        .long_about(
            "Sum the requests made through the gateway's Anthropic proxy per key, user \
             (email), agent, model or UTC day: requests, input and output tokens, prompt \
             cache reads and writes, error answers, and the cost in USD from the price \
             table. A total line follows the table. Reads the gateway's storage directly, \
             so it works whether the daemon runs or not, in both tiers.\n\n\
             --since takes a date (YYYY-MM-DD, from 00:00 UTC), `today`, or a duration \
             ago (30m, 12h, 7d, 4w); --until takes the last date included. Exit codes: 0 \
             shown; 1 the storage cannot be read; 2 a value does not parse.",
        )
        .arg(
            ArgSpec::option("by", "Group by this")
                .value_name("GROUP")
                .possible_values(&["key", "user", "agent", "model", "day"])
                .default_value("key"),
        )
        .arg(
            ArgSpec::option("since", "From this date (UTC) or this long ago")
                .value_name("DATE|DURATION"),
        )
        .arg(ArgSpec::option("until", "Up to and including this date (UTC)").value_name("DATE"))
        .with_example(needs_an_install(
            "gateway usage --since 7d",
            "Per key, the last seven days",
        ))
        .with_example(needs_an_install(
            "gateway usage --by day --since 2025-03-01 --until 2025-03-31",
            "One line per day of March",
        ))
        .with_example(
            Example::new(
                "gateway usage --since yesterday",
                "A value that does not parse: exit 2, naming the flag",
            )
            .expect_exit_code(EXIT_BAD_INPUT),
        )
    }

    fn run(context: &Context<'_>, options: UsageOptions) -> Result<i32> {
        let query = match usage_query(
            &options.by,
            options.since.as_deref(),
            options.until.as_deref(),
            unix_now(),
            FieldNames::Flags,
        ) {
            Ok(query) => query,
            Err(message) => return usage_error(context, &message),
        };
        usage(context, &query)
    }
}
/// Shows the report of `query`.
pub fn usage(context: &Context<'_>, query: &UsageQuery) -> Result<i32> {
    let storage = open_storage(context)?;
    let rows = storage.run(async { storage.usage.summarize(query).await })?;
    let report = UsageReport::new(query, rows);
    if context.json() {
        context.print_json(&report)?;
        return Ok(0);
    }
    write!(context.out(), "{}", report.render())?;
    Ok(0)
}
impl UsageReport {
    /// The report for people: a period line, the table, and the total line.
    pub fn render(&self) -> String {
        let period = match (&self.since, &self.until) {
            (None, None) => "all recorded usage".to_string(),
            (Some(since), None) => format!("since {since} UTC"),
            (None, Some(until)) => format!("before {until} UTC"),
            (Some(since), Some(until)) => format!("from {since} to {until} UTC"),
        };
        let by = serde_json::to_value(self.by)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default();
        if self.rows.is_empty() {
            return format!("No requests through the proxy ({period}).\n");
        }
        let mut table = Table::new(&[
            &by,
            "requests",
            "input",
            "output",
            "cache read",
            "cache write",
            "errors",
            "cost usd",
        ]);
        for row in self.rows.iter().chain(std::iter::once(&self.total)) {
            let row = &row.row;
            let label = if std::ptr::eq(row, &self.total.row) {
                "TOTAL".to_string()
            } else {
                row.group.clone()
            };
            table.add_row([
                label,
                row.requests.to_string(),
                row.input_tokens.to_string(),
                row.output_tokens.to_string(),
                row.cache_read_tokens.to_string(),
                row.cache_write_tokens.to_string(),
                row.errors.to_string(),
                format_usd(row.cost_micros),
            ]);
        }
        format!("Usage by {by}, {period}:\n{}", table.render())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage_report::sample_report;

    #[test]
    fn a_report_for_people_has_a_period_line_a_table_and_a_total() {
        let report = sample_report();
        let text = report.render();
        assert!(
            text.starts_with("Usage by agent, all recorded usage:\n"),
            "{text}"
        );
        assert!(text.contains("AGENT  REQUESTS"), "{text}");
        assert!(
            text.lines().last().unwrap().starts_with("TOTAL  3"),
            "{text}"
        );
        assert!(text.contains("1.5000"), "{text}");
        let query = usage_query("agent", None, None, 0, FieldNames::Flags).unwrap();
        let empty = UsageReport::new(&query, Vec::new()).render();
        assert_eq!(
            empty,
            "No requests through the proxy (all recorded usage).\n"
        );
    }
}
