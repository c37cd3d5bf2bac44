//! An agent's status from the age of its heartbeat: alive, then stale, then dead.
//!
//! The sidecar rewrites the heartbeat every interval while the pane process lives,
//! so the age of the last beat, measured in intervals, says how sure we are that
//! the agent still runs. Only files are read: `fleet ps` never asks tmux.

use std::fmt;

use mosaic_plugin_api::anyhow::{bail, Result};
use serde::Serialize;

/// Where the statuses change, in heartbeat intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    stale_after_intervals: u64,
    dead_after_intervals: u64,
}

impl Thresholds {
    /// The defaults: stale after 2 intervals without a beat, dead after 4.
    pub const DEFAULT: Thresholds = Thresholds {
        stale_after_intervals: 2,
        dead_after_intervals: 4,
    };

    /// Thresholds with `1 <= stale_after_intervals < dead_after_intervals`.
    pub fn new(stale_after_intervals: u64, dead_after_intervals: u64) -> Result<Thresholds> {
        if stale_after_intervals == 0 || dead_after_intervals <= stale_after_intervals {
            bail!(
                "fleet status thresholds must satisfy 1 <= stale_after_intervals < \
                 dead_after_intervals, got {stale_after_intervals} and {dead_after_intervals}"
            );
        }
        Ok(Thresholds {
            stale_after_intervals,
            dead_after_intervals,
        })
    }

    /// Intervals without a beat after which an agent is stale.
    pub fn stale_after_intervals(&self) -> u64 {
        self.stale_after_intervals
    }

    /// Intervals without a beat after which an agent is dead.
    pub fn dead_after_intervals(&self) -> u64 {
        self.dead_after_intervals
    }
}

/// What `fleet ps` says about an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The last beat is at most `stale_after_intervals` old.
    Alive,
    /// Older than that, but at most `dead_after_intervals`.
    Stale,
    /// Older still, or no beat ever appeared.
    Dead,
    /// Stopped with `fleet stop`.
    Stopped,
    /// The heartbeat file cannot be read, so nothing can be said.
    Unknown,
    /// Removed by `fleet prune` (shown by `fleet ps --all` from the history).
    Pruned,
}

impl Status {
    /// The status as `fleet ps` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Alive => "alive",
            Status::Stale => "stale",
            Status::Dead => "dead",
            Status::Stopped => "stopped",
            Status::Unknown => "unknown",
            Status::Pruned => "pruned",
        }
    }

    /// Whether the heartbeat says the agent may still be running (a new launch
    /// under its name is refused).
    pub fn may_be_running(self) -> bool {
        matches!(self, Status::Alive | Status::Stale)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The status of an agent whose last beat was at `last_beat_at` (Unix seconds;
/// `None` when no beat ever appeared), beating every `interval` seconds, at `now`.
pub fn classify(
    last_beat_at: Option<u64>,
    interval: u64,
    now: u64,
    thresholds: Thresholds,
) -> Status {
    let Some(last_beat_at) = last_beat_at else {
        return Status::Dead;
    };
    // A beat from the future (a clock step) counts as fresh.
    let age = now.saturating_sub(last_beat_at);
    let interval = interval.max(1);
    if age <= thresholds.stale_after_intervals.saturating_mul(interval) {
        Status::Alive
    } else if age <= thresholds.dead_after_intervals.saturating_mul(interval) {
        Status::Stale
    } else {
        Status::Dead
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_thresholds_are_two_and_four_intervals() {
        let thresholds = Thresholds::DEFAULT;
        let now = 1_000;
        let at = |age: u64| classify(Some(now - age), 15, now, thresholds);
        assert_eq!(at(0), Status::Alive);
        assert_eq!(at(30), Status::Alive);
        assert_eq!(at(31), Status::Stale);
        assert_eq!(at(60), Status::Stale);
        assert_eq!(at(61), Status::Dead);
    }

    #[test]
    fn a_heartbeat_that_never_appeared_is_dead() {
        assert_eq!(classify(None, 15, 1_000, Thresholds::DEFAULT), Status::Dead);
    }

    #[test]
    fn future_beats_are_fresh_and_interval_zero_is_treated_as_one() {
        assert_eq!(
            classify(Some(2_000), 15, 1_000, Thresholds::DEFAULT),
            Status::Alive
        );
        assert_eq!(
            classify(Some(997), 0, 1_000, Thresholds::DEFAULT),
            Status::Stale
        );
    }

    #[test]
    fn thresholds_are_configurable_and_checked() {
        let thresholds = Thresholds::new(1, 10).unwrap();
        assert_eq!(classify(Some(98), 1, 100, thresholds), Status::Stale);
        assert_eq!(classify(Some(90), 1, 100, thresholds), Status::Stale);
        assert_eq!(classify(Some(89), 1, 100, thresholds), Status::Dead);
        for (stale, dead) in [(0, 4), (4, 4), (5, 4)] {
            assert!(Thresholds::new(stale, dead).is_err(), "{stale} {dead}");
        }
    }
}
