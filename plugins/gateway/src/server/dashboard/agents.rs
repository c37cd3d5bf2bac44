//! The dashboard's agent data: `GET /api/agents` (every fleet agent on this
//! machine, with today's usage) and `GET /api/agents/{name}` (one agent, its recent
//! hook activity and the last lines of its pane).
//!
//! The daemon asks fleet and hooks the way a person would, by running this same
//! `mosaic` binary ([`MosaicCommand`]): `mosaic --json fleet ps --all --no-usage`,
//! `mosaic --json config hooks audit --agent=NAME -n 100` and `mosaic --json fleet
//! logs -n 40 -- NAME`, each on the blocking pool with a deadline, so a slow or
//! hung command never holds the runtime. A slim install without fleet answers
//! `"fleet": "not_installed"`. The agent list is shared by every viewer and
//! refreshed in the background while viewers poll (see [`AgentsSource`]). Usage comes from the
//! gateway's own storage (an admin sees every agent's usage, another user only
//! what their own keys used).
//!
//! Names, commands and messages are the agents' (untrusted): they are only ever
//! JSON-encoded here; the page inserts them as text.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use mosaic_plugin_api::sdk::output::{format_age, format_duration};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::clock::unix_now;
use crate::keys::FieldNames;
use crate::server::auth::SignedIn;
use crate::server::error::ApiError;
use crate::server::usage_api::summarize_for;
use crate::server::AppState;
use crate::usage_report::{format_usd, usage_query};

/// How long one `fleet ps` answer serves every viewer as it is.
pub const SNAPSHOT_TTL: Duration = Duration::from_secs(1);
/// How old a `fleet ps` answer may be and still be served while a new one is
/// taken in the background.
pub const SNAPSHOT_MAX_AGE: Duration = Duration::from_secs(5);
/// How long a `mosaic` subcommand may take before it is killed.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(3);
/// How many audit entries an agent's page shows.
pub const ACTIVITY_ENTRIES: usize = 100;
/// How many pane lines an agent's page shows.
pub const PANE_LINES: usize = 40;
/// How long an activity summary (a command or a path) may be, in characters.
pub const SUMMARY_CHARS: usize = 200;
/// The most `mosaic` subcommands the dashboard runs at once (more requests wait).
pub const PARALLEL_COMMANDS: usize = 4;
/// The most output read from a subcommand (fleet ps of thousands of agents fits).
const OUTPUT_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// How the daemon runs `mosaic`: the program and the arguments before the
/// subcommand (the daemon's own `--plugin-dir`).
#[derive(Debug, Clone)]
pub struct MosaicCommand {
    program: PathBuf,
    leading_args: Vec<OsString>,
    deadline: Duration,
}

/// What running a `mosaic` subcommand gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutcome {
    /// It exited 0; its stdout.
    Succeeded(String),
    /// The plugin that provides it is not installed (the host said so).
    NotInstalled,
    /// It failed, did not start or did not finish in time; why, in one line.
    Failed(String),
}

