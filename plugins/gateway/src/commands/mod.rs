//! One module per `mosaic gateway` command (declaration + a short `run`), and what
//! the lifecycle commands share: loading the installation (from the `gateway`
//! section of config.json only, so a broken other section does not matter), the
//! lifecycle lock, starting the daemon and waiting for it to answer `/health`,
//! stopping it.
//!
//! Start, stop and restart hold one lock ([`lock_lifecycle`]) from the check
//! "is it running?" until the daemon answers `/health` (or is gone), so two of them
//! run one after the other: `gateway start & gateway start` starts one daemon, and
//! the second start finds it running.

pub mod install;
pub mod keys;
pub mod logs;
pub mod migrate;
pub mod restart;
pub mod run;
pub mod start;
pub mod status;
pub mod stop;
pub mod supervise;
pub mod uninstall;
pub mod usage;

use std::io::Write;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use mosaic_plugin_api::sdk::config;
use mosaic_plugin_api::sdk::fs::{create_dir_all_with_mode, FileLock};
use mosaic_plugin_api::serde_json::Value;
use mosaic_plugin_api::{CommandSpec, Context, Example};

use crate::client::{GatewayClient, Health};
use crate::layout::{current_executable, own_library_dir, Layout};
use crate::pidfile::{running_daemon, running_supervisor};
use crate::service::log_rotation::MAX_BYTES_VARIABLE;
use crate::service::supervisor::StopReport;
use crate::service::supervisor_state::{SupervisorPhase, SupervisorState};
use crate::service::{self, ServiceManager, ServiceSpec};
use crate::settings::{Settings, KEY_SERVICE_MANAGER};
use crate::storage::team::{self, TeamCheck};

/// How long start-up may take before `/health` must answer.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(20);
/// Log lines shown when the daemon fails to start.
pub const FAILURE_LOG_LINES: usize = 20;
/// `PATH` for the daemon when this run has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The `gateway` group: its help and examples (the subcommands come from the
/// command table in [`crate::Gateway`]).
pub fn group_spec() -> CommandSpec {
    CommandSpec::new(
        "gateway",
        "Run and manage the local gateway daemon (auth, keys, Anthropic API proxy)",
    )
    .long_about(
        "The gateway is a local daemon with a JSON API (users, sessions, admin, API keys, \
             usage) that the agents and the web UI talk to, and an Anthropic Messages API \
             proxy: agents call it with their own Mosaic key (`mosaic gateway keys \
             create`), it calls Anthropic with the one real key and meters and limits every \
             request (`mosaic gateway usage`). `mosaic gateway install` configures it, \
             installs it as a service (systemd user unit, launchd agent, or the built-in \
             supervisor), starts it and creates the first admin.",
    )
    .with_example(needs_an_install(
        "gateway install",
        "Configure, install and start it (asks what it needs)",
    ))
    .with_example(
        Example::new("gateway status", "Is it running and healthy?")
            .expect_exit_code(status::EXIT_NOT_RUNNING),
    )
    .with_example(needs_an_install(
        "gateway logs -f",
        "Follow the daemon's log",
    ))
}

/// An example that succeeds on a real machine but fails in the test harness, where
/// the gateway is not installed and a headless install has no admin to create: the
/// harness expects exit code 1 (`error: …`) and nothing written or started.
pub fn needs_an_install(command: &str, description: &str) -> Example {
    Example::new(command, description).expect_exit_code(1)
}

/// An installed gateway, as the lifecycle commands see it.
pub struct Installation {
    /// Every path.
    pub layout: Layout,
    /// The settings in `config.json`.
    pub settings: Settings,
    /// What runs the daemon.
    pub manager: ServiceManager,
    /// How the daemon is run.
    pub spec: ServiceSpec,
}

/// The service manager recorded in `config.json`, if the gateway is installed.
pub fn recorded_manager(file: &Value) -> Result<Option<ServiceManager>> {
    match config::get(file, KEY_SERVICE_MANAGER) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => ServiceManager::parse(text)
            .map(Some)
            .map_err(|error| anyhow!("config.json {KEY_SERVICE_MANAGER}: {error}")),
        Some(other) => bail!("config.json {KEY_SERVICE_MANAGER} must be a string, not {other}"),
    }
}

/// How this run would run the daemon.
pub fn service_spec(context: &Context<'_>, layout: Layout) -> Result<ServiceSpec> {
    Ok(ServiceSpec {
        executable: current_executable()?,
        plugin_dir: own_library_dir(),
        layout,
        path_variable: context
            .env("PATH")
            .filter(|path| !path.is_empty())
            .unwrap_or_else(|| DEFAULT_PATH.to_string()),
        log_max_bytes: context
            .env(MAX_BYTES_VARIABLE)
            .filter(|value| !value.is_empty()),
    })
}

