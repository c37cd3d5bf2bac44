//! `mosaic fleet prune [--dry-run]`: remove the files of dead and stopped agents,
//! keeping a line for each in the pruned history (`fleet ps --all`).
//!
//! An agent whose tmux session still exists is left alone even when its heartbeat
//! is dead (its sidecar may have died while the runtime runs on): stop it first.
//! An agent launched with `--worktree` has its worktree and branch removed first,
//! and is kept when they hold work that would be lost (unless `--force`).
//!
//! The history is read and its new entries written, under its lock, before any file
//! is removed: a history that cannot be written stops the prune with every agent
//! as it was, and an agent whose files are gone is always in the history. A history
//! that is not valid JSON is moved aside with a warning and a new one begun.

use std::io::Write;

use mosaic_plugin_api::anyhow::{Context as _, Result};
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context};
use serde::{Deserialize, Serialize};

use super::{tmux_for, warn};
use crate::gateway::revoke_key;
use crate::history::{history_path, HistoryUpdate, PrunedAgent, SetAsideHistory};
use crate::process::now_unix;
use crate::record::AgentRecord;
use crate::settings::Settings;
use crate::sidecar;
use crate::status::Status;
use crate::worktree::{AgentWorktree, Git};

/// `mosaic fleet prune`.
pub struct Prune;

impl Command for Prune {
    type Options = PruneOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("prune", "Remove the files of dead and stopped agents")
            .long_about(
                "Remove the metadata, heartbeat and activity files of every dead or stopped \
                 agent from the fleet run directory, and note each one in the pruned \
                 history (`mosaic fleet ps --all`). An agent launched through the gateway \
                 has its gateway key revoked first (`mosaic gateway keys revoke`); one \
                 whose key cannot be revoked is kept. Agents whose tmux session still \
                 exists, or whose heartbeat cannot be read, are left alone and reported.\n\n\
                 An agent launched with --worktree has its worktree and branch removed \
                 too, but only when nothing would be lost: uncommitted changes, \
                 untracked files, or commits on its branch that no other branch holds \
                 keep the agent (and say what is there); --force removes them anyway.",
            )
            .arg(ArgSpec::flag("dry_run", "Only say what would be removed").short('n'))
            .arg(
                ArgSpec::flag(
                    "force",
                    "Also remove worktrees that hold unsaved work (it is lost)",
                )
                .short('f'),
            )
            .example("fleet prune", "Forget dead and stopped agents")
            .example("fleet prune --dry-run", "See what would be forgotten")
    }

    fn run(context: &Context<'_>, options: PruneOptions) -> Result<i32> {
        let report = prune(context, &options)?;
        if let Some(set_aside) = &report.history_set_aside {
            warn(
                context,
                &format!(
                    "{}; moved it to {} and started a new history",
                    set_aside.problem,
                    set_aside.moved_to.display()
                ),
            );
        }
        for skipped in &report.skipped {
            warn(
                context,
                &format!("kept agent `{}`: {}", skipped.agent, skipped.reason),
            );
        }
        if context.json() {
            context.print_json(&report)?;
        } else if report.pruned.is_empty() {
            writeln!(context.err(), "nothing to prune")?;
        } else {
            let verb = if report.dry_run {
                "would prune"
            } else {
                "pruned"
            };
            for agent in &report.pruned {
                writeln!(context.out(), "{verb} {agent}")?;
            }
            for worktree in &report.worktrees {
                writeln!(
                    context.out(),
                    "{} worktree {} and branch {}",
                    if report.dry_run {
                        "would remove"
                    } else {
                        "removed"
                    },
                    worktree.dir.display(),
                    worktree.branch
                )?;
            }
        }
        Ok(0)
    }
}

