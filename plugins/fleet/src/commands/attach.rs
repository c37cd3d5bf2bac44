//! `mosaic fleet attach <AGENT>`: put the terminal on the agent's tmux session
//! (`switch-client` when already inside tmux on the same server).

use mosaic_plugin_api::anyhow::{bail, Result};
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context};
use serde::Deserialize;

use super::{running_agent, tmux_example};

/// `mosaic fleet attach`.
pub struct Attach;

impl Command for Attach {
    type Options = AttachOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("attach", "Attach the terminal to an agent's tmux session")
            .long_about(
                "Attach the terminal to the agent's tmux session; inside tmux, switch the \
                 current client to it. Detach again with C-b d; the agent keeps running. \
                 Needs a terminal on stdin and stdout.",
            )
            .arg(ArgSpec::positional("agent", "The agent to attach to").required())
            .with_example(tmux_example(
                "fleet attach reviewer",
                "Watch and talk to agent `reviewer`",
            ))
    }

    fn run(context: &Context<'_>, options: AttachOptions) -> Result<i32> {
        attach(context, &options)
    }
}

/// What the command needs (its arguments, by name).
#[derive(Debug, Clone, Deserialize)]
pub struct AttachOptions {
    /// The agent name.
    pub agent: String,
}

/// Attaches; returns tmux's exit code once the user detaches.
pub fn attach(context: &Context<'_>, options: &AttachOptions) -> Result<i32> {
    let agent = options.agent.as_str();
    let (tmux, session) = running_agent(context, agent)?;
    if !(context.stdin_is_tty() && context.stdout_is_tty()) {
        bail!(
            "`mosaic fleet attach` needs a terminal on stdin and stdout; without one, read \
             the agent's screen with `mosaic fleet logs {agent}`"
        );
    }
    tmux.attach(&session, context.env("TMUX").as_deref())
}
