//! `mosaic fleet status-line [--ascii]`: one short line for tmux's `status-right`
//! saying how many agents work, wait and idle, e.g. `⚙ 3 working · ⏳ 1 waiting · 2
//! idle`. tmux runs it every `status-interval` seconds, so it reads only the run
//! directory (no tmux call, no gateway) and prints nothing when no running agent
//! has a state, leaving the status bar clean.

use std::io::Write;

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::sdk::activity::AgentState;
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context, Example};
use serde::Deserialize;

use crate::process::now_unix;
use crate::record::AgentRecord;
use crate::settings::Settings;
use crate::state::{record_state, StateCounts};

/// `mosaic fleet status-line`.
pub struct StatusLine;

impl Command for StatusLine {
    type Options = StatusLineOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "status-line",
            "One short line of agent states for tmux's status bar",
        )
        .long_about(
            "Print how many running agents are working, waiting for you and idle, as one \
             short line for tmux's status-right, e.g. `⚙ 3 working · ⏳ 1 waiting · 2 \
             idle`. States with no agent are left out; with no agent in any state the \
             line is empty. States come from Claude Code's hook events (see `mosaic fleet \
             ps --help`). With --ascii or NO_COLOR set: `3 working | 1 waiting | 2 idle`.\n\n\
             In ~/.tmux.conf:\n  \
             set -g status-right '#(mosaic fleet status-line) %H:%M'\n  \
             set -g status-interval 5",
        )
        .arg(ArgSpec::flag(
            "ascii",
            "Plain ASCII without symbols (also NO_COLOR)",
        ))
        .with_example(
            Example::new("fleet status-line --ascii", "The line, in plain ASCII")
                .expect_exit_code(0),
        )
        .example(
            "fleet status-line --json",
            "The counts as JSON: {\"working\": 3, \"waiting\": 1, \"idle\": 2}",
        )
    }

    fn run(context: &Context<'_>, options: StatusLineOptions) -> Result<i32> {
        let counts = count_states(context)?;
        if context.json() {
            context.print_json(&counts)?;
            return Ok(0);
        }
        let ascii = options.ascii
            || context
                .env("NO_COLOR")
                .is_some_and(|value| !value.is_empty());
        writeln!(context.out(), "{}", render(&counts, ascii))?;
        Ok(0)
    }
}

/// What the command needs (its arguments, by name).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatusLineOptions {
    /// `--ascii`: no symbols.
    pub ascii: bool,
}

/// The counts of the running agents' states, from the run directory.
pub fn count_states(context: &Context<'_>) -> Result<StateCounts> {
    let thresholds = Settings::new(context).thresholds()?;
    let records = AgentRecord::load_all(&context.fleet_run_dir(), now_unix(), thresholds)?;
    let mut counts = StateCounts::default();
    for record in &records {
        if let Some(info) = record_state(record) {
            counts.add(info.state);
        }
    }
    Ok(counts)
}

/// The line: each state with agents, in the order working, waiting, idle.
pub fn render(counts: &StateCounts, ascii: bool) -> String {
    let parts: Vec<String> = AgentState::ALL
        .into_iter()
        .filter_map(|state| {
            let count = counts.get(state);
            if count == 0 {
                return None;
            }
            let symbol = match (ascii, state) {
                (true, _) | (false, AgentState::Idle) => "",
                (false, AgentState::Working) => "⚙ ",
                (false, AgentState::Waiting) => "⏳ ",
            };
            Some(format!("{symbol}{count} {state}"))
        })
        .collect();
    parts.join(if ascii { " | " } else { " · " })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_leaves_out_empty_states() {
        let counts = StateCounts {
            working: 3,
            waiting: 1,
            idle: 2,
        };
        assert_eq!(
            render(&counts, false),
            "⚙ 3 working · ⏳ 1 waiting · 2 idle"
        );
        assert_eq!(render(&counts, true), "3 working | 1 waiting | 2 idle");
        let waiting_only = StateCounts {
            waiting: 2,
            ..StateCounts::default()
        };
        assert_eq!(render(&waiting_only, true), "2 waiting");
        assert_eq!(render(&StateCounts::default(), false), "");
        assert!(render(&counts, true).is_ascii());
    }
}
