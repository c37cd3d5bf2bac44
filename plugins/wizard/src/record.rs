//! Records a finished wizard run in config.json (`wizard.completed_at`, `.version`,
//! `.components`), so `mosaic config show` shows it and a re-run knows the machine is
//! set up.

use std::time::{SystemTime, UNIX_EPOCH};

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::sdk::config;
use mosaic_plugin_api::serde_json::{json, Value};
use mosaic_plugin_api::Context;

use crate::components::Component;

/// Writes the completion record.
pub fn record_completion(context: &Context<'_>, applied: &[Component]) -> Result<()> {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    let record = json!({
        "completed_at": utc_timestamp(seconds),
        "version": env!("CARGO_PKG_VERSION"),
        "components": applied.iter().map(|component| component.name()).collect::<Vec<_>>(),
    });
    config::update(&context.config_dir(), |root| {
        config::set(root, "wizard", record)
    })
}

/// `2026-11-25T16:37:28Z` for Unix seconds (proleptic Gregorian, UTC).
pub fn utc_timestamp(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let seconds_of_day = unix_seconds % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds_of_day / 3_600,
        (seconds_of_day % 3_600) / 60,
        seconds_of_day % 60
    )
}

/// The components of the previous run, from config.json.
pub fn previous_components(previous: Option<&Value>) -> Vec<String> {
    previous
        .and_then(|run| run.get("components"))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_iso8601() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(1_795_624_648), "2026-11-25T16:37:28Z");
    }
}
