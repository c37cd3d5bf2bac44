//! `mosaic fleet logs <AGENT> [-n LINES]`: print what the agent's pane shows, with
//! its scroll-back (a tmux pane capture).

use std::io::Write;

use mosaic_plugin_api::anyhow::{bail, Result};
use mosaic_plugin_api::serde_json::json;
use mosaic_plugin_api::{ArgSpec, CommandSpec, Context, Invocation};

use super::{running_agent, tmux_example};

/// The largest `--lines` accepted.
const MAX_LINES: usize = 100_000;

/// The command's declaration.
pub fn spec() -> CommandSpec {
    let mut spec = CommandSpec::new("logs", "Print the last lines of an agent's pane")
        .long_about(
            "Print the last LINES lines of the agent's tmux pane, scroll-back included, \
             as plain text (wrapped lines joined). Only a running agent has a pane to \
             read.",
        )
        .arg(ArgSpec::positional("agent", "The agent to read").required())
        .arg(
            ArgSpec::option("lines", "How many lines to print")
                .short('n')
                .value_name("LINES")
                .default_value("50"),
        );
    spec.examples = vec![tmux_example(
        "fleet logs reviewer -n 200",
        "The last 200 lines of agent `reviewer`",
    )];
    spec
}

/// What the command needs, decoded from the invocation.
#[derive(Debug, Clone)]
pub struct LogsOptions {
    /// The agent name.
    pub agent: String,
    /// `--lines`.
    pub lines: usize,
}

/// The last lines of the agent's pane.
pub fn capture(context: &Context<'_>, options: &LogsOptions) -> Result<String> {
    let (tmux, session) = running_agent(context, &options.agent)?;
    tmux.capture_pane(&session, options.lines)
}

/// Runs the command.
pub fn run(context: &Context<'_>, invocation: &Invocation) -> Result<i32> {
    let text = invocation.value("lines").unwrap_or("50");
    let lines = match text.trim().parse::<usize>() {
        Ok(lines) if (1..=MAX_LINES).contains(&lines) => lines,
        _ => bail!("--lines {text}: expected a whole number from 1 to {MAX_LINES}"),
    };
    let options = LogsOptions {
        agent: invocation.value("agent").unwrap_or_default().to_string(),
        lines,
    };
    let output = capture(context, &options)?;
    if context.json() {
        let lines: Vec<&str> = output.lines().collect();
        context.print_json(&json!({ "agent": options.agent, "lines": lines }))?;
    } else {
        write!(context.out(), "{output}")?;
    }
    Ok(0)
}
