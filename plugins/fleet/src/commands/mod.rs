//! One module per `mosaic fleet` subcommand, each with its `spec()` and a short
//! `run()` that builds an options struct and calls a plain function; plus the few
//! helpers they share (finding an agent, its tmux server, printing warnings).

pub mod attach;
pub mod launch;
pub mod logs;
pub mod prune;
pub mod ps;
pub mod stop;

use std::io::Write;

use mosaic_plugin_api::anyhow::{bail, Result};
use mosaic_plugin_api::{CommandSpec, Context, Example, Invocation};

use crate::agent::validate_agent_name;
use crate::process::now_unix;
use crate::record::AgentRecord;
use crate::settings::Settings;
use crate::tmux::{self, Tmux};

/// `mosaic fleet` and its subcommands.
pub fn spec() -> CommandSpec {
    let mut spec = CommandSpec::new(
        "fleet",
        "Run agent runtimes in tmux and watch their heartbeats",
    )
    .long_about(&format!(
        "Run coding agents (Claude Code, Codex, OpenCode, or any command) in detached \
             tmux sessions, each with a heartbeat sidecar, and see which are alive, stale \
             or dead.\n\n\
             Files: the fleet run directory (HB_RUN_DIR, default \
             ~/.config/mosaic/fleet/run) holds <AGENT>.meta.json, <AGENT>.hb and the hooks \
             plugin's <AGENT>.activity.json.\n\
             Environment: MOSAIC_HEARTBEAT_INTERVAL (seconds, default 15), HB_RUN_DIR, \
             {} (tmux server: a socket path, or a name for `tmux -L`).",
        tmux::SOCKET_ENV
    ))
    .subcommand(launch::spec())
    .subcommand(ps::spec())
    .subcommand(stop::spec())
    .subcommand(attach::spec())
    .subcommand(logs::spec())
    .subcommand(prune::spec());
    spec.examples = vec![
        tmux_example("fleet launch reviewer --runtime claude", "Start an agent"),
        Example {
            command: "fleet ps".into(),
            description: "See how the agents are doing".into(),
            ..Example::default()
        },
    ];
    spec
}

/// An example that needs tmux (and, but for `launch`, a running agent). The
/// in-process test harness runs examples without either, so it expects such an
/// example to fail there (exit 1); the plugin's tests check that it fails for that
/// reason and no other.
fn tmux_example(command: &str, description: &str) -> Example {
    Example {
        command: command.to_string(),
        description: description.to_string(),
        expect_exit_code: 1,
        expect_stdout_contains: None,
    }
}

/// Runs `fleet <subcommand>`.
pub fn run(context: &Context<'_>, invocation: &Invocation) -> Result<i32> {
    let words: Vec<&str> = invocation.command.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["fleet", "launch"] => launch::run(context, invocation),
        ["fleet", "ps"] => ps::run(context, invocation),
        ["fleet", "stop"] => stop::run(context, invocation),
        ["fleet", "attach"] => attach::run(context, invocation),
        ["fleet", "logs"] => logs::run(context, invocation),
        ["fleet", "prune"] => prune::run(context, invocation),
        other => bail!("unknown command `{}`", other.join(" ")),
    }
}

/// The record of an existing agent, or an error naming the run directory.
fn load_agent(context: &Context<'_>, agent: &str) -> Result<AgentRecord> {
    validate_agent_name(agent)?;
    let thresholds = Settings::load(context)?.thresholds()?;
    let run_dir = context.fleet_run_dir();
    let record = AgentRecord::load(&run_dir, agent, now_unix(), thresholds);
    if !record.exists() {
        bail!(
            "no agent named `{agent}` in {} (see `mosaic fleet ps`)",
            run_dir.display()
        );
    }
    Ok(record)
}

/// The tmux server and session of an agent whose session exists; an error saying
/// it is not running otherwise.
fn running_agent(context: &Context<'_>, agent: &str) -> Result<(Tmux, String)> {
    let record = load_agent(context, agent)?;
    let tmux = tmux_for(context, &record)?;
    let session = record.session();
    if !tmux.has_session(&session)? {
        bail!(
            "agent `{agent}` is not running: its tmux session {session} is gone from {} \
             (status {} in `mosaic fleet ps`)",
            tmux.describe_server(),
            record.status
        );
    }
    Ok((tmux, session))
}

/// tmux, talking to the server the agent was launched on (else the one
/// `MOSAIC_TMUX_SOCKET` selects now).
fn tmux_for(context: &Context<'_>, record: &AgentRecord) -> Result<Tmux> {
    let socket = record
        .tmux_socket()
        .or_else(|| Tmux::socket_from_env(context));
    Tmux::locate(context, socket)
}

/// Prints `warning: …` on stderr, unless `-q`.
fn warn(context: &Context<'_>, message: &str) {
    if context.verbosity() >= 0 {
        let _ = writeln!(context.err(), "warning: {message}");
    }
}

/// Prints a progress line on stderr, unless `-q`.
fn progress(context: &Context<'_>, message: &str) {
    if context.verbosity() >= 0 {
        let _ = writeln!(context.err(), "{message}");
    }
}
