//! `mosaic fleet`: run agent runtimes (Claude Code, Codex, OpenCode, or any command)
//! in detached tmux sessions and watch them through heartbeats.
//!
//! `fleet launch` starts the runtime in a tmux session, records it in the fleet run
//! directory and starts a detached heartbeat sidecar ([`sidecar`]) that rewrites
//! `<run>/<AGENT>.hb` every interval while the pane's process lives. `fleet ps`
//! reads only those files ([`record`], [`status`]): alive while the beats are
//! fresh, then stale, then dead. `stop`, `attach`, `logs` and `prune` manage the
//! agents; each command is a module of [`commands`], listed once in its table.
//!
//! Not here: the activity records shown by `fleet ps` are written by the hooks
//! plugin through `mosaic_plugin_api::sdk::activity`.

pub mod agent;
pub mod claude_setup;
pub mod commands;
pub mod gateway;
pub mod history;
pub mod process;
pub mod record;
pub mod runtime;
pub mod settings;
pub mod sidecar;
pub mod state;
pub mod status;
pub mod tmux;
pub mod worktree;

use mosaic_plugin_api::{Commands, Manifest, Plugin};

/// The fleet plugin. The SDK creates one per call with `Default`.
#[derive(Default)]
pub struct Fleet;

impl Plugin for Fleet {
    fn manifest(&self) -> Manifest {
        let manifest = Manifest::new("fleet", env!("CARGO_PKG_VERSION"))
            .description(
                "Run agent runtimes in tmux with heartbeats, worktrees and live state: launch, \
                 ps, watch, send, diff, stop, rm",
            )
            .host_requirement(">=0.2.0, <0.3.0");
        settings::config_keys()
            .into_iter()
            .fold(manifest, Manifest::config_key)
    }

    fn commands(&self) -> Commands {
        commands::table()
    }
}

mosaic_plugin_api::export_plugin!(Fleet);
