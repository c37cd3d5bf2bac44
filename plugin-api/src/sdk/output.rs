//! Human and machine output: aligned tables for people, JSON for `--json`, and
//! short human durations ("3m 20s", "5s ago").
//!
//! Tables have no borders (like `kubectl get` or `docker ps`) so they stay easy to
//! read and to `grep`/`awk`; rendering is a few lines of padding, fast enough for
//! `fleet ps` over a thousand agents.

use std::time::Duration;

/// Space between columns.
const COLUMN_GAP: usize = 2;

/// A plain, borderless table with an upper-case header row.
///
/// Columns are as wide as their widest cell (counted in characters) and separated
/// by two spaces; the last column is not padded, so no line ends in spaces.
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|header| header.to_uppercase()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (as many cells as headers; missing cells are empty).
    pub fn add_row<I, S>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text, one line per row.
    pub fn render(&self) -> String {
        let width = |text: &str| text.chars().count();
        let mut widths: Vec<usize> = self.headers.iter().map(|header| width(header)).collect();
        for row in &self.rows {
            for (column, cell) in row.iter().enumerate().take(widths.len()) {
                widths[column] = widths[column].max(width(cell));
            }
        }
        let line_length: usize = widths.iter().sum::<usize>() + COLUMN_GAP * widths.len() + 1;
        let mut text = String::with_capacity(line_length * (self.rows.len() + 1));
        let empty = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let start = text.len();
            for (column, column_width) in widths.iter().enumerate() {
                let cell = row.get(column).unwrap_or(&empty);
                text.push_str(cell);
                if column + 1 < widths.len() {
                    let padding = column_width - width(cell) + COLUMN_GAP;
                    text.extend(std::iter::repeat_n(' ', padding));
                }
            }
            // Empty trailing cells would leave spaces behind.
            let trimmed = text[start..].trim_end().len();
            text.truncate(start + trimmed);
            text.push('\n');
        }
        text
    }
}

/// `1d 4h`, `3h 5m`, `2m 7s`, `42s` — the two largest units, for people.
pub fn format_duration(duration: Duration) -> String {
    let total = duration.as_secs();
    let (days, hours, minutes, seconds) = (
        total / 86_400,
        (total % 86_400) / 3_600,
        (total % 3_600) / 60,
        total % 60,
    );
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m {seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// `5s ago`, `3m 2s ago`.
pub fn format_age(duration: Duration) -> String {
    format!("{} ago", format_duration(duration))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_two_largest_units() {
        assert_eq!(format_duration(Duration::from_secs(0)), "0s");
        assert_eq!(format_duration(Duration::from_secs(42)), "42s");
        assert_eq!(format_duration(Duration::from_secs(127)), "2m 7s");
        assert_eq!(
            format_duration(Duration::from_secs(3 * 3600 + 300)),
            "3h 5m"
        );
        assert_eq!(
            format_duration(Duration::from_secs(86_400 + 4 * 3600)),
            "1d 4h"
        );
        assert_eq!(format_age(Duration::from_secs(5)), "5s ago");
    }

    #[test]
    fn table_pads_short_rows_and_counts_characters() {
        let mut table = Table::new(&["a", "b", "c"]);
        table.add_row(["é", "x"]).add_row(["long", "y", "z"]);
        let text = table.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "A     B  C");
        assert_eq!(lines[1], "é     x");
        assert_eq!(lines[2], "long  y  z");
    }

    #[test]
    fn table_aligns_columns_without_borders() {
        let mut table = Table::new(&["name", "status"]);
        table.add_row(["hello", "ok"]).add_row(["x", "broken"]);
        let text = table.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "NAME   STATUS");
        assert_eq!(lines[1], "hello  ok");
        assert_eq!(lines[2], "x      broken");
    }
}