impl MosaicCommand {
    /// The `mosaic` binary running this daemon, given the directory of the
    /// gateway plugin as `--plugin-dir` (as the daemon itself was), so it finds the
    /// same plugins.
    pub fn this_binary() -> MosaicCommand {
        let program = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("mosaic"));
        let mut leading_args = Vec::new();
        if let Some(directory) = crate::layout::own_library_dir() {
            leading_args.push(OsString::from("--plugin-dir"));
            leading_args.push(directory.into_os_string());
        }
        MosaicCommand::new(program, leading_args)
    }

    /// `program` with `leading_args` before every subcommand.
    pub fn new(program: PathBuf, leading_args: Vec<OsString>) -> MosaicCommand {
        MosaicCommand {
            program,
            leading_args,
            deadline: COMMAND_DEADLINE,
        }
    }

    /// Runs `mosaic ARGS` on the blocking pool.
    pub async fn run(&self, args: Vec<String>) -> CommandOutcome {
        let command = self.clone();
        tokio::task::spawn_blocking(move || command.run_blocking(&args))
            .await
            .unwrap_or_else(|error| CommandOutcome::Failed(format!("internal error: {error}")))
    }

    fn run_blocking(&self, args: &[String]) -> CommandOutcome {
        let shown = format!("mosaic {}", args.join(" "));
        let mut child = match Command::new(&self.program)
            .args(&self.leading_args)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(error) => {
                return CommandOutcome::Failed(format!(
                    "cannot run `{shown}` ({}): {error}",
                    self.program.display()
                ))
            }
        };
        let stdout = read_in_background(child.stdout.take());
        let stderr = read_in_background(child.stderr.take());
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() < self.deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return CommandOutcome::Failed(format!(
                        "`{shown}` did not answer within {} s",
                        self.deadline.as_secs()
                    ));
                }
                Err(error) => return CommandOutcome::Failed(format!("`{shown}`: {error}")),
            }
        };
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        if status.success() {
            return CommandOutcome::Succeeded(stdout);
        }
        // The host's words for a command whose plugin is absent (exit 2).
        if status.code() == Some(2) && stderr.contains("plugin, which is not installed") {
            return CommandOutcome::NotInstalled;
        }
        let reason = stderr
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .map(|line| line.strip_prefix("error: ").unwrap_or(line).to_string())
            .unwrap_or_else(|| format!("`{shown}` failed ({status})"));
        CommandOutcome::Failed(reason)
    }
}

