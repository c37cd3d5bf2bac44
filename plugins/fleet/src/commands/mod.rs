//! One module per `mosaic fleet` subcommand, each a [`Command`] type whose `run`
//! receives the typed options and calls a plain function; the command table that
//! lists them once; and the few helpers they share (finding an agent, its tmux
//! server, printing warnings and notes).

pub mod attach;
pub mod diff;
pub mod launch;
pub mod logs;
pub mod prune;
pub mod ps;
pub mod rm;
pub mod send;
pub mod status_line;
pub mod stop;
pub mod watch;

use std::io::Write;

use mosaic_plugin_api::anyhow::{bail, Result};
use mosaic_plugin_api::{CommandSpec, Commands, Context, Example};

use crate::agent::validate_agent_name;
use crate::process::now_unix;
use crate::record::AgentRecord;
use crate::settings::Settings;
use crate::tmux::{self, Tmux};

/// Every command of the plugin: the `fleet` group and its subcommands, each listed
/// once (the manifest and the dispatch both come from this table).
pub fn table() -> Commands {
    Commands::new().group(
        group_spec(),
        Commands::new()
            .command::<launch::Launch>()
            .command::<ps::Ps>()
            .command::<stop::Stop>()
            .command::<attach::Attach>()
            .command::<logs::Logs>()
            .command::<prune::Prune>()
            .command::<rm::Rm>()
            .command::<diff::Diff>()
            .command::<send::Send>()
            .command::<watch::Watch>()
            .command::<status_line::StatusLine>(),
    )
}

/// `mosaic fleet` itself: the help and examples of the group (its subcommands come
/// from [`table`]).
fn group_spec() -> CommandSpec {
    CommandSpec::new(
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
    .with_example(tmux_example(
        "fleet launch reviewer --runtime claude",
        "Start an agent",
    ))
    .example("fleet ps", "See how the agents are doing")
}

/// An example that needs tmux (and, but for `launch`, a running agent). The
/// in-process test harness runs examples without either, so it expects such an
/// example to fail there (exit 1); the plugin's tests check that it fails for that
/// reason and no other.
fn tmux_example(command: &str, description: &str) -> Example {
    Example::new(command, description).expect_exit_code(1)
}

/// The record of an existing agent, or an error naming the run directory.
fn load_agent(context: &Context<'_>, agent: &str) -> Result<AgentRecord> {
    validate_agent_name(agent)?;
    let thresholds = Settings::new(context).thresholds()?;
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

/// Prints a line saying what the command does on stderr, unless `-q` (waits get a
/// `context.progress` spinner instead).
fn note(context: &Context<'_>, message: &str) {
    if context.verbosity() >= 0 {
        let _ = writeln!(context.err(), "{message}");
    }
}