/// The `gateway` section of config.json (in an otherwise empty root object). The
/// other sections are not parsed, so one that is broken does not stop the
/// gateway's commands.
pub fn load_gateway_config(layout: &Layout) -> Result<Value> {
    config::load_sections(&layout.config_dir, &["gateway"])
}

/// The installation, or `None` when `gateway install` has not run.
pub fn load_installation(context: &Context<'_>) -> Result<Option<Installation>> {
    let layout = Layout::from_context(context, None);
    let file = load_gateway_config(&layout)?;
    let Some(manager) = recorded_manager(&file)? else {
        return Ok(None);
    };
    let settings = Settings::from_file(&file).with_context(|| {
        format!(
            "invalid gateway settings in {}",
            layout.config_file().display()
        )
    })?;
    let spec = service_spec(context, layout.clone())?;
    Ok(Some(Installation {
        layout,
        settings,
        manager,
        spec,
    }))
}

/// The installation, or an error saying how to install.
pub fn require_installation(context: &Context<'_>) -> Result<Installation> {
    load_installation(context)?.ok_or_else(|| {
        anyhow!("the gateway is not installed; install it with `mosaic gateway install`")
    })
}

/// The lock held by start, stop and restart (see the module doc). Released when
/// dropped.
pub struct LifecycleLock {
    _lock: FileLock,
}

/// Takes the lifecycle lock, waiting (with the host's progress indicator, which
/// shows only when the wait is long) while another start, stop or restart holds it.
pub fn lock_lifecycle(context: &Context<'_>, layout: &Layout) -> Result<LifecycleLock> {
    create_dir_all_with_mode(&layout.run_files_dir(), 0o700)?;
    let _waiting = context.progress("Waiting for another `mosaic gateway` start or stop to finish");
    Ok(LifecycleLock {
        _lock: FileLock::exclusive(&layout.lifecycle_lock_subject())?,
    })
}

/// What a start found or did.
pub enum StartOutcome {
    /// This run started it; it answers `/health`.
    Started(Health),
    /// It was running already and answers `/health` (the text names the pid:
    /// "pid 12").
    AlreadyRunning(String, Health),
}

/// Starts the daemon unless it (or the built-in supervisor, between two runs of
/// the daemon) is running already, and waits until `/health` answers. The caller
/// holds the lifecycle lock.
pub fn start_locked(
    context: &Context<'_>,
    _lock: &LifecycleLock,
    manager: ServiceManager,
    spec: &ServiceSpec,
    settings: &Settings,
) -> Result<StartOutcome> {
    let layout = &spec.layout;
    let daemon = running_daemon(&layout.pid_file());
    let supervisor = running_supervisor(&layout.supervisor_pid_file());
    if daemon.is_some() || supervisor.is_some() {
        // It may be starting (or restarting after a crash): wait until it answers.
        let health = wait_for_health(context, Watched::Running, spec, settings)?;
        let pid = running_daemon(&layout.pid_file())
            .or(daemon)
            .map(|pid| format!("pid {pid}"))
            .unwrap_or_else(|| format!("supervisor pid {}", supervisor.unwrap_or_default()));
        return Ok(StartOutcome::AlreadyRunning(pid, health));
    }
    let mut started = service::start(manager, spec)?;
    let watched = match started.child.as_mut() {
        Some(child) => Watched::Spawned(child),
        None => Watched::Manager,
    };
    wait_for_health(context, watched, spec, settings).map(StartOutcome::Started)
}

/// What a wait for `/health` watches, to stop waiting early when it is gone.
enum Watched<'a> {
    /// The built-in supervisor this run spawned: its exit (it gave up) ends the wait.
    Spawned(&'a mut Child),
    /// A daemon or supervisor that was running already: when neither runs any
    /// more, the wait ends.
    Running,
    /// systemd or launchd, which restart it by themselves: only the timeout ends
    /// the wait.
    Manager,
}

