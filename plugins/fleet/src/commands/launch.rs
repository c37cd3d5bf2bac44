//! `mosaic fleet launch <AGENT> [--runtime NAME] [--cwd DIR] [--detach]
//! [--worktree [--branch BRANCH] [--base REF]] [-- COMMAND ARGS…]`: start an agent
//! runtime in a detached tmux session (with `--worktree`, in a new git worktree on
//! a new branch), record it, and start its heartbeat sidecar.
//!
//! Every check that can fail runs before the worktree and the tmux session exist,
//! so a refused launch leaves no worktree, session or file behind. Once they
//! exist, a failure removes the session again, and the worktree and its branch
//! too unless the agent already put something in them. The sidecar alone is best-effort: if it
//! cannot start, the launch warns and the agent runs without a heartbeat.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mosaic_plugin_api::anyhow::{bail, Context as _, Result};
use mosaic_plugin_api::sdk::fs::{create_dir_all_with_mode, remove_stale_temp_files};
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context};
use serde::Deserialize;

use super::{note, tmux_example, warn};
use crate::agent::{session_name, validate_agent_name, write_metadata, AgentFiles, AgentMetadata};
use crate::gateway::{key_name, mint_key, revoke_key, routing, KeyHandoff, Routing, BASE_URL_ENV};
use crate::process::{now_unix, poll_until, process_running};
use crate::record::AgentRecord;
use crate::runtime::{check_program_exists, resolve_launch_command, RUNTIMES};
use crate::settings::Settings;
use crate::sidecar::{self, SidecarRequest};
use crate::tmux::{NewSession, PaneLookup, Tmux};
use crate::worktree::{AgentWorktree, Git, WorktreePlan, WorktreeRequest};

/// How many times tmux is asked for the pane pid before the launch gives up.
const PANE_PID_ATTEMPTS: u32 = 20;
/// The pause between those questions.
const PANE_PID_RETRY_DELAY: Duration = Duration::from_millis(50);
/// How long a new agent is watched for exiting at once (a command that cannot run).
const SETTLE_TIME: Duration = Duration::from_millis(500);
/// How long the launch waits for the sidecar's first beat.
const FIRST_BEAT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long launch waits for the sidecar of an agent that exited at once to end.
const SIDECAR_EXIT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long launch waits for the pane to take its gateway key.
const HANDOFF_TIMEOUT: Duration = Duration::from_secs(5);

/// `mosaic fleet launch`.
pub struct Launch;

impl Command for Launch {
    type Options = LaunchOptions;

