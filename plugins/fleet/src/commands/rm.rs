//! `mosaic fleet rm <AGENT> [--force]`: forget one stopped or dead agent — its
//! worktree and branch (only when nothing in them would be lost, unless
//! `--force`), its gateway key and its files — as `fleet prune` does for all.

use std::io::Write;

use mosaic_plugin_api::anyhow::{bail, Result};
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context};
use serde::Deserialize;

use super::prune::{remove_agents, PruneOptions, PruneReport};
use super::{load_agent, tmux_example, tmux_for};
use crate::status::Status;

/// `mosaic fleet rm`.
pub struct Rm;

impl Command for Rm {
    type Options = RmOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("rm", "Remove a stopped agent, with its worktree and branch")
            .long_about(
                "Remove one stopped or dead agent: its worktree and branch when it was \
             launched with --worktree, its gateway key, and its files in the fleet run \
             directory (it stays in `mosaic fleet ps --all`, like pruned agents).\n\n\
             Nothing is lost by accident: a worktree with uncommitted changes or \
             untracked files, or a branch with commits that no other branch (local or \
             remote-tracking) holds, makes rm refuse and say what is there. Merge, \
             push or commit what you want to keep, or pass --force to remove it \
             anyway. A running agent is refused: stop it first with `mosaic fleet \
             stop`.",
            )
            .arg(ArgSpec::positional("agent", "The agent to remove").required())
            .arg(
                ArgSpec::flag(
                    "force",
                    "Remove its worktree and branch even with unsaved work (it is lost)",
                )
                .short('f'),
            )
            .arg(ArgSpec::flag("dry_run", "Only say what would be removed").short('n'))
            .with_example(tmux_example(
                "fleet rm reviewer",
                "Remove stopped agent `reviewer` and its worktree",
            ))
    }

    fn run(context: &Context<'_>, options: RmOptions) -> Result<i32> {
        let report = remove(context, &options)?;
        if context.json() {
            context.print_json(&report)?;
            return Ok(0);
        }
        let mut out = context.out();
        let verb = if report.dry_run {
            "would remove"
        } else {
            "removed"
        };
        for worktree in &report.worktrees {
            writeln!(
                out,
                "{verb} worktree {} and branch {}",
                worktree.dir.display(),
                worktree.branch
            )?;
        }
        writeln!(out, "{verb} agent {}", options.agent)?;
        Ok(0)
    }
}

/// What the command needs (its arguments, by name).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RmOptions {
    /// The agent name.
    pub agent: String,
    /// `--force`.
    pub force: bool,
    /// `--dry-run`.
    pub dry_run: bool,
}

/// Removes the agent; an error saying why when it is kept.
pub fn remove(context: &Context<'_>, options: &RmOptions) -> Result<PruneReport> {
    let agent = options.agent.as_str();
    let record = load_agent(context, agent)?;
    match record.status {
        Status::Dead | Status::Stopped => {}
        Status::Alive | Status::Stale => bail!(
            "agent `{agent}` is running (status {}): stop it first with `mosaic fleet stop \
             {agent}`, then `mosaic fleet rm {agent}`",
            record.status
        ),
        Status::Unknown | Status::Pruned => bail!(
            "the status of agent `{agent}` cannot be told ({}); remove its files by hand \
             once it is surely gone",
            record.problems.join("; ")
        ),
    }
    if let Ok(tmux) = tmux_for(context, &record) {
        let session = record.session();
        if tmux.has_session(&session)? {
            bail!(
                "agent `{agent}` has a {} heartbeat but its tmux session {session} still \
                 exists: stop it with `mosaic fleet stop {agent}` first",
                record.status
            );
        }
    }
    let mut report = PruneReport {
        dry_run: options.dry_run,
        ..PruneReport::default()
    };
    remove_agents(
        context,
        vec![record],
        &PruneOptions {
            dry_run: options.dry_run,
            force: options.force,
        },
        &mut report,
    )?;
    if let Some(set_aside) = &report.history_set_aside {
        super::warn(
            context,
            &format!(
                "{}; moved it to {} and started a new history",
                set_aside.problem,
                set_aside.moved_to.display()
            ),
        );
    }
    if let Some(skipped) = report.skipped.first() {
        bail!("kept agent `{agent}`: {}", skipped.reason);
    }
    Ok(report)
}
