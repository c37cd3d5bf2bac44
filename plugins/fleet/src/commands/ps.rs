//! `mosaic fleet ps [--all]`: list the agents with their status, from the files in
//! the run directory alone (no tmux call, so it stays fast with many agents).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::sdk::activity::{AgentActivity, AgentState};
use mosaic_plugin_api::sdk::output::{format_age, format_duration, Table};
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context, Example};
use serde::{Deserialize, Serialize};

use super::{note, warn};
use crate::gateway::{format_cost, usage_today, AgentUsage, UsageToday, PS_USAGE_BUDGET};
use crate::history::read_history;
use crate::process::{now_unix, process_running};
use crate::record::AgentRecord;
use crate::settings::Settings;
use crate::state::{record_state, AgentStateInfo};
use crate::status::Status;

/// `mosaic fleet ps`.
pub struct Ps;

impl Command for Ps {
    type Options = PsOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("ps", "List agents and whether they are alive")
            .long_about(
                "List the agents in the fleet run directory. STATUS comes from the age of \
                 the last heartbeat: alive up to fleet.stale_after_intervals intervals \
                 (default 2), stale up to fleet.dead_after_intervals (default 4), dead after \
                 that or when no heartbeat ever appeared; stopped after `fleet stop`. \
                 ACTIVITY is the hooks plugin's record of the agent's last tool, or how long \
                 it has been idle.\n\n\
                 STATE comes from Claude Code's hook events (with Mosaic's hooks installed: \
                 `mosaic config hooks install`): working (a prompt was submitted or a tool \
                 runs), waiting (Claude Code asks for a permission or an answer; ACTIVITY \
                 then shows its message) or idle (it stopped and waits for the next \
                 prompt), with how long; `-` for agents that are not running or send no \
                 hook events. --state lists only the agents in one state.\n\n\
                 When the Mosaic gateway is installed and answers within 100 ms, TOKENS \
                 TODAY and COST TODAY show what each agent used through it since 00:00 UTC \
                 (`mosaic gateway usage --by agent --since today`); ps never waits longer, \
                 and leaves the columns out when it does not answer in time (or with \
                 --no-usage).\n\n\
                 Dead agents stay listed until `mosaic fleet prune`; --all also lists pruned \
                 ones. With --json, one document with every field, including whether the \
                 pane's process still exists.",
            )
            .arg(ArgSpec::flag("all", "Also list pruned agents").short('a'))
            .arg(
                ArgSpec::flag(
                    "long",
                    "Also show each agent's directory (its worktree with --worktree)",
                )
                .short('l'),
            )
            .arg(ArgSpec::flag(
                "no_usage",
                "Do not ask the gateway for today's usage (the gateway itself uses this)",
            ))
            .arg(
                ArgSpec::option("state", "Only agents in this state")
                    .value_name("STATE")
                    .possible_values(&["working", "waiting", "idle"]),
            )
            .example("fleet ps", "The agents and their status")
            .example("fleet ps --state waiting", "The agents waiting for you")
            .with_example(
                Example::new(
                    "fleet ps --all --json",
                    "Everything, pruned agents included, as JSON",
                )
                .expect_stdout_contains("\"agents\""),
            )
    }

    fn run(context: &Context<'_>, options: PsOptions) -> Result<i32> {
        let report = list_agents(context, &options)?;
        for problem in &report.problems {
            warn(context, problem);
        }
        if let Some(reason) = &report.gateway_usage.reason {
            if context.verbosity() >= 1 {
                note(context, &format!("no gateway usage: {reason}"));
            }
        }
        for row in &report.agents {
            for problem in &row.problems {
                warn(context, &format!("agent `{}`: {problem}", row.agent));
            }
        }
        if context.json() {
            context.print_json(&report)?;
        } else if report.agents.is_empty() {
            writeln!(
                context.err(),
                "no agents in {} (start one with `mosaic fleet launch NAME`)",
                report.run_dir.display()
            )?;
        } else {
            write!(context.out(), "{}", render_table(&report, options.long))?;
        }
        Ok(0)
    }
}

/// What the command needs (its arguments, by name).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PsOptions {
    /// `--all`: include pruned agents.
    pub all: bool,
    /// `--long`: a DIR column.
    #[serde(default)]
    pub long: bool,
    /// `--state`: only agents in this state (`working`, `waiting`, `idle`).
    pub state: Option<String>,
    /// `--no-usage`: skip asking the gateway (the gateway's dashboard runs `ps`
    /// and has the usage itself; asking it back would wait on its own request).
    #[serde(default)]
    pub no_usage: bool,
}