/// What the command needs (its arguments, by name).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PruneOptions {
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--force`: remove worktrees even when they hold unsaved work.
    #[serde(default)]
    pub force: bool,
}

/// An agent prune left alone, and why.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedAgent {
    /// The agent name.
    pub agent: String,
    /// Why it was kept.
    pub reason: String,
}

/// What prune did (or, with `--dry-run`, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// The agents removed.
    pub pruned: Vec<String>,
    /// The worktrees (and branches) of those agents removed with them.
    pub worktrees: Vec<AgentWorktree>,
    /// The dead or unreadable agents kept.
    pub skipped: Vec<SkippedAgent>,
    /// The invalid history file moved aside, if there was one.
    pub history_set_aside: Option<SetAsideHistory>,
}

/// Prunes the run directory.
pub fn prune(context: &Context<'_>, options: &PruneOptions) -> Result<PruneReport> {
    let thresholds = Settings::new(context).thresholds()?;
    let run_dir = context.fleet_run_dir();
    let now = now_unix();
    let mut report = PruneReport {
        dry_run: options.dry_run,
        ..PruneReport::default()
    };
    let mut prunable = Vec::new();
    for record in AgentRecord::load_all(&run_dir, now, thresholds)? {
        let agent = record.agent.clone();
        let skip = |reason: String| SkippedAgent {
            agent: agent.clone(),
            reason,
        };
        match record.status {
            Status::Dead | Status::Stopped => {}
            Status::Unknown => {
                report.skipped.push(skip(format!(
                    "its status cannot be told ({}); remove its files by hand once it is \
                     surely gone",
                    record.problems.join("; ")
                )));
                continue;
            }
            Status::Alive | Status::Stale | Status::Pruned => continue,
        }
        // Without tmux there can be no session left; otherwise ask its server.
        if let Ok(tmux) = tmux_for(context, &record) {
            let session = record.session();
            if tmux.has_session(&session)? {
                report.skipped.push(skip(format!(
                    "its heartbeat is {} but tmux session {session} still exists; stop it \
                     with `mosaic fleet stop {agent}`",
                    record.status
                )));
                continue;
            }
        }
        prunable.push(record);
    }
    remove_agents(context, prunable, options, &mut report)?;
    Ok(report)
}

/// Removes the agents in `prunable` (dead or stopped, without a tmux session):
/// their worktrees and branches (kept, with the agent, when they hold unsaved work
/// and not `--force`), their gateway keys, and their files, noting each in the
/// pruned history. Agents kept go to `report.skipped`, with the reason.
pub fn remove_agents(
    context: &Context<'_>,
    prunable: Vec<AgentRecord>,
    options: &PruneOptions,
    report: &mut PruneReport,
) -> Result<()> {
    let run_dir = context.fleet_run_dir();
    let now = now_unix();
    // Worktrees first, as the least reversible step: an agent whose worktree
    // cannot go stays, so its record still names the worktree.
    let mut git = None;
    let mut clear = Vec::new();
    for record in prunable {
        let Some(worktree) = worktree_of(&record) else {
            clear.push(record);
            continue;
        };
        match check_worktree(context, &mut git, &worktree, options.force) {
            Ok(()) => {
                report.worktrees.push(worktree);
                clear.push(record);
            }
            Err(reason) => report.skipped.push(SkippedAgent {
                agent: record.agent.clone(),
                reason,
            }),
        }
    }
    let prunable = clear;
    if options.dry_run || prunable.is_empty() {
        report.pruned = prunable.into_iter().map(|record| record.agent).collect();
        return Ok(());
    }
    let mut clear = Vec::new();
    for record in prunable {
        let Some(worktree) = worktree_of(&record) else {
            clear.push(record);
            continue;
        };
        let removed = match &git {
            Some(git) => worktree.remove(git, options.force),
            None => Err(mosaic_plugin_api::anyhow::anyhow!("git was not found")),
        };
        if let Err(error) = removed {
            report.worktrees.retain(|listed| listed != &worktree);
            report.skipped.push(SkippedAgent {
                agent: record.agent.clone(),
                reason: format!("{error:#}"),
            });
            continue;
        }
        clear.push(record);
    }
    let prunable = clear;
    // The gateway keys of the agents go first: an agent whose key could not be
    // revoked stays, so its record still names the key for the next try.
    let mut revoked = Vec::new();
    for record in prunable {
        let key = record
            .metadata
            .as_ref()
            .and_then(|metadata| metadata.gateway_key.clone());
        match key.map(|key| revoke_key(context, &key)) {
            Some(Err(error)) => report.skipped.push(SkippedAgent {
                agent: record.agent.clone(),
                reason: format!("{error:#}; prune again once it is revoked"),
            }),
            _ => revoked.push(record),
        }
    }
    let prunable = revoked;
    if prunable.is_empty() {
        return Ok(());
    }

    let not_pruned = "the pruned history cannot be updated, so nothing was pruned";
    let mut history = HistoryUpdate::open(&run_dir, now).context(not_pruned)?;
    report.history_set_aside = history.set_aside().cloned();
    history.add(prunable.iter().map(|record| history_entry(record, now)));
    history.save().context(not_pruned)?;
    let mut kept = Vec::new();
    for record in prunable {
        let agent = record.agent.clone();
        if let Some(pid) = record.sidecar_pid() {
            sidecar::terminate(pid, &agent);
        }
        match record.files.remove_all() {
            Ok(_) => report.pruned.push(agent),
            Err(error) => {
                history.retract(&agent);
                kept.push(SkippedAgent {
                    agent,
                    reason: format!("{error:#}"),
                });
            }
        }
    }
    if !kept.is_empty() {
        if let Err(error) = history.save() {
            for skipped in &mut kept {
                skipped.reason.push_str(&format!(
                    "; {} still lists it as pruned ({error:#})",
                    history_path(&run_dir).display()
                ));
            }
        }
        report.skipped.extend(kept);
    }
    Ok(())
}

/// The agent's worktree, from its metadata.
fn worktree_of(record: &AgentRecord) -> Option<AgentWorktree> {
    record
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.worktree.clone())
}

/// Whether the worktree may go: nothing unsaved in it, or `force`. The reason to
/// keep it otherwise. Finds `git` on first use.
fn check_worktree(
    context: &Context<'_>,
    git: &mut Option<Git>,
    worktree: &AgentWorktree,
    force: bool,
) -> std::result::Result<(), String> {
    if git.is_none() {
        *git = Some(Git::locate(context.env("PATH").as_deref()).map_err(|e| format!("{e:#}"))?);
    }
    let Some(git) = git.as_ref() else {
        return Err("git was not found".to_string());
    };
    if force {
        return Ok(());
    }
    let unsaved = worktree.unsaved_work(git).map_err(|e| format!("{e:#}"))?;
    if unsaved.is_empty() {
        return Ok(());
    }
    Err(format!(
        "its worktree {} holds {}; commit and merge (or push) what you want to keep, or \
         remove it anyway with --force",
        worktree.dir.display(),
        unsaved.describe(&worktree.branch)
    ))
}

/// The history entry of an agent pruned at `now`.
fn history_entry(record: &AgentRecord, now: u64) -> PrunedAgent {
    let metadata = record.metadata.as_ref();
    PrunedAgent {
        agent: record.agent.clone(),
        runtime: metadata.map(|metadata| metadata.runtime.clone()),
        command: metadata
            .map(|metadata| metadata.command.clone())
            .unwrap_or_default(),
        session: record.session(),
        pane_pid: record.pane_pid(),
        started_at: metadata.map(|metadata| metadata.started_at),
        last_beat_at: record.heartbeat.as_ref().map(|heartbeat| heartbeat.beat_at),
        final_status: record.status.to_string(),
        pruned_at: now,
    }
}