    fn spec() -> CommandSpec {
        let runtimes: Vec<&str> = RUNTIMES.iter().map(|runtime| runtime.name).collect();
        CommandSpec::new(
            "launch",
            "Start an agent runtime in a detached tmux session",
        )
        .long_about(&format!(
            "Start an agent runtime in a detached tmux session `mosaic-<AGENT>` (with \
             MOSAIC_AGENT=<AGENT> in its environment), record it in the fleet run \
             directory, and start a heartbeat sidecar that rewrites <AGENT>.hb every \
             MOSAIC_HEARTBEAT_INTERVAL seconds (config fleet.heartbeat_interval, default \
             15) while the runtime's process lives.\n\n\
             Runtimes by name: {}. The default is MOSAIC_FLEET_RUNTIME, else config \
             fleet.default_runtime, else claude. Anything else runs after `--`: several \
             words run directly, a single word is a shell command line.\n\n\
             From a terminal, the launch then attaches to the session (or switches to it \
             inside tmux); with --detach, or without a terminal, it prints a summary.\n\n\
             A Claude Code agent (runtime claude) goes through the Mosaic gateway when \
             it is installed, answers /health and holds an Anthropic key: the launch \
             creates a gateway key `fleet-<AGENT>-<ms>` for the agent (revoking the \
             one of its previous run) and starts it with ANTHROPIC_BASE_URL pointing \
             at the gateway and the key in ANTHROPIC_AUTH_TOKEN (handed over through a \
             private file the pane reads and deletes, never through a command line). \
             Its usage then shows in `mosaic fleet ps` and `mosaic gateway usage`. \
             --no-gateway starts it without.\n\n\
             --worktree (from inside a git repository) starts the agent in a git \
             worktree of its own, on a new branch (--branch, default mosaic/<AGENT>) \
             from --base (default HEAD), at fleet.worktree_dir/<AGENT> (default \
             <repo>.worktrees/<AGENT>, next to the repository): agents then never \
             edit each other's files. `mosaic fleet diff <AGENT>` shows its changes; \
             `mosaic fleet rm <AGENT>` removes the worktree and branch once nothing \
             in them would be lost.\n\n\
             MOSAIC_TMUX_SOCKET selects the tmux server (a path for `tmux -S`, else a \
             name for `tmux -L`); HB_RUN_DIR moves the run directory.",
            runtimes.join(", ")
        ))
        .arg(
            ArgSpec::positional("agent", "The agent's name: letters, digits, `.`, `_`, `-`")
                .required(),
        )
        .arg(
            ArgSpec::option("runtime", "The runtime to run (claude, codex, opencode, …)")
                .short('r')
                .value_name("NAME"),
        )
        .arg(
            ArgSpec::option(
                "cwd",
                "The agent's working directory (default: the current one)",
            )
            .short('C')
            .value_name("DIR"),
        )
        .arg(ArgSpec::flag("detach", "Do not attach to the session, print a summary").short('d'))
        .arg(ArgSpec::flag(
            "no_gateway",
            "Do not route a Claude Code agent through the Mosaic gateway",
        ))
        .arg(
            ArgSpec::flag(
                "worktree",
                "Run the agent in a new git worktree on a branch of its own",
            )
            .short('w'),
        )
        .arg(
            ArgSpec::option(
                "branch",
                "With --worktree: the new branch (default mosaic/<AGENT>)",
            )
            .short('b')
            .value_name("BRANCH"),
        )
        .arg(
            ArgSpec::option(
                "base",
                "With --worktree: the commit the branch starts from (default HEAD)",
            )
            .value_name("REF"),
        )
        .arg(
            ArgSpec::positional("command", "Run this command instead of a runtime")
                .value_name("COMMAND")
                .trailing(),
        )
        .with_example(tmux_example(
            "fleet launch reviewer",
            "Start the default runtime as agent `reviewer`",
        ))
        .with_example(tmux_example(
            "fleet launch fixer --runtime codex --cwd ~/src/app --detach",
            "Start Codex in ~/src/app without attaching",
        ))
        .with_example(tmux_example(
            "fleet launch fixer --worktree --base main",
            "Start an agent in its own worktree, on branch mosaic/fixer from main",
        ))
        .with_example(tmux_example(
            "fleet launch worker -- python agent.py --queue jobs",
            "Run any program as an agent",
        ))
    }

    fn run(context: &Context<'_>, options: LaunchOptions) -> Result<i32> {
        let launched = launch(context, &options)?;
        let metadata = &launched.metadata;
        let interactive = context.stdin_is_tty() && context.stdout_is_tty();
        if interactive && !options.detach && !context.json() {
            note(
                context,
                &format!(
                    "attaching to agent `{}` (detach with C-b d)",
                    metadata.agent
                ),
            );
            return launched
                .tmux
                .attach(&metadata.session, context.env("TMUX").as_deref());
        }
        if context.json() {
            context.print_json(metadata)?;
            return Ok(0);
        }
        let agent = &metadata.agent;
        let mut out = context.out();
        writeln!(
            out,
            "launched agent {agent} (runtime {}, pid {}) in tmux session {}",
            metadata.runtime,
            metadata
                .pane_pid
                .map_or_else(|| "unknown".to_string(), |pid| pid.to_string()),
            metadata.session
        )?;
        if let (Some(url), Some(key)) = (&metadata.gateway_url, &metadata.gateway_key) {
            writeln!(out, "  gateway: {url} (key {key})")?;
        }
        if let Some(worktree) = &metadata.worktree {
            writeln!(
                out,
                "  worktree: {} (branch {} from {})",
                worktree.dir.display(),
                worktree.branch,
                crate::worktree::short(&worktree.base)
            )?;
            writeln!(out, "  diff:   mosaic fleet diff {agent}")?;
        }
        writeln!(out, "  attach: mosaic fleet attach {agent}")?;
        writeln!(out, "  output: mosaic fleet logs {agent}")?;
        writeln!(out, "  stop:   mosaic fleet stop {agent}")?;
        Ok(0)
    }
}