/// One row of `fleet ps` (and one object of its `--json` output).
#[derive(Debug, Clone, Serialize)]
pub struct AgentRow {
    /// The agent name.
    pub agent: String,
    /// The runtime label, when known.
    pub runtime: Option<String>,
    /// The command run in its pane.
    pub command: Vec<String>,
    /// Its working directory.
    pub cwd: Option<PathBuf>,
    /// The branch of its worktree, when launched with `--worktree`.
    pub branch: Option<String>,
    /// Its worktree (repository, directory, branch, base commit), when launched
    /// with `--worktree`.
    pub worktree: Option<crate::worktree::AgentWorktree>,
    /// Its tmux session.
    pub session: String,
    /// The pane process's pid.
    pub pid: Option<u32>,
    /// Whether that process exists now.
    pub pid_exists: bool,
    /// alive, stale, dead, stopped, unknown or pruned.
    pub status: Status,
    /// working, waiting or idle, while it may be running and its runtime sends hook
    /// events.
    pub state: Option<AgentState>,
    /// When it entered that state (Unix seconds).
    pub state_since: Option<u64>,
    /// How long it has been in that state, in seconds.
    pub state_seconds: Option<u64>,
    /// What it waits for, when waiting.
    pub state_message: Option<String>,
    /// The heartbeat interval in seconds.
    pub interval: Option<u64>,
    /// The last heartbeat (Unix seconds).
    pub last_beat_at: Option<u64>,
    /// Its age in seconds.
    pub last_beat_age_seconds: Option<u64>,
    /// When the agent was launched (Unix seconds).
    pub started_at: Option<u64>,
    /// Seconds since launch, while it may be running.
    pub uptime_seconds: Option<u64>,
    /// When `fleet stop` stopped it (Unix seconds).
    pub stopped_at: Option<u64>,
    /// When `fleet prune` removed it (Unix seconds; pruned rows only).
    pub pruned_at: Option<u64>,
    /// The hooks plugin's activity record.
    pub activity: Option<AgentActivity>,
    /// The name of its gateway key, when launched through the gateway.
    pub gateway_key: Option<String>,
    /// What it used through the gateway today (UTC), when the gateway answered in
    /// time and the agent has a key or usage.
    pub usage_today: Option<AgentUsage>,
    /// Files that could not be read.
    pub problems: Vec<String>,
}

/// Whether `fleet ps` got today's usage from the gateway.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayUsageStatus {
    /// `ok`, `not_installed` or `unavailable`.
    pub status: &'static str,
    /// Why not, when unavailable.
    pub reason: Option<String>,
}

/// The whole `--json` document.
#[derive(Debug, Clone, Serialize)]
pub struct PsReport {
    /// When the report was made (Unix seconds).
    pub now: u64,
    /// The run directory read.
    pub run_dir: PathBuf,
    /// One entry per agent, sorted by name; pruned ones last with `--all`.
    pub agents: Vec<AgentRow>,
    /// Files of the run directory (not of one agent) that could not be read: with
    /// `--all`, an invalid pruned history.
    pub problems: Vec<String>,
    /// Whether the usage columns could be filled.
    pub gateway_usage: GatewayUsageStatus,
}

/// Reads every agent (and with `all`, the pruned history).
pub fn list_agents(context: &Context<'_>, options: &PsOptions) -> Result<PsReport> {
    let thresholds = Settings::new(context).thresholds()?;
    let run_dir = context.fleet_run_dir();
    let now = now_unix();
    let mut agents: Vec<AgentRow> = AgentRecord::load_all(&run_dir, now, thresholds)?
        .into_iter()
        .map(|record| row_from_record(record, now))
        .collect();
    let mut problems = Vec::new();
    let history = if options.all {
        read_history(&run_dir).unwrap_or_else(|error| {
            problems.push(format!(
                "{error:#}; until then pruned agents are not listed"
            ));
            Vec::new()
        })
    } else {
        Vec::new()
    };
    agents.extend(history.into_iter().map(|pruned| AgentRow {
        agent: pruned.agent,
        runtime: pruned.runtime,
        command: pruned.command,
        cwd: None,
        branch: None,
        worktree: None,
        session: pruned.session,
        pid: pruned.pane_pid,
        pid_exists: false,
        status: Status::Pruned,
        state: None,
        state_since: None,
        state_seconds: None,
        state_message: None,
        interval: None,
        last_beat_at: pruned.last_beat_at,
        last_beat_age_seconds: pruned.last_beat_at.map(|at| now.saturating_sub(at)),
        started_at: pruned.started_at,
        uptime_seconds: None,
        stopped_at: None,
        pruned_at: Some(pruned.pruned_at),
        activity: None,
        gateway_key: None,
        usage_today: None,
        problems: Vec::new(),
    }));
    if let Some(wanted) = options.state.as_deref() {
        let wanted = AgentState::parse(wanted).ok_or_else(|| {
            mosaic_plugin_api::anyhow::anyhow!(
                "unknown state `{wanted}`: use working, waiting or idle"
            )
        })?;
        agents.retain(|row| row.state == Some(wanted));
    }
    let gateway_usage = if options.no_usage {
        GatewayUsageStatus {
            status: "unavailable",
            reason: Some("--no-usage".to_string()),
        }
    } else if agents.iter().any(|row| row.status != Status::Pruned) {
        add_usage(&mut agents, usage_today(context, PS_USAGE_BUDGET))
    } else {
        GatewayUsageStatus {
            status: "unavailable",
            reason: Some("no agents to ask about".to_string()),
        }
    };
    Ok(PsReport {
        now,
        run_dir,
        agents,
        problems,
        gateway_usage,
    })
}

