//! `mosaic fleet diff <AGENT> [--stat]`: what an agent launched with `--worktree`
//! changed against its base commit: the commits on its branch, its uncommitted
//! changes and its untracked files (shown as added), as git prints them.

use std::io::Write;

use mosaic_plugin_api::anyhow::{bail, Result};
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context, Example};
use serde::Deserialize;

use super::load_agent;
use crate::worktree::{short, Git};

/// `mosaic fleet diff`.
pub struct Diff;

impl Command for Diff {
    type Options = DiffOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "diff",
            "Show an agent's changes in its worktree against its base",
        )
        .long_about(
            "Show what an agent launched with `mosaic fleet launch NAME --worktree` \
             changed since the commit its branch started from: the commits on its \
             branch, its uncommitted changes, and its untracked files (as added files; \
             ignored files are left out), as one `git diff` against that base. The \
             worktree's own index is not touched. --stat prints git's summary instead \
             of the patch. Works whether the agent runs or not.",
        )
        .arg(ArgSpec::positional("agent", "The agent whose changes to show").required())
        .arg(ArgSpec::flag(
            "stat",
            "Only the files changed and how much (`git diff --stat`)",
        ))
        .with_example(
            Example::new("fleet diff reviewer", "The patch of agent `reviewer`")
                .expect_exit_code(1),
        )
        .with_example(
            Example::new("fleet diff reviewer --stat", "Which files it changed")
                .expect_exit_code(1),
        )
    }

    fn run(context: &Context<'_>, options: DiffOptions) -> Result<i32> {
        let patch = diff(context, &options)?;
        context.out().write_all(&patch)?;
        Ok(0)
    }
}

/// What the command needs (its arguments, by name).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DiffOptions {
    /// The agent name.
    pub agent: String,
    /// `--stat`.
    pub stat: bool,
}

/// The agent's diff against its base, as git prints it.
pub fn diff(context: &Context<'_>, options: &DiffOptions) -> Result<Vec<u8>> {
    let agent = options.agent.as_str();
    let record = load_agent(context, agent)?;
    let Some(worktree) = record
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.worktree.clone())
    else {
        let cwd = record
            .metadata
            .as_ref()
            .map(|metadata| metadata.cwd.display().to_string())
            .unwrap_or_else(|| "its directory".to_string());
        bail!(
            "agent `{agent}` has no worktree of its own (it was launched without \
             --worktree), so there is no base to compare with; look with `git -C {cwd} \
             diff`, or launch agents with `mosaic fleet launch NAME --worktree`"
        );
    };
    let git = Git::locate(context.env("PATH").as_deref())?;
    let patch = worktree.diff(&git, options.stat)?;
    if patch.is_empty() && context.verbosity() >= 0 && !context.json() {
        writeln!(
            context.err(),
            "agent `{agent}` has no changes against {} (branch {})",
            short(&worktree.base),
            worktree.branch
        )?;
    }
    Ok(patch)
}
