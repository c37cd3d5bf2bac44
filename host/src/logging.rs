//! The host's one tracing subscriber: plain lines on stderr. The level comes from
//! `-v`/`-vv`/`-q`, or from `MOSAIC_LOG` (`debug`, or per target:
//! `warn,mosaic=debug`). Plugin events arrive through `HostContext::log` and are
//! re-emitted here under the `plugin` target.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

/// Installs the subscriber for this process.
pub fn init(verbosity: i8, color: bool) {
    let from_flags = match verbosity {
        i8::MIN..=-1 => LevelFilter::ERROR,
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let filter = std::env::var("MOSAIC_LOG")
        .ok()
        .filter(|_| verbosity == 0)
        .and_then(|text| text.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(from_flags));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(verbosity >= 2)
        .with_ansi(color);
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
}

/// Re-emits a plugin's log event at its level.
pub fn emit_plugin_event(plugin: &str, level: u8, target: &str, message: &str) {
    use mosaic_plugin_api::abi::log_level;
    match level {
        log_level::ERROR => tracing::error!(target: "plugin", plugin, source = target, "{message}"),
        log_level::WARN => tracing::warn!(target: "plugin", plugin, source = target, "{message}"),
        log_level::INFO => tracing::info!(target: "plugin", plugin, source = target, "{message}"),
        log_level::DEBUG => tracing::debug!(target: "plugin", plugin, source = target, "{message}"),
        _ => tracing::trace!(target: "plugin", plugin, source = target, "{message}"),
    }
}
