//! One module per `mosaic gateway` command (declaration + a short `run`), and what
//! the lifecycle commands share: loading the installation, starting the daemon and
//! waiting for it to answer `/health`.

pub mod install;
pub mod logs;
pub mod migrate;
pub mod restart;
pub mod run;
pub mod start;
pub mod status;
pub mod stop;
pub mod uninstall;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use mosaic_plugin_api::sdk::config;
use mosaic_plugin_api::serde_json::Value;
use mosaic_plugin_api::{CommandSpec, Context, Example};

use crate::client::{GatewayClient, Health};
use crate::layout::{current_executable, own_library_dir, Layout};
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
        "Run and manage the local gateway daemon (auth, storage)",
    )
    .long_about(
        "The gateway is a local daemon with a JSON API (users, sessions, admin) that \
             the agents and the web UI talk to. `mosaic gateway install` configures it, \
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
    })
}

/// The installation, or `None` when `gateway install` has not run.
pub fn load_installation(context: &Context<'_>) -> Result<Option<Installation>> {
    let layout = Layout::from_context(context, None);
    let file = config::load(&layout.config_dir)?;
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

/// Starts the daemon and waits, with the host's progress indicator, until
/// `/health` answers. On failure the error ends with the last lines of the log.
pub fn start_and_wait(
    context: &Context<'_>,
    manager: ServiceManager,
    spec: &ServiceSpec,
    settings: &Settings,
) -> Result<Health> {
    let url = settings.local_url();
    let log_file = spec.layout.log_file();
    let mut started = service::start(manager, spec)?;
    let client = GatewayClient::new(&url, Duration::from_secs(2));
    let _waiting = context.progress(&format!("Waiting for the gateway at {url}/health"));
    let deadline = Instant::now() + HEALTH_TIMEOUT;
    let failure = loop {
        if let Some(child) = started.child.as_mut() {
            if let Some(status) = child
                .try_wait()
                .context("cannot check the daemon process")?
            {
                break format!("the gateway exited ({status}) while starting");
            }
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
    bail!("{failure}\n{}", describe_log_tail(&log_file))
}

/// Stops the daemon through `manager` and waits, with the host's progress
/// indicator, until it has exited. Returns the pid that was stopped, `None` when
/// none was running.
pub fn stop_and_wait(
    context: &Context<'_>,
    manager: ServiceManager,
    spec: &ServiceSpec,
) -> Result<Option<i32>> {
    let _waiting = context.progress("Waiting for the gateway to stop");
    service::stop(manager, spec)
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