/// What the command needs (its arguments, by name).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LaunchOptions {
    /// The agent name.
    pub agent: String,
    /// `--runtime`.
    pub runtime: Option<String>,
    /// `--cwd`.
    pub cwd: Option<PathBuf>,
    /// `--detach`.
    pub detach: bool,
    /// `--no-gateway`.
    pub no_gateway: bool,
    /// `--worktree`.
    #[serde(default)]
    pub worktree: bool,
    /// `--branch` (with `--worktree`).
    #[serde(default)]
    pub branch: Option<String>,
    /// `--base` (with `--worktree`).
    #[serde(default)]
    pub base: Option<String>,
    /// The words after `--`.
    pub command: Vec<String>,
}

/// A launched agent.
#[derive(Debug, Clone)]
pub struct Launched {
    /// What was recorded about it.
    pub metadata: AgentMetadata,
    /// The tmux server it runs on.
    pub tmux: Tmux,
}

/// Launches the agent (without attaching to it).
pub fn launch(context: &Context<'_>, options: &LaunchOptions) -> Result<Launched> {
    let agent = options.agent.as_str();
    validate_agent_name(agent)?;
    if !options.worktree && (options.branch.is_some() || options.base.is_some()) {
        bail!("--branch and --base choose the worktree's branch: add --worktree");
    }
    let settings = Settings::new(context);
    let interval = settings.heartbeat_interval()?;
    let thresholds = settings.thresholds()?;
    let launch_command = resolve_launch_command(
        options.runtime.as_deref(),
        &settings.default_runtime()?,
        &options.command,
    )?;
    let cwd = resolve_cwd(options.cwd.as_deref())?;

    let run_dir = context.fleet_run_dir();
    ensure_writable(&run_dir)?;
    let existing = AgentRecord::load(&run_dir, agent, now_unix(), thresholds);
    if existing.status.may_be_running() {
        bail!(
            "agent `{agent}` is already running (status {}, pid {}, tmux session {}): attach \
             with `mosaic fleet attach {agent}`, or stop it first with `mosaic fleet stop \
             {agent}`",
            existing.status,
            existing
                .pane_pid()
                .map_or_else(|| "unknown".to_string(), |pid| pid.to_string()),
            existing.session()
        );
    }

    let tmux = Tmux::locate(context, Tmux::socket_from_env(context))?;
    let version = tmux.version()?;
    check_program_exists(&launch_command, &cwd, context.env("PATH").as_deref())?;
    let session = session_name(agent);
    if tmux.has_session(&session)? {
        bail!(
            "tmux session `{session}` already exists on {}, so agent `{agent}` (or an agent \
             whose name differs only in `.` versus `_`) still runs there: attach with \
             `mosaic fleet attach {agent}` or stop it with `mosaic fleet stop {agent}`",
            tmux.describe_server()
        );
    }
    let previous_worktree = existing
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.worktree.clone());
    let git = match previous_worktree {
        Some(previous) => Some(refuse_previous_worktree(context, agent, previous)?),
        None => None,
    };
    let mut checked = Checked {
        launch_command,
        existing,
        tmux,
        version,
        cwd,
        interval,
        run_dir,
        session,
        worktree: None,
    };
    let Some((git, plan)) = plan_worktree(context, options, &settings, &checked.cwd, git)? else {
        return start(context, options, checked);
    };
    checked.cwd = plan.create(&git)?;
    checked.worktree = Some(plan.worktree.clone());
    let run_dir = checked.run_dir.clone();
    start(context, options, checked).map_err(|error| {
        let error = undo_worktree(&git, &plan.worktree, &run_dir, agent, error);
        plan.remove_created_parent();
        error
    })
}

