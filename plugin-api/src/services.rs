//! What crosses the ABI as JSON between a host and a plugin during a run, besides
//! the invocation: the facts of the run ([`RunInfo`]), the names and versions of the
//! host's services ([`Service`]) and progress events ([`ProgressEvent`]).
//!
//! Every field has a serde default, so a field added in a later 0.2.x is simply
//! absent (and defaulted) when an older host or plugin reads the JSON.

use serde::{Deserialize, Serialize};

/// The facts of one run, as the host reports them through
/// [`crate::abi::HostServices::run_info`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunInfo {
    /// Version of the `mosaic` host binary.
    pub host_version: String,
    /// The `mosaic-plugin-api` version the host was built with.
    pub api_version: String,
    /// `MOSAIC_CONFIG_DIR`, else `$XDG_CONFIG_HOME/mosaic`, else `~/.config/mosaic`.
    pub config_dir: String,
    /// `$XDG_DATA_HOME/mosaic`, else `~/.local/share/mosaic`.
    pub data_dir: String,
    /// `$XDG_CACHE_HOME/mosaic`, else `~/.cache/mosaic`.
    pub cache_dir: String,
    /// Runtime state (pid files, sockets): `MOSAIC_RUN_DIR`, else `<config_dir>/run`.
    pub run_dir: String,
    /// -1 with `-q`, 0 by default, 1 with `-v`, 2 with `-vv` or more.
    pub verbosity: i8,
    /// Whether output may use colour (`--no-color` and `NO_COLOR` turn it off).
    pub color: bool,
    /// `--json`: list and status commands print one JSON document on stdout.
    pub json: bool,
    /// Whether stdin is a terminal.
    pub stdin_is_tty: bool,
    /// Whether stdout is a terminal.
    pub stdout_is_tty: bool,
    /// Whether stderr is a terminal.
    pub stderr_is_tty: bool,
    /// `MOSAIC_ASSUME_YES=1` (or an override of it): never prompt, take defaults.
    pub assume_yes: bool,
}

/// A service of the host that not every 0.2.x host has: the ones added after
/// 0.2.0. A plugin asks with [`crate::Context::has_service`] or
/// [`crate::Context::require_service`] before relying on one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// A progress indicator drawn by the host (`Context::progress`).
    Progress,
}

impl Service {
    /// The service's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Service::Progress => "progress",
        }
    }

    /// The first `mosaic-plugin-api` version whose hosts have it.
    pub fn since(self) -> &'static str {
        match self {
            Service::Progress => "0.2.1",
        }
    }
}

/// One message to the host's progress service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ProgressEvent {
    /// A new indicator: a spinner without `total`, a bar with it. The host answers
    /// with the indicator's id.
    Start {
        /// What is being waited for, e.g. `Waiting for the gateway`.
        message: String,
        /// The amount of work, for a bar (e.g. bytes).
        #[serde(default)]
        total: Option<u64>,
    },
    /// New text and/or position for an indicator.
    Update {
        /// The id `Start` returned.
        id: u64,
        /// Replaces the text.
        #[serde(default)]
        message: Option<String>,
        /// Work done so far (bars).
        #[serde(default)]
        position: Option<u64>,
    },
    /// The wait is over; the indicator is removed from the screen.
    Finish {
        /// The id `Start` returned.
        id: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_info_from_an_older_host_defaults_new_fields() {
        let info: RunInfo = serde_json::from_str(r#"{"host_version":"0.2.0"}"#).unwrap();
        assert_eq!(info.host_version, "0.2.0");
        assert!(!info.stderr_is_tty);
    }

    #[test]
    fn progress_events_round_trip() {
        let event = ProgressEvent::Update {
            id: 3,
            message: None,
            position: Some(10),
        };
        let text = serde_json::to_string(&event).unwrap();
        assert_eq!(
            text,
            r#"{"event":"update","id":3,"message":null,"position":10}"#
        );
        assert_eq!(serde_json::from_str::<ProgressEvent>(&text).unwrap(), event);
    }
}