/// Fills the rows' usage: an agent the gateway reports gets its sums, one with a
/// gateway key but no usage yet gets zeros, the others nothing.
fn add_usage(agents: &mut [AgentRow], usage: UsageToday) -> GatewayUsageStatus {
    match usage {
        UsageToday::NotInstalled => GatewayUsageStatus {
            status: "not_installed",
            reason: None,
        },
        UsageToday::Unavailable(reason) => GatewayUsageStatus {
            status: "unavailable",
            reason: Some(reason),
        },
        UsageToday::Known(mut by_agent) => {
            for row in agents.iter_mut().filter(|row| row.status != Status::Pruned) {
                row.usage_today = by_agent
                    .remove(&row.agent)
                    .or_else(|| row.gateway_key.as_ref().map(|_| AgentUsage::default()));
            }
            GatewayUsageStatus {
                status: "ok",
                reason: None,
            }
        }
    }
}

fn row_from_record(record: AgentRecord, now: u64) -> AgentRow {
    let state = record_state(&record);
    let pid = record.pane_pid();
    let session = record.session();
    let last_beat_at = record.heartbeat.as_ref().map(|heartbeat| heartbeat.beat_at);
    let metadata = record.metadata;
    let interval = metadata
        .as_ref()
        .map(|metadata| metadata.interval)
        .or(record
            .heartbeat
            .as_ref()
            .map(|heartbeat| heartbeat.interval));
    let started_at = metadata.as_ref().map(|metadata| metadata.started_at);
    let running = matches!(record.status, Status::Alive | Status::Stale);
    AgentRow {
        agent: record.agent,
        runtime: metadata.as_ref().map(|metadata| metadata.runtime.clone()),
        command: metadata
            .as_ref()
            .map(|metadata| metadata.command.clone())
            .unwrap_or_default(),
        cwd: metadata.as_ref().map(|metadata| metadata.cwd.clone()),
        branch: metadata
            .as_ref()
            .and_then(|metadata| metadata.worktree.as_ref())
            .map(|worktree| worktree.branch.clone()),
        worktree: metadata
            .as_ref()
            .and_then(|metadata| metadata.worktree.clone()),
        session,
        pid,
        pid_exists: pid.is_some_and(process_running),
        status: record.status,
        state: state.as_ref().map(|info| info.state),
        state_since: state.as_ref().map(|info| info.since),
        state_seconds: state.as_ref().map(|info| now.saturating_sub(info.since)),
        state_message: state.and_then(|info| info.message),
        interval,
        last_beat_at,
        last_beat_age_seconds: last_beat_at.map(|at| now.saturating_sub(at)),
        started_at,
        uptime_seconds: started_at
            .filter(|_| running)
            .map(|at| now.saturating_sub(at)),
        stopped_at: metadata.as_ref().and_then(|metadata| metadata.stopped_at),
        pruned_at: None,
        activity: record.activity,
        gateway_key: metadata
            .as_ref()
            .and_then(|metadata| metadata.gateway_key.clone()),
        usage_today: None,
        problems: record.problems,
    }
}

/// ACTIVITY: idle time, else the last tool and when, else the last event and when.
pub fn describe_activity(activity: &AgentActivity, now: u64) -> String {
    let age = |at: u64| format_age(Duration::from_secs(now.saturating_sub(at)));
    if let Some(idle_since) = activity.idle_since {
        return format!(
            "idle {}",
            format_duration(Duration::from_secs(now.saturating_sub(idle_since)))
        );
    }
    if let Some(tool) = &activity.last_tool {
        let at = activity.last_tool_at.unwrap_or(activity.last_event_at);
        return format!("{tool} {}", age(at));
    }
    if !activity.last_event.is_empty() {
        return format!("{} {}", activity.last_event, age(activity.last_event_at));
    }
    "-".to_string()
}