/// What the checks of a launch found, for [`start`].
struct Checked {
    launch_command: crate::runtime::LaunchCommand,
    existing: AgentRecord,
    tmux: Tmux,
    version: Option<crate::tmux::TmuxVersion>,
    cwd: PathBuf,
    interval: u64,
    run_dir: PathBuf,
    session: String,
    worktree: Option<AgentWorktree>,
}

/// Starts the agent's session, records it and starts its sidecar, once every
/// check has passed (and its worktree, if any, exists).
fn start(context: &Context<'_>, options: &LaunchOptions, checked: Checked) -> Result<Launched> {
    let agent = options.agent.as_str();
    let Checked {
        launch_command,
        existing,
        tmux,
        version,
        cwd,
        interval,
        run_dir,
        session,
        worktree,
    } = checked;

    let mut environment = vec![
        ("MOSAIC_AGENT".to_string(), agent.to_string()),
        // Hooks running inside the agent record its activity where `fleet ps` looks.
        (
            "HB_RUN_DIR".to_string(),
            run_dir.to_string_lossy().into_owned(),
        ),
    ];
    // Warnings wait for the progress to end rather than write under it.
    let mut warnings = Vec::new();
    let pending_question =
        crate::claude_setup::prepare(context, &launch_command, &cwd, agent, &mut warnings)?;
    let route = GatewayRoute::prepare(
        context,
        options,
        &launch_command.runtime,
        &existing,
        &run_dir,
        &mut warnings,
    )?;
    let pane_command = match &route {
        Some(route) => {
            environment.push((BASE_URL_ENV.to_string(), route.url.clone()));
            route.handoff.wrap(&launch_command.command)
        }
        None => launch_command.command.clone(),
    };
    // From here on the launch waits (the pane pid, the settle time, the first beat).
    let starting = context.progress(&format!("Starting agent {agent}"));
    let created = tmux.new_session(
        version,
        &NewSession {
            session: &session,
            cwd: &cwd,
            environment: &environment,
            command: &pane_command,
        },
    );
    if let Err(error) = created {
        GatewayRoute::abandon(route, context);
        return Err(error);
    }
    let pane_pid = match resolve_pane_pid(&tmux, &session) {
        Ok(pane_pid) => pane_pid,
        Err(error) => {
            let _ = tmux.kill_session(&session);
            GatewayRoute::abandon(route, context);
            return Err(error);
        }
    };

    let files = AgentFiles::new(&run_dir, agent);
    let mut metadata = AgentMetadata {
        agent: agent.to_string(),
        runtime: launch_command.runtime.clone(),
        command: launch_command.command.clone(),
        cwd: cwd.clone(),
        session: session.clone(),
        tmux_socket: tmux.socket().map(str::to_string),
        pane_pid,
        sidecar_pid: None,
        started_at: now_unix(),
        interval,
        stopped_at: None,
        gateway_key: route.as_ref().map(|route| route.key_name.clone()),
        gateway_url: route.as_ref().map(|route| route.url.clone()),
        worktree,
        pending_question,
    };
    // The previous run's heartbeat and activity (it was dead) must not speak for
    // this one.
    let recorded =
        remove_previous_run(&files).and_then(|()| write_metadata(&files.metadata, &metadata));
    if let Err(error) = recorded {
        let _ = tmux.kill_session(&session);
        GatewayRoute::abandon(route, context);
        return Err(error.context(format!(
            "cannot record agent `{agent}`; its tmux session was removed again"
        )));
    }
    let Some(pane_pid) = pane_pid else {
        bail!(exited_at_once(agent, &metadata));
    };

    match start_sidecar(context, agent, pane_pid, interval, &run_dir) {
        Ok(sidecar_pid) => {
            metadata.sidecar_pid = Some(sidecar_pid);
            if let Err(error) = write_metadata(&files.metadata, &metadata) {
                warnings.push(format!(
                    "cannot record the sidecar pid of agent `{agent}`: {error:#}"
                ));
            }
        }
        Err(error) => warnings.push(format!(
            "{error:#}; agent `{agent}` runs without a heartbeat, so `mosaic fleet ps` will \
             show it as dead"
        )),
    }

    let exited = poll_until(SETTLE_TIME, PANE_PID_RETRY_DELAY, || {
        !process_running(pane_pid)
    });
    if exited {
        forget_early_beat(agent, &metadata, &files);
    }
    let first_beat_missing = !exited
        && metadata.sidecar_pid.is_some()
        && !poll_until(FIRST_BEAT_TIMEOUT, Duration::from_millis(20), || {
            files.heartbeat.exists()
        });
    if let Some(route) = route {
        // The pane's wrapper deletes the key file first thing; a pane that has not
        // by now gets the file removed under it (and stops with a message).
        poll_until(HANDOFF_TIMEOUT, Duration::from_millis(20), || {
            !route.handoff.path().exists() || !process_running(pane_pid)
        });
        drop(route);
    }
    starting.finish();
    for warning in &warnings {
        warn(context, warning);
    }
    if exited {
        bail!(exited_at_once(agent, &metadata));
    }
    if first_beat_missing {
        warn(
            context,
            &format!(
                "the heartbeat sidecar of agent `{agent}` has not written {} yet",
                files.heartbeat.display()
            ),
        );
    }
    Ok(Launched { metadata, tmux })
}

