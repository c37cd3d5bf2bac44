//! `mosaic fleet stop <AGENT> [--force] [--timeout SECONDS]`: ask the runtime to
//! exit, then remove its tmux session, end its sidecar and mark it stopped.
//!
//! Asking means typing Ctrl-C twice into the pane (interactive runtimes such as
//! Claude Code, Codex and OpenCode quit on a second Ctrl-C; plain programs end on
//! the first) and waiting, bounded, for the process to go. Whatever is left is then
//! hung up by killing the session. `--force` skips the asking, and kills a process
//! that survives the hang-up. A recorded pane pid is only acted on while that
//! process still has `MOSAIC_AGENT=<AGENT>` in its environment: pids get reused.

use std::io::Write;
use std::time::Duration;

use mosaic_plugin_api::anyhow::{Context as _, Result};
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context, ValueType};
use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};

use super::{load_agent, note, tmux_example, tmux_for, warn};
use crate::agent::write_metadata;
use crate::process::{
    now_unix, poll_until, process_running, send_signal, started_with_environment,
};
use crate::sidecar;

/// The pause between the two Ctrl-C.
const BETWEEN_INTERRUPTS: Duration = Duration::from_millis(300);
/// How long a process may take to go after its session is killed.
const HANG_UP_GRACE: Duration = Duration::from_secs(3);
/// How often the waits look again.
const POLL_STEP: Duration = Duration::from_millis(100);

/// `mosaic fleet stop`.
pub struct Stop;

impl Command for Stop {
    type Options = StopOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("stop", "Ask an agent to exit, then remove its tmux session")
            .long_about(
                "Ask the agent's runtime to exit (Ctrl-C twice, then wait up to --timeout \
                 seconds), then kill its tmux session and its heartbeat sidecar, and mark it \
                 stopped. --force kills the session at once, and the process too if it \
                 survives the hang-up. The agent stays in `fleet ps` until `fleet prune`.",
            )
            .arg(ArgSpec::positional("agent", "The agent to stop").required())
            .arg(
                ArgSpec::flag(
                    "force",
                    "Do not ask: kill the session (and the process) now",
                )
                .short('f'),
            )
            .arg(
                ArgSpec::option(
                    "timeout",
                    "Seconds to wait for the runtime to exit by itself",
                )
                .short('t')
                .value_name("SECONDS")
                .value_type(ValueType::Unsigned)
                .default_value("10"),
            )
            .with_example(tmux_example(
                "fleet stop reviewer",
                "Stop agent `reviewer` politely",
            ))
            .with_example(tmux_example("fleet stop reviewer --force", "Stop it now"))
    }

    fn run(context: &Context<'_>, options: StopOptions) -> Result<i32> {
        let report = stop(context, &options)?;
        if context.json() {
            context.print_json(&report)?;
        } else if report.was_running {
            writeln!(context.out(), "stopped agent {}", report.agent)?;
        } else {
            writeln!(
                context.out(),
                "agent {} was not running; marked it stopped (remove it with `mosaic fleet \
                 prune`)",
                report.agent
            )?;
        }
        Ok(if report.process_gone { 0 } else { 1 })
    }
}

/// What the command needs (its arguments, by name).
#[derive(Debug, Clone, Deserialize)]
pub struct StopOptions {
    /// The agent name.
    pub agent: String,
    /// `--force`.
    pub force: bool,
    /// `--timeout`: seconds to wait for the runtime to exit when asked.
    pub timeout: u64,
}

/// What stopping did.
#[derive(Debug, Clone, Serialize)]
pub struct StopReport {
    /// The agent name.
    pub agent: String,
    /// Whether its session was still there.
    pub was_running: bool,
    /// Whether the runtime exited by itself when asked.
    pub exited_when_asked: bool,
    /// Whether the pane process is gone now.
    pub process_gone: bool,
    /// Whether the sidecar had to be ended.
    pub sidecar_ended: bool,
}

/// Stops the agent.
pub fn stop(context: &Context<'_>, options: &StopOptions) -> Result<StopReport> {
    let agent = options.agent.as_str();
    let mut record = load_agent(context, agent)?;
    let tmux = tmux_for(context, &record)?;
    let session = record.session();
    let pane_pid = record.pane_pid();
    // Only the agent's own process counts: after a long time its pid may be reused.
    let pane_running = || {
        pane_pid.is_some_and(|pid| {
            process_running(pid) && started_with_environment(pid, "MOSAIC_AGENT", agent)
        })
    };
    let was_running = tmux.has_session(&session)?;
    let mut exited_when_asked = false;

    if was_running && !options.force {
        let timeout = Duration::from_secs(options.timeout);
        note(context, &format!("asking agent `{agent}` to exit (Ctrl-C)"));
        // The session may end between the keys; only the first must get through.
        tmux.send_keys(&session, &["C-c"])?;
        let waiting = context.progress(&format!(
            "Waiting up to {}s for agent {agent} to exit",
            options.timeout
        ));
        std::thread::sleep(BETWEEN_INTERRUPTS);
        let _ = tmux.send_keys(&session, &["C-c"]);
        exited_when_asked = poll_until(timeout, POLL_STEP, || {
            !pane_running() && !tmux.has_session(&session).unwrap_or(false)
        });
        waiting.finish();
        if !exited_when_asked {
            note(
                context,
                &format!(
                    "agent `{agent}` did not exit within {}s; killing its session",
                    options.timeout
                ),
            );
        }
    }
    let ending = context.progress(&format!("Stopping agent {agent}"));
    if was_running {
        tmux.kill_session(&session)?;
    }
    let mut process_gone = poll_until(HANG_UP_GRACE, POLL_STEP, || !pane_running());
    if !process_gone && options.force {
        send_signal(pane_pid.unwrap_or_default(), Signal::SIGKILL);
        process_gone = poll_until(HANG_UP_GRACE, POLL_STEP, || !pane_running());
    }
    ending.finish();
    if !process_gone && !options.force {
        warn(
            context,
            &format!(
                "process {} of agent `{agent}` survived the end of its tmux session; end it \
                 with `mosaic fleet stop {agent} --force`",
                pane_pid.unwrap_or_default()
            ),
        );
    }
    let sidecar_ended = record
        .sidecar_pid()
        .is_some_and(|pid| sidecar::terminate(pid, agent));

    match record.metadata.as_mut() {
        Some(metadata) => {
            if metadata.stopped_at.is_none() {
                metadata.stopped_at = Some(now_unix());
                write_metadata(&record.files.metadata, metadata)
                    .with_context(|| format!("cannot mark agent `{agent}` stopped"))?;
            }
        }
        None => warn(
            context,
            &format!(
                "agent `{agent}` has no readable metadata ({}), so it cannot be marked \
                 stopped; `mosaic fleet prune` removes it once its heartbeat is dead",
                record.files.metadata.display()
            ),
        ),
    }
    Ok(StopReport {
        agent: agent.to_string(),
        was_running,
        exited_when_asked,
        process_gone,
        sidecar_ended,
    })
}