fn read_in_background(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(pipe) = pipe {
            let _ = pipe.take(OUTPUT_LIMIT_BYTES).read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Whether fleet answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FleetStatus {
    /// `fleet ps` listed the agents.
    Ok,
    /// This install has no fleet plugin.
    NotInstalled,
    /// `fleet ps` failed (the problem says why).
    Error,
}

/// One agent as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentView {
    /// The agent's name.
    pub name: String,
    /// alive, stale, dead, stopped, unknown or pruned (as `fleet ps` says).
    pub status: String,
    /// working, waiting or idle.
    pub state: Option<String>,
    /// What it waits for, when waiting.
    pub state_message: Option<String>,
    /// How long it has been in its state.
    pub state_seconds: Option<u64>,
    /// The branch of its worktree.
    pub branch: Option<String>,
    /// The last tool it used.
    pub last_tool: Option<String>,
    /// What `fleet ps` shows as ACTIVITY (`Bash 5s ago`, `idle 2m 0s`).
    pub activity: Option<String>,
    /// Seconds since launch, while it may be running.
    pub uptime_seconds: Option<u64>,
    /// The runtime (`claude`, …).
    pub runtime: Option<String>,
    /// Tokens used through the gateway since 00:00 UTC.
    pub tokens_today: Option<u64>,
    /// Their cost in US dollars, 4 decimals.
    pub cost_usd_today: Option<String>,
    /// Whether it was launched with a gateway key (then no usage means zero).
    #[serde(skip)]
    has_gateway_key: bool,
}

/// One row of `fleet ps --json`, the fields the dashboard uses.
#[derive(Debug, Deserialize)]
struct PsRow {
    agent: String,
    #[serde(default)]
    runtime: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    state_seconds: Option<u64>,
    #[serde(default)]
    state_message: Option<String>,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    uptime_seconds: Option<u64>,
    #[serde(default)]
    activity: Option<PsActivity>,
    #[serde(default)]
    gateway_key: Option<String>,
}

/// The hooks' activity record inside a `fleet ps` row.
#[derive(Debug, Default, Deserialize)]
struct PsActivity {
    #[serde(default)]
    last_event: String,
    #[serde(default)]
    last_event_at: u64,
    #[serde(default)]
    last_tool: Option<String>,
    #[serde(default)]
    last_tool_at: Option<u64>,
    #[serde(default)]
    idle_since: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct PsReport {
    #[serde(default)]
    now: u64,
    #[serde(default)]
    agents: Vec<PsRow>,
}

/// ACTIVITY as `fleet ps` words it: idle time, else the last tool and when, else
/// the last event and when.
fn describe_activity(activity: &PsActivity, now: u64) -> Option<String> {
    let age = |at: u64| format_age(Duration::from_secs(now.saturating_sub(at)));
    if let Some(idle_since) = activity.idle_since {
        return Some(format!(
            "idle {}",
            format_duration(Duration::from_secs(now.saturating_sub(idle_since)))
        ));
    }
    if let Some(tool) = &activity.last_tool {
        let at = activity.last_tool_at.unwrap_or(activity.last_event_at);
        return Some(format!("{tool} {}", age(at)));
    }
    (!activity.last_event.is_empty())
        .then(|| format!("{} {}", activity.last_event, age(activity.last_event_at)))
}

impl AgentView {
    fn from_row(row: PsRow, now: u64) -> AgentView {
        let activity = row.activity.unwrap_or_default();
        AgentView {
            activity: describe_activity(&activity, now),
            last_tool: activity.last_tool,
            name: row.agent,
            status: row.status.unwrap_or_else(|| "unknown".to_string()),
            state: row.state,
            state_message: row.state_message,
            state_seconds: row.state_seconds,
            branch: row.branch,
            uptime_seconds: row.uptime_seconds,
            runtime: row.runtime,
            tokens_today: None,
            cost_usd_today: None,
            has_gateway_key: row.gateway_key.is_some(),
        }
    }

    /// Waiting first, then working, then the rest; then by name.
    fn order(&self) -> (u8, &str) {
        let rank = match self.state.as_deref() {
            Some("waiting") => 0,
            Some("working") => 1,
            _ => 2,
        };
        (rank, &self.name)
    }
}

/// One `fleet ps` answer.
#[derive(Debug, Clone)]
pub struct FleetSnapshot {
    taken: Instant,
    /// `now` of the report (Unix seconds).
    pub now: u64,
    /// Whether fleet answered.
    pub fleet: FleetStatus,
    /// Why not, when it did not.
    pub problem: Option<String>,
    /// The agents, sorted for the page.
    pub agents: Vec<AgentView>,
}

impl FleetSnapshot {
    /// The snapshot of a `fleet ps --json` outcome.
    pub fn from_outcome(outcome: CommandOutcome) -> FleetSnapshot {
        let now = unix_now().max(0) as u64;
        let failed = |fleet, problem: Option<String>| FleetSnapshot {
            taken: Instant::now(),
            now,
            fleet,
            problem,
            agents: Vec::new(),
        };
        match outcome {
            CommandOutcome::NotInstalled => failed(
                FleetStatus::NotInstalled,
                Some(
                    "the fleet plugin is not installed in this gateway's mosaic, so it \
                     cannot list agents"
                        .to_string(),
                ),
            ),
            CommandOutcome::Failed(reason) => failed(FleetStatus::Error, Some(reason)),
            CommandOutcome::Succeeded(text) => match serde_json::from_str::<PsReport>(&text) {
                Ok(report) => {
                    let now = if report.now > 0 { report.now } else { now };
                    let mut agents: Vec<AgentView> = report
                        .agents
                        .into_iter()
                        .map(|row| AgentView::from_row(row, now))
                        .collect();
                    agents.sort_by(|a, b| a.order().cmp(&b.order()));
                    FleetSnapshot {
                        taken: Instant::now(),
                        now,
                        fleet: FleetStatus::Ok,
                        problem: None,
                        agents,
                    }
                }
                Err(error) => failed(
                    FleetStatus::Error,
                    Some(format!(
                        "`mosaic --json fleet ps` printed something else than its report: \
                         {error}"
                    )),
                ),
            },
        }
    }

    fn fresh(&self) -> bool {
        self.taken.elapsed() < SNAPSHOT_TTL
    }
}

/// The agent list shared by every viewer, refreshed at most every
/// [`SNAPSHOT_TTL`].
///
/// A snapshot older than [`SNAPSHOT_TTL`] but younger than [`SNAPSHOT_MAX_AGE`] is
/// answered at once while one refresh runs in the background (the page polls every
/// 2 s, so a viewer's next poll gets the new one): a page load then never waits for
/// `fleet ps`. Only a first request, or one after [`SNAPSHOT_MAX_AGE`] without any,
/// waits for a fresh listing.
#[derive(Clone)]
pub struct AgentsSource {
    inner: Arc<SourceInner>,
}

struct SourceInner {
    command: MosaicCommand,
    latest: std::sync::Mutex<Option<Arc<FleetSnapshot>>>,
    /// Held while `fleet ps` runs, so concurrent refreshes become one.
    refreshing: tokio::sync::Mutex<()>,
    /// Whether a background refresh is already on its way.
    refresh_started: std::sync::atomic::AtomicBool,
    /// Bounds the subcommands running at once, so viewers reloading an agent's
    /// page cannot start processes without limit.
    running: tokio::sync::Semaphore,
}

impl AgentsSource {
    /// A source that runs `command`.
    pub fn new(command: MosaicCommand) -> AgentsSource {
        AgentsSource {
            inner: Arc::new(SourceInner {
                command,
                latest: std::sync::Mutex::new(None),
                refreshing: tokio::sync::Mutex::new(()),
                refresh_started: std::sync::atomic::AtomicBool::new(false),
                running: tokio::sync::Semaphore::new(PARALLEL_COMMANDS),
            }),
        }
    }

    /// Runs `mosaic ARGS` once fewer than [`PARALLEL_COMMANDS`] run.
    pub async fn run(&self, args: Vec<String>) -> CommandOutcome {
        let Ok(_permit) = self.inner.running.acquire().await else {
            return CommandOutcome::Failed("the gateway is shutting down".to_string());
        };
        self.inner.command.run(args).await
    }

    fn latest(&self) -> Option<Arc<FleetSnapshot>> {
        self.inner
            .latest
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The snapshot to answer with: the latest while fresh; the latest while a
    /// background refresh runs when it is not older than [`SNAPSHOT_MAX_AGE`]; else
    /// a new one (requests arriving during a refresh wait for it instead of
    /// starting their own).
    pub async fn snapshot(&self) -> Arc<FleetSnapshot> {
        match self.latest() {
            Some(latest) if latest.fresh() => latest,
            Some(latest) if latest.taken.elapsed() < SNAPSHOT_MAX_AGE => {
                self.refresh_in_background();
                latest
            }
            _ => self.refresh().await,
        }
    }

    fn refresh_in_background(&self) {
        use std::sync::atomic::Ordering;
        if self.inner.refresh_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let source = self.clone();
        tokio::spawn(async move {
            source.refresh().await;
            source.inner.refresh_started.store(false, Ordering::Release);
        });
    }

    /// Runs `fleet ps` unless a refresh that finished while this one waited left
    /// a fresh snapshot.
    async fn refresh(&self) -> Arc<FleetSnapshot> {
        let _refreshing = self.inner.refreshing.lock().await;
        if let Some(latest) = self.latest().filter(|latest| latest.fresh()) {
            return latest;
        }
        let outcome = self
            .run(
                ["--json", "fleet", "ps", "--all", "--no-usage"]
                    .map(String::from)
                    .to_vec(),
            )
            .await;
        let snapshot = Arc::new(FleetSnapshot::from_outcome(outcome));
        *self
            .inner
            .latest
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(snapshot.clone());
        snapshot
    }
}

/// Today's tokens and cost per agent as `viewer` may see them; `None` when the
/// storage does not answer.
async fn usage_today(state: &AppState, viewer: &SignedIn) -> Option<HashMap<String, (u64, i64)>> {
    let mut query = usage_query("agent", Some("today"), None, unix_now(), FieldNames::Json).ok()?;
    match summarize_for(state, viewer, &mut query).await {
        Ok(rows) => Some(
            rows.into_iter()
                .map(|row| (row.group.clone(), (row.total_tokens(), row.cost_micros)))
                .collect(),
        ),
        Err(error) => {
            tracing::warn!("dashboard: usage today is unavailable: {error}");
            None
        }
    }
}

fn with_usage(agent: &mut AgentView, usage: Option<&HashMap<String, (u64, i64)>>) {
    let Some(usage) = usage else {
        return;
    };
    let used = usage
        .get(&agent.name)
        .copied()
        .or(agent.has_gateway_key.then_some((0, 0)));
    if let Some((tokens, cost_micros)) = used {
        agent.tokens_today = Some(tokens);
        agent.cost_usd_today = Some(format_usd(cost_micros));
    }
}

/// The `GET /api/agents` document.
#[derive(Serialize)]
struct AgentsDocument<'a> {
    now: u64,
    fleet: FleetStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<&'a str>,
    usage: &'static str,
    agents: Vec<AgentView>,
}

/// `GET /api/agents`: every agent, waiting first (gzip when accepted; an ETag, and
/// 304 when it matches).
pub async fn list(
    State(state): State<AppState>,
    viewer: SignedIn,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let snapshot = state.agents().snapshot().await;
    let usage = if snapshot.fleet == FleetStatus::Ok {
        usage_today(&state, &viewer).await
    } else {
        None
    };
    let mut agents = snapshot.agents.clone();
    for agent in &mut agents {
        with_usage(agent, usage.as_ref());
    }
    let document = AgentsDocument {
        now: snapshot.now,
        fleet: snapshot.fleet,
        problem: snapshot.problem.as_deref(),
        usage: if usage.is_some() { "ok" } else { "unavailable" },
        agents,
    };
    let body = serde_json::to_vec(&document).map_err(|error| ApiError::internal(&error))?;
    Ok(json_with_etag(&headers, body))
}

/// A JSON answer with a strong ETag (its SHA-256), 304 when the client has it,
/// gzip-compressed when the client accepts it.
fn json_with_etag(request_headers: &HeaderMap, body: Vec<u8>) -> Response {
    let etag = super::etag_of(&body);
    let mut response = if super::etag_matches(request_headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if accepts_gzip(request_headers) {
        match gzip(&body) {
            Ok(compressed) => {
                let mut response = compressed.into_response();
                response
                    .headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                response
            }
            Err(_) => body.into_response(),
        }
    } else {
        body.into_response()
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

/// Whether `Accept-Encoding` lists gzip (and does not refuse it with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|parameter| {
                parameter
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(body)?;
    encoder.finish()
}

/// One audit entry as an agent's page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityView {
    /// When the hook ran, Unix milliseconds.
    pub time_ms: u64,
    /// The Mosaic hook (`bash-guard`, `activity`).
    pub hook: String,
    /// The Claude Code event.
    pub event: String,
    /// The tool.
    pub tool: Option<String>,
    /// The command or the file path, at most [`SUMMARY_CHARS`] characters.
    pub summary: Option<String>,
    /// `allow` or `deny` (the Bash guard's).
    pub decision: Option<String>,
    /// The rule that denied.
    pub rule: Option<String>,
    /// The reason given to Claude.
    pub reason: Option<String>,
}

/// One line of `config hooks audit --json`, the fields the page uses.
#[derive(Debug, Deserialize)]
struct AuditLine {
    #[serde(default)]
    timestamp_ms: u64,
    #[serde(default)]
    hook: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    tool: Option<String>,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    file_path: Option<String>,
    #[serde(default)]
    decision: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let mut short: String = text.chars().take(limit.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// The entries of `config hooks audit --json` output, newest first.
fn parse_activity(text: &str) -> Result<Vec<ActivityView>, String> {
    #[derive(Deserialize)]
    struct Listing {
        #[serde(default)]
        entries: Vec<AuditLine>,
    }
    let listing: Listing = serde_json::from_str(text).map_err(|error| {
        format!("`mosaic config hooks audit` printed something else than its listing: {error}")
    })?;
    let mut entries: Vec<ActivityView> = listing
        .entries
        .into_iter()
        .map(|line| ActivityView {
            time_ms: line.timestamp_ms,
            hook: line.hook,
            event: line.event,
            tool: line.tool,
            summary: line
                .command
                .or(line.file_path)
                .map(|text| shorten(&text, SUMMARY_CHARS)),
            decision: line.decision,
            rule: line.rule,
            reason: line.reason,
        })
        .collect();
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.time_ms));
    entries.truncate(ACTIVITY_ENTRIES);
    Ok(entries)
}

/// The lines of `fleet logs --json` output.
fn parse_pane(text: &str) -> Result<Vec<String>, String> {
    #[derive(Deserialize)]
    struct Pane {
        #[serde(default)]
        lines: Vec<String>,
    }
    serde_json::from_str::<Pane>(text)
        .map(|pane| pane.lines)
        .map_err(|error| {
            format!("`mosaic fleet logs` printed something else than the pane: {error}")
        })
}

/// `GET /api/agents/{name}`: one agent, its recent activity (newest first) and
/// the last lines of its pane; 404 for an agent fleet does not list.
pub async fn show(
    State(state): State<AppState>,
    viewer: SignedIn,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Ok(Path(name)) = name else {
        return Err(ApiError::not_found("no such agent"));
    };
    let snapshot = state.agents().snapshot().await;
    let Some(agent) = snapshot.agents.iter().find(|agent| agent.name == name) else {
        return Err(ApiError::not_found(match snapshot.fleet {
            FleetStatus::Ok => "no such agent",
            FleetStatus::NotInstalled => "no such agent: the fleet plugin is not installed",
            FleetStatus::Error => "no such agent: fleet cannot list the agents now",
        }));
    };
    let mut agent = agent.clone();
    let usage = usage_today(&state, &viewer).await;
    with_usage(&mut agent, usage.as_ref());
    let source = state.agents();
    let (audit, pane) = tokio::join!(
        source.run(vec![
            "--json".into(),
            "config".into(),
            "hooks".into(),
            "audit".into(),
            format!("--agent={name}"),
            "-n".into(),
            ACTIVITY_ENTRIES.to_string(),
        ]),
        source.run(vec![
            "--json".into(),
            "fleet".into(),
            "logs".into(),
            "-n".into(),
            PANE_LINES.to_string(),
            "--".into(),
            name.clone(),
        ]),
    );
    let mut body = json!({ "agent": agent, "activity": [], "pane": [] });
    match audit {
        CommandOutcome::Succeeded(text) => match parse_activity(&text) {
            Ok(entries) => body["activity"] = json!(entries),
            Err(problem) => body["activity_problem"] = Value::String(problem),
        },
        CommandOutcome::NotInstalled => {
            body["activity_problem"] = Value::String(
                "the hooks plugin is not installed, so there is no activity log".into(),
            )
        }
        CommandOutcome::Failed(problem) => body["activity_problem"] = Value::String(problem),
    }
    match pane {
        CommandOutcome::Succeeded(text) => match parse_pane(&text) {
            Ok(lines) => body["pane"] = json!(lines),
            Err(problem) => body["pane_problem"] = Value::String(problem),
        },
        CommandOutcome::NotInstalled => {
            body["pane_problem"] = Value::String("the fleet plugin is not installed".into())
        }
        CommandOutcome::Failed(problem) => body["pane_problem"] = Value::String(problem),
    }
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ps_output(rows: Value) -> CommandOutcome {
        CommandOutcome::Succeeded(json!({"now": 1000, "agents": rows}).to_string())
    }

    #[test]
    fn agents_are_sorted_waiting_working_rest_then_name() {
        let snapshot = FleetSnapshot::from_outcome(ps_output(json!([
            {"agent": "d", "status": "dead"},
            {"agent": "c", "status": "alive", "state": "working"},
            {"agent": "b", "status": "alive", "state": "idle",
             "activity": {"last_event": "Stop", "last_event_at": 990, "idle_since": 940}},
            {"agent": "z", "status": "alive", "state": "waiting", "state_message": "ok?"},
            {"agent": "a", "status": "alive", "state": "working",
             "activity": {"last_event": "PreToolUse", "last_event_at": 995,
                          "last_tool": "Bash", "last_tool_at": 995}},
        ])));
        assert_eq!(snapshot.fleet, FleetStatus::Ok);
        let names: Vec<&str> = snapshot.agents.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["z", "a", "c", "b", "d"]);
        assert_eq!(snapshot.agents[1].activity.as_deref(), Some("Bash 5s ago"));
        assert_eq!(snapshot.agents[1].last_tool.as_deref(), Some("Bash"));
        assert_eq!(snapshot.agents[3].activity.as_deref(), Some("idle 1m 0s"));
        assert_eq!(snapshot.agents[0].state_message.as_deref(), Some("ok?"));
    }

    #[test]
    fn failures_say_what_happened() {
        let missing = FleetSnapshot::from_outcome(CommandOutcome::NotInstalled);
        assert_eq!(missing.fleet, FleetStatus::NotInstalled);
        let broken = FleetSnapshot::from_outcome(CommandOutcome::Succeeded("nope".into()));
        assert_eq!(broken.fleet, FleetStatus::Error);
        assert!(broken.problem.unwrap().contains("fleet ps"));
    }

    #[test]
    fn usage_fills_known_agents_and_keyed_ones() {
        let mut snapshot = FleetSnapshot::from_outcome(ps_output(json!([
            {"agent": "a", "status": "alive"},
            {"agent": "b", "status": "alive", "gateway_key": "fleet-b-1"},
            {"agent": "c", "status": "alive"},
        ])));
        let usage = HashMap::from([("a".to_string(), (1234, 12_345))]);
        for agent in &mut snapshot.agents {
            with_usage(agent, Some(&usage));
        }
        let fields: Vec<(Option<u64>, Option<&str>)> = snapshot
            .agents
            .iter()
            .map(|a| (a.tokens_today, a.cost_usd_today.as_deref()))
            .collect();
        assert_eq!(
            fields,
            [
                (Some(1234), Some("0.0123")),
                (Some(0), Some("0.0000")),
                (None, None)
            ]
        );
        let text = serde_json::to_value(&snapshot.agents[0]).unwrap();
        assert!(text.get("has_gateway_key").is_none());
    }

    #[test]
    fn activity_is_newest_first_and_summarised() {
        let long = "x".repeat(500);
        let text = json!({"entries": [
            {"timestamp_ms": 1, "hook": "bash-guard", "event": "PreToolUse", "tool": "Bash",
             "command": long, "decision": "deny", "rule": "rm-rf", "reason": "no"},
            {"timestamp_ms": 2, "hook": "activity", "event": "PostToolUse", "tool": "Edit",
             "file_path": "/src/a.rs"},
        ]})
        .to_string();
        let entries = parse_activity(&text).unwrap();
        assert_eq!(entries[0].summary.as_deref(), Some("/src/a.rs"));
        assert_eq!(
            entries[1].summary.as_ref().unwrap().chars().count(),
            SUMMARY_CHARS
        );
        assert_eq!(entries[1].decision.as_deref(), Some("deny"));
        assert!(parse_activity("[").is_err());
    }

    #[test]
    fn gzip_is_used_only_when_accepted() {
        let mut headers = HeaderMap::new();
        assert!(!accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.8"),
        );
        assert!(accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0, br"),
        );
        assert!(!accepts_gzip(&headers));
    }

    #[test]
    fn commands_report_absent_plugins_failures_and_deadlines() {
        let directory = tempfile::tempdir().unwrap();
        let script = directory.path().join("mosaic");
        std::fs::write(
            &script,
            "#!/bin/sh\ncase \"$3\" in\n\
             fleet) echo 'error: `fleet` is provided by the fleet plugin, which is not installed (x)' >&2; exit 2;;\n\
             slow) exec sleep 5;;\n\
             fail) echo 'error: it broke' >&2; exit 1;;\n\
             *) echo \"$@\";;\nesac\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let mut command = MosaicCommand::new(script, vec!["--plugin-dir".into()]);
        command.deadline = Duration::from_millis(300);
        let run = |word: &str| command.run_blocking(&["x".into(), word.into()]);
        assert_eq!(run("fleet"), CommandOutcome::NotInstalled);
        assert_eq!(run("fail"), CommandOutcome::Failed("it broke".into()));
        assert!(
            matches!(run("slow"), CommandOutcome::Failed(reason) if reason.contains("did not answer"))
        );
        assert_eq!(
            run("ok"),
            CommandOutcome::Succeeded("--plugin-dir x ok\n".into())
        );
    }
}