/// With `--worktree`: `git` and the checked plan for the agent's worktree
/// (nothing is created yet).
fn plan_worktree(
    context: &Context<'_>,
    options: &LaunchOptions,
    settings: &Settings<'_, '_>,
    start: &Path,
    git: Option<Git>,
) -> Result<Option<(Git, WorktreePlan)>> {
    if !options.worktree {
        return Ok(None);
    }
    let git = match git {
        Some(git) => git,
        None => Git::locate(context.env("PATH").as_deref())?,
    };
    let worktree_dir = settings.worktree_dir()?;
    let home = context.env("HOME");
    let plan = WorktreePlan::check(
        &git,
        &WorktreeRequest {
            agent: &options.agent,
            start,
            branch: options.branch.as_deref(),
            base: options.base.as_deref(),
            worktree_dir: &worktree_dir,
            home: home.as_deref(),
        },
    )?;
    Ok(Some((git, plan)))
}

/// A new run would forget the worktree of the agent's previous run: refuse while
/// that worktree or its branch is still there.
fn refuse_previous_worktree(
    context: &Context<'_>,
    agent: &str,
    previous: AgentWorktree,
) -> Result<Git> {
    let git = Git::locate(context.env("PATH").as_deref())?;
    let branch_left = previous.dir.exists() || previous.branch_exists(&git).unwrap_or(false);
    if branch_left {
        bail!(
            "the previous run of agent `{agent}` left worktree {} (branch `{}`): remove it \
             with `mosaic fleet rm {agent}` (it refuses while unsaved work is there), or \
             launch under another name",
            previous.dir.display(),
            previous.branch
        );
    }
    Ok(git)
}