/// STATE: the state and how long, e.g. `waiting 2m 5s`; `-` without one.
pub fn describe_state(info: Option<&AgentStateInfo>, now: u64) -> String {
    match info {
        Some(info) => format!(
            "{} {}",
            info.state,
            format_duration(Duration::from_secs(now.saturating_sub(info.since)))
        ),
        None => "-".to_string(),
    }
}

/// The longest waiting message the ACTIVITY column shows (the rest is `…`).
const MESSAGE_WIDTH: usize = 48;

/// `text` cut to `width` characters, ending in `…` when cut.
fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut short: String = text.chars().take(width.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// The table; BRANCH when an agent has a worktree, DIR with `--long`.
fn render_table(report: &PsReport, long: bool) -> String {
    let with_usage = report.gateway_usage.status == "ok";
    let with_branch = report.agents.iter().any(|row| row.branch.is_some());
    let mut headers = vec![
        "agent",
        "runtime",
        "pid",
        "status",
        "state",
        "last beat",
        "uptime",
        "activity",
    ];
    if with_usage {
        headers.extend(["tokens today", "cost today"]);
    }
    if with_branch {
        headers.push("branch");
    }
    headers.push("session");
    if long {
        headers.push("dir");
    }
    let mut table = Table::new(&headers);
    let now = report.now;
    for row in &report.agents {
        let last_beat = match (row.last_beat_at, row.status) {
            (_, Status::Unknown) => "unreadable".to_string(),
            (Some(at), _) => format_age(Duration::from_secs(now.saturating_sub(at))),
            (None, _) => "never".to_string(),
        };
        let mut cells = vec![
            row.agent.clone(),
            row.runtime.clone().unwrap_or_else(|| "?".to_string()),
            row.pid
                .map_or_else(|| "-".to_string(), |pid| pid.to_string()),
            row.status.to_string(),
            describe_state(row_state(row).as_ref(), now),
            last_beat,
            row.uptime_seconds.map_or_else(
                || "-".to_string(),
                |seconds| format_duration(Duration::from_secs(seconds)),
            ),
            match (&row.state_message, &row.activity) {
                (Some(message), _) => shorten(message, MESSAGE_WIDTH),
                (None, Some(activity)) => describe_activity(activity, now),
                (None, None) => "-".to_string(),
            },
        ];
        if with_usage {
            match &row.usage_today {
                Some(usage) => {
                    cells.push(usage.tokens().to_string());
                    cells.push(format_cost(usage.cost_micros));
                }
                None => cells.extend(["-".to_string(), "-".to_string()]),
            }
        }
        if with_branch {
            cells.push(row.branch.clone().unwrap_or_else(|| "-".to_string()));
        }
        cells.push(row.session.clone());
        if long {
            cells.push(
                row.cwd
                    .as_ref()
                    .map_or_else(|| "-".to_string(), |cwd| cwd.display().to_string()),
            );
        }
        table.add_row(cells);
    }
    table.render()
}

/// The state of a row, as [`describe_state`] takes it.
fn row_state(row: &AgentRow) -> Option<AgentStateInfo> {
    Some(AgentStateInfo {
        state: row.state?,
        since: row.state_since?,
        message: row.state_message.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_cells_say_how_long() {
        let info = AgentStateInfo {
            state: AgentState::Waiting,
            since: 40,
            message: None,
        };
        assert_eq!(describe_state(Some(&info), 100), "waiting 1m 0s");
        assert_eq!(describe_state(None, 100), "-");
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }

    #[test]
    fn activity_says_idle_then_tool_then_event() {
        let mut activity = AgentActivity {
            agent: "a".into(),
            last_event: "PreToolUse".into(),
            last_event_at: 90,
            last_tool: Some("Bash".into()),
            last_tool_at: Some(95),
            ..AgentActivity::default()
        };
        assert_eq!(describe_activity(&activity, 100), "Bash 5s ago");
        activity.idle_since = Some(40);
        assert_eq!(describe_activity(&activity, 100), "idle 1m 0s");
        activity.idle_since = None;
        activity.last_tool = None;
        assert_eq!(describe_activity(&activity, 100), "PreToolUse 10s ago");
        assert_eq!(describe_activity(&AgentActivity::default(), 100), "-");
    }
}
