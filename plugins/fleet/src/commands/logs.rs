//! `mosaic fleet logs <AGENT> [-n LINES]`: print what the agent's pane shows, with
//! its scroll-back (a tmux pane capture).

use std::io::Write;

use mosaic_plugin_api::anyhow::{bail, Result};
use mosaic_plugin_api::serde_json::json;
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context, ValueType};
use serde::Deserialize;

use super::{running_agent, tmux_example};

/// The largest `--lines` accepted.
const MAX_LINES: u64 = 100_000;

/// `mosaic fleet logs`.
pub struct Logs;

impl Command for Logs {
    type Options = LogsOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("logs", "Print the last lines of an agent's pane")
            .long_about(
                "Print the last LINES lines of the agent's tmux pane, scroll-back included, \
                 as plain text (wrapped lines joined). Only a running agent has a pane to \
                 read.",
            )
            .arg(ArgSpec::positional("agent", "The agent to read").required())
            .arg(
                ArgSpec::option("lines", "How many lines to print (1 to 100000)")
                    .short('n')
                    .value_name("LINES")
                    .value_type(ValueType::Unsigned)
                    .default_value("50"),
            )
            .with_example(tmux_example(
                "fleet logs reviewer -n 200",
                "The last 200 lines of agent `reviewer`",
            ))
    }

    fn run(context: &Context<'_>, options: LogsOptions) -> Result<i32> {
        let output = capture(context, &options)?;
        if context.json() {
            let lines: Vec<&str> = output.lines().collect();
            context.print_json(&json!({ "agent": options.agent, "lines": lines }))?;
        } else {
            write!(context.out(), "{output}")?;
        }
        Ok(0)
    }
}

/// What the command needs (its arguments, by name).
#[derive(Debug, Clone, Deserialize)]
pub struct LogsOptions {
    /// The agent name.
    pub agent: String,
    /// `--lines`: how many lines, 1 to 100000.
    pub lines: u64,
}

/// The last lines of the agent's pane.
pub fn capture(context: &Context<'_>, options: &LogsOptions) -> Result<String> {
    let lines = options.lines;
    if !(1..=MAX_LINES).contains(&lines) {
        bail!("--lines {lines}: expected a whole number from 1 to {MAX_LINES}");
    }
    let (tmux, session) = running_agent(context, &options.agent)?;
    tmux.capture_pane(&session, usize::try_from(lines)?)
}