/// After a failed launch: removes the worktree and its branch again when the agent
/// left nothing in them (and takes it out of the agent's record), else keeps them
/// and says so. Returns the launch's error, with what happened to the worktree.
fn undo_worktree(
    git: &Git,
    worktree: &AgentWorktree,
    run_dir: &Path,
    agent: &str,
    error: mosaic_plugin_api::anyhow::Error,
) -> mosaic_plugin_api::anyhow::Error {
    let kept = match worktree.unsaved_work(git) {
        Ok(unsaved) if unsaved.is_empty() => match worktree.remove(git, false) {
            Ok(_) => None,
            Err(removal) => Some(format!("{removal:#}")),
        },
        Ok(unsaved) => Some(format!("it holds {}", unsaved.describe(&worktree.branch))),
        Err(looking) => Some(format!("{looking:#}")),
    };
    match kept {
        None => {
            let files = AgentFiles::new(run_dir, agent);
            if let Ok(Some(mut metadata)) = crate::agent::read_metadata(&files.metadata) {
                metadata.worktree = None;
                let _ = write_metadata(&files.metadata, &metadata);
            }
            error.context(format!(
                "its worktree {} and branch `{}` were removed again",
                worktree.dir.display(),
                worktree.branch
            ))
        }
        Some(reason) => error.context(format!(
            "its worktree {} (branch `{}`) was kept: {reason}; `mosaic fleet rm {agent}` \
             removes it",
            worktree.dir.display(),
            worktree.branch
        )),
    }
}

/// `--cwd` made absolute, or the current directory.
fn resolve_cwd(requested: Option<&Path>) -> Result<PathBuf> {
    let directory = match requested {
        Some(directory) => directory.to_path_buf(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let resolved = directory
        .canonicalize()
        .with_context(|| format!("--cwd {}: no such directory", directory.display()))?;
    if !resolved.is_dir() {
        bail!("--cwd {}: not a directory", directory.display());
    }
    Ok(resolved)
}

/// Creates the run directory if needed and proves it writable with a probe file.
fn ensure_writable(run_dir: &Path) -> Result<()> {
    let fix = "fix its permissions, or point HB_RUN_DIR at a writable directory";
    create_dir_all_with_mode(run_dir, 0o700)
        .with_context(|| format!("the fleet run directory cannot be created; {fix}"))?;
    let probe = run_dir.join(format!(".write-probe.{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .with_context(|| {
            format!(
                "the fleet run directory {} is not writable; {fix}",
                run_dir.display()
            )
        })?;
    std::fs::remove_file(&probe).with_context(|| format!("cannot remove {}", probe.display()))?;
    // Probes of launches killed between creating and removing theirs.
    remove_stale_temp_files(run_dir, ".write-probe.");
    Ok(())
}

/// Asks tmux for the pane pid until it answers, a bounded number of times. `None`
/// when the session is already gone (its command ended at once).
fn resolve_pane_pid(tmux: &Tmux, session: &str) -> Result<Option<u32>> {
    for attempt in 1..=PANE_PID_ATTEMPTS {
        match tmux.pane_pid(session)? {
            PaneLookup::Found(pid) => return Ok(Some(pid)),
            PaneLookup::SessionGone => return Ok(None),
            PaneLookup::NotYet if attempt < PANE_PID_ATTEMPTS => {
                std::thread::sleep(PANE_PID_RETRY_DELAY)
            }
            PaneLookup::NotYet => {}
        }
    }
    bail!(
        "tmux did not report the pane pid of session `{session}` after {PANE_PID_ATTEMPTS} \
         tries; the session was removed (see `tmux list-panes -t ={session}` on {})",
        tmux.describe_server()
    )
}

/// Removes the heartbeat and activity a previous (dead) run of the agent left.
fn remove_previous_run(files: &AgentFiles) -> Result<()> {
    for path in [&files.heartbeat, &files.activity] {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(error).with_context(|| format!("cannot remove {}", path.display()))
            }
        }
    }
    Ok(())
}