/// Waits, with the host's progress indicator, until `/health` answers. On failure
/// the error ends with the last lines of the log.
fn wait_for_health(
    context: &Context<'_>,
    mut watched: Watched<'_>,
    spec: &ServiceSpec,
    settings: &Settings,
) -> Result<Health> {
    let url = settings.local_url();
    let layout = &spec.layout;
    let client = GatewayClient::new(&url, Duration::from_secs(2));
    let _waiting = context.progress(&format!("Waiting for the gateway at {url}/health"));
    let deadline = Instant::now() + HEALTH_TIMEOUT;
    let failure = loop {
        let gone = match &mut watched {
            Watched::Spawned(child) => child
                .try_wait()
                .context("cannot check the supervisor process")?
                .map(|status| describe_supervisor_exit(layout, &status.to_string())),
            Watched::Running => (running_daemon(&layout.pid_file()).is_none()
                && running_supervisor(&layout.supervisor_pid_file()).is_none())
            .then(|| describe_supervisor_exit(layout, "it is not running any more")),
            Watched::Manager => None,
        };
        if let Some(gone) = gone {
            break gone;
        }
        let last_error = match client.health() {
            Ok(health) => return Ok(health),
            Err(error) => error,
        };
        if Instant::now() >= deadline {
            break format!(
                "the gateway did not answer {url}/health within {} s (last attempt: {last_error:#})",
                HEALTH_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    bail!("{failure}\n{}", describe_log_tail(&layout.log_file()))
}

/// Why the supervisor exited while the daemon was starting.
fn describe_supervisor_exit(layout: &Layout, status: &str) -> String {
    let state = SupervisorState::load(&layout.supervisor_state_file());
    let last_exit = state
        .as_ref()
        .and_then(|state| state.last_exit.as_ref())
        .map(|exit| format!(" (last time it {})", exit.describe()))
        .unwrap_or_default();
    match state.map(|state| state.phase) {
        Some(SupervisorPhase::GaveUp { crashes, window_s }) if crashes > 0 => format!(
            "the gateway crashed {crashes} times within {window_s} s while starting{last_exit}, \
             so the supervisor gave up"
        ),
        _ => format!("the gateway stopped ({status}) while starting{last_exit}"),
    }
}

/// Starts the daemon (see [`start_locked`]) under the lifecycle lock and waits
/// until `/health` answers; a daemon already running is waited for the same way.
pub fn start_and_wait(
    context: &Context<'_>,
    manager: ServiceManager,
    spec: &ServiceSpec,
    settings: &Settings,
) -> Result<Health> {
    let lock = lock_lifecycle(context, &spec.layout)?;
    match start_locked(context, &lock, manager, spec, settings)? {
        StartOutcome::Started(health) | StartOutcome::AlreadyRunning(_, health) => Ok(health),
    }
}

/// Stops the daemon (and the built-in supervisor) through `manager` and waits,
/// with the host's progress indicator, until they have exited. The caller holds
/// the lifecycle lock.
pub fn stop_locked(
    context: &Context<'_>,
    _lock: &LifecycleLock,
    manager: ServiceManager,
    spec: &ServiceSpec,
) -> Result<StopReport> {
    let _waiting = context.progress("Waiting for the gateway to stop");
    service::stop(manager, spec)
}

/// Stops what runs by the pid files when there is no readable installation (see
/// [`service::stop_without_installation`]), with the host's progress indicator;
/// what a service manager said is printed as warnings. The caller holds the
/// lifecycle lock.
pub fn stop_by_pid_files(
    context: &Context<'_>,
    _lock: &LifecycleLock,
    layout: &Layout,
) -> Result<StopReport> {
    let (report, notes) = {
        let _waiting = context.progress("Waiting for the gateway to stop");
        service::stop_without_installation(layout)?
    };
    for note in notes {
        writeln!(context.err(), "warning: {note}")?;
    }
    Ok(report)
}

/// Stops the daemon under the lifecycle lock. Returns the pid that was stopped
/// (the daemon's, else the supervisor's), `None` when none was running.
pub fn stop_and_wait(
    context: &Context<'_>,
    manager: ServiceManager,
    spec: &ServiceSpec,
) -> Result<Option<i32>> {
    let lock = lock_lifecycle(context, &spec.layout)?;
    stop_locked(context, &lock, manager, spec).map(|report| report.main_pid())
}

/// Checks the team tier's services (credentials, permissions) as install and
/// migrate do before they change anything, with the host's progress indicator.
pub fn check_team_services(context: &Context<'_>, settings: &Settings) -> Result<TeamCheck> {
    let _waiting = context.progress("Checking PostgreSQL and Valkey");
    team::check(settings)
}

/// Prints "gateway VERSION started (pid N) at URL" (`verb`: started, restarted).
pub fn print_started(
    context: &Context<'_>,
    installation: &Installation,
    health: &Health,
    verb: &str,
) -> Result<()> {
    let pid = crate::pidfile::running_daemon(&installation.layout.pid_file());
    writeln!(
        context.out(),
        "gateway {} {verb}{} at {}",
        health.version,
        pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default(),
        installation.settings.local_url()
    )?;
    if let Some(degradation) = health.degradation() {
        writeln!(
            context.err(),
            "warning: the gateway is {degradation}; it recovers by itself when the \
             dependency is back (see `mosaic gateway status`)"
        )?;
    }
    Ok(())
}

/// "last lines of LOG:" and the lines, for error messages.
pub fn describe_log_tail(log_file: &Path) -> String {
    match logs::last_lines(log_file, FAILURE_LOG_LINES) {
        Ok(lines) if !lines.is_empty() => format!(
            "last lines of {}:\n{}",
            log_file.display(),
            lines
                .iter()
                .map(|line| format!("  {line}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        _ => format!("(the log {} is empty)", log_file.display()),
    }
}
