//! `mosaic config hooks state-change` (hidden): the supervisor of one run of
//! `fleet.on_state_change`, started detached by the activity hook when an agent's
//! state changes (see [`crate::state_change`]). It reads everything from its
//! environment, runs the command with a time limit and logs how it ended.

use std::io::Write;

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::{Command, CommandSpec, Context};
use serde::Deserialize;

use crate::state_change::{
    append_log_line, log_path, supervise, Outcome, AGENT_ENV, COMMAND_ENV, STATE_ENV, TIME_LIMIT,
};

/// `mosaic config hooks state-change`.
pub struct StateChange;

/// No arguments: the agent, state, message and command come in the environment.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StateChangeArgs {}

impl Command for StateChange {
    type Options = StateChangeArgs;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "state-change",
            "Run fleet.on_state_change once (the activity hook starts this)",
        )
        .long_about(
            "Run the fleet.on_state_change command for one change of an agent's state, \
             with MOSAIC_AGENT, MOSAIC_AGENT_STATE and MOSAIC_AGENT_MESSAGE in its \
             environment, and terminate it (and what it started) after 10 seconds. The \
             activity hook starts this, detached, when an agent changes state; it is not \
             meant to be typed. Output goes to <config dir>/hooks/on-state-change.log.",
        )
        .hidden()
    }

    fn run(context: &Context<'_>, _args: StateChangeArgs) -> Result<i32> {
        let Some(command) = context
            .env(COMMAND_ENV)
            .filter(|text| !text.trim().is_empty())
        else {
            writeln!(
                context.err(),
                "error: {COMMAND_ENV} is not set; the activity hook sets it when it starts \
                 this for fleet.on_state_change (set the command with `mosaic config set \
                 fleet.on_state_change '…'`)"
            )?;
            return Ok(2);
        };
        let log = log_path(&context.config_dir());
        let agent = context.env(AGENT_ENV).unwrap_or_default();
        let state = context.env(STATE_ENV).unwrap_or_default();
        let ended = match supervise(&command, &log, TIME_LIMIT) {
            Ok(Outcome::Finished(status)) if status.success() => None,
            Ok(Outcome::Finished(status)) => Some(format!("ended with {status}")),
            Ok(Outcome::TimedOut) => {
                Some(format!("was terminated after {} s", TIME_LIMIT.as_secs()))
            }
            Err(error) => Some(format!("could not run: {error:#}")),
        };
        if let Some(ended) = ended {
            let line =
                format!("mosaic: fleet.on_state_change for agent `{agent}` ({state}) {ended}");
            let _ = append_log_line(&log, &line);
            writeln!(context.err(), "{line}")?;
            return Ok(1);
        }
        Ok(0)
    }
}
