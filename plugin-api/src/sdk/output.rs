//! Human and machine output: aligned tables for people, JSON for `--json`, and
//! short human durations ("3m 20s", "5s ago").
//!
//! Tables have no borders (like `kubectl get` or `docker ps`) so they stay easy to
//! read and to `grep`/`awk`.

use std::time::Duration;

use comfy_table::{presets, CellAlignment, ContentArrangement, Table as ComfyTable};

/// A plain, borderless table with an upper-case header row.
pub struct Table {
    inner: ComfyTable,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Self {
        let mut inner = ComfyTable::new();
        inner
            .load_preset(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(headers.iter().map(|header| header.to_uppercase()));
        for column in inner.column_iter_mut() {
            column.set_cell_alignment(CellAlignment::Left);
            column.set_padding((0, 2));
        }
        Table { inner }
    }

    /// Appends a row (as many cells as headers).
    pub fn add_row<I, S>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let row: Vec<String> = cells.into_iter().map(Into::into).collect();
        self.inner.add_row(row);
        self
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.inner.row_count() == 0
    }

    /// The table as text, one line per row, without trailing spaces.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for line in self.inner.lines() {
            text.push_str(line.trim_end());
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