fn start_sidecar(
    context: &Context<'_>,
    agent: &str,
    pane_pid: u32,
    interval: u64,
    run_dir: &Path,
) -> Result<u32> {
    let path = context.env("PATH");
    let Some(bash) = sidecar::find_bash(path.as_deref()) else {
        bail!("cannot start the heartbeat sidecar: no `bash` on PATH");
    };
    sidecar::spawn(
        &bash,
        &SidecarRequest {
            agent,
            pane_pid,
            interval,
            run_dir,
            path: path.as_deref(),
        },
    )
}

/// The sidecar may have written a first beat before the agent's process ended; that
/// beat would make `fleet ps` call the agent alive for two intervals, against what
/// launch just reported. End the sidecar (bounded wait) and remove the beat.
fn forget_early_beat(agent: &str, metadata: &AgentMetadata, files: &AgentFiles) {
    if let Some(sidecar_pid) = metadata.sidecar_pid {
        sidecar::terminate(sidecar_pid, agent);
        poll_until(SIDECAR_EXIT_TIMEOUT, PANE_PID_RETRY_DELAY, || {
            !process_running(sidecar_pid)
        });
    }
    let _ = std::fs::remove_file(&files.heartbeat);
}

fn exited_at_once(agent: &str, metadata: &AgentMetadata) -> String {
    format!(
        "agent `{agent}` exited at once: its command `{}` ended right after starting in tmux \
         session {}; run it by hand in {} to see why. `mosaic fleet ps` lists the agent as \
         dead until `mosaic fleet prune` removes it",
        metadata.command.join(" "),
        metadata.session,
        metadata.cwd.display()
    )
}

/// The runtime whose agents go through the gateway.
const GATEWAY_RUNTIME: &str = "claude";

/// An agent on its way through the gateway: its minted key (by name), the base
/// URL, and the key's hand-off file.
struct GatewayRoute {
    key_name: String,
    url: String,
    handoff: KeyHandoff,
}

impl GatewayRoute {
    /// Revokes the key of the agent's previous run, and, when the agent is Claude
    /// Code, not `--no-gateway`, and the gateway can take it, mints its key and
    /// writes the hand-off file. A gateway that is installed but cannot take the
    /// agent is a warning; a key that cannot be minted is an error.
    fn prepare(
        context: &Context<'_>,
        options: &LaunchOptions,
        runtime: &str,
        existing: &AgentRecord,
        run_dir: &Path,
        warnings: &mut Vec<String>,
    ) -> Result<Option<GatewayRoute>> {
        let agent = options.agent.as_str();
        if let Some(old_key) = existing
            .metadata
            .as_ref()
            .and_then(|metadata| metadata.gateway_key.as_deref())
        {
            if let Err(error) = revoke_key(context, old_key) {
                warnings.push(format!(
                    "the gateway key `{old_key}` of the previous run of agent `{agent}` is \
                     still valid: {error:#}"
                ));
            }
        }
        if options.no_gateway || runtime != GATEWAY_RUNTIME {
            return Ok(None);
        }
        let gateway = match routing(context)? {
            Routing::Gateway(gateway) => gateway,
            Routing::Direct(reason) => {
                warnings.extend(reason);
                return Ok(None);
            }
        };
        let started_at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis())
            .unwrap_or(0);
        let key = mint_key(context, &key_name(agent, started_at_ms), agent)?;
        let handoff = match KeyHandoff::write(run_dir, &key) {
            Ok(handoff) => handoff,
            Err(error) => {
                let _ = revoke_key(context, &key.name);
                return Err(error.context(format!(
                    "cannot hand gateway key `{}` to agent `{agent}`; the key was revoked",
                    key.name
                )));
            }
        };
        Ok(Some(GatewayRoute {
            key_name: key.name.clone(),
            url: gateway.base_url(),
            handoff,
        }))
    }

    /// Undoes a route whose agent did not start: revokes its key (best effort) and
    /// removes the hand-off file.
    fn abandon(route: Option<GatewayRoute>, context: &Context<'_>) {
        if let Some(route) = route {
            let _ = revoke_key(context, &route.key_name);
        }
    }
}
