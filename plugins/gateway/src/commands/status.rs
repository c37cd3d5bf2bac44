//! `mosaic gateway status [--json]`: installed, service manager, running + pid, URL,
//! health, tier (and for the team tier the health of PostgreSQL and Valkey), version,
//! admin present, and for the built-in supervisor its restarts and the daemon's last
//! exit — secrets never shown. It shows what it can read: whether the daemon runs
//! comes from the pid files, not from config.json.
//!
//! Exit codes (documented in the command's help): 0 running, 3 not running (like
//! `systemctl status`), 4 running without an installation, 1 config.json unreadable.

use std::io::Write;
use std::time::Duration;

use anyhow::{Error, Result};
use mosaic_plugin_api::serde_json::{json, Value};
use mosaic_plugin_api::{Command, CommandSpec, Context, Example, NoOptions};

use super::{load_gateway_config, recorded_manager};
use crate::client::GatewayClient;
use crate::clock::unix_now;
use crate::layout::Layout;
use crate::pidfile::{running_daemon, running_supervisor};
use crate::service::supervisor_state::{SupervisorPhase, SupervisorState};
use crate::service::ServiceManager;
use crate::settings::{Settings, Tier, SETTINGS};
use crate::storage::sqlite::admin_exists_in;
use crate::storage::team;

/// Exit code when the daemon is not running.
pub const EXIT_NOT_RUNNING: i32 = 3;
/// Exit code when a daemon runs but config.json has no gateway section.
pub const EXIT_RUNNING_NOT_INSTALLED: i32 = 4;
/// Exit code when config.json cannot be read (what could be told is still shown).
pub const EXIT_UNREADABLE: i32 = 1;

/// `mosaic gateway status`.
pub struct Status;

impl Command for Status {
    type Options = NoOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "status",
            "Show whether the gateway is installed, running and healthy",
        )
        .long_about(
            "Show whether the gateway is installed and running (with its pid), its URL, \
             health, tier, version, whether an admin exists and, with the built-in \
             supervisor, how often it restarted the daemon and how the daemon last \
             exited. Secrets are never shown. Whether it runs is read from the pid files, \
             so it is shown even when config.json cannot be read.\n\n\
             Exit codes: 0 the daemon runs; 3 it does not run (not installed, stopped, \
             or the supervisor gave up after repeated crashes); 4 a daemon runs but \
             config.json has no gateway section (stop it with `mosaic gateway stop` or \
             set it up again with `mosaic gateway install`); 1 config.json cannot be \
             read (the error says where).",
        )
        .with_example(
            Example::new(
                "gateway status --json",
                "As one JSON document (exit 3: not running)",
            )
            .expect_exit_code(EXIT_NOT_RUNNING)
            .expect_stdout_contains("\"installed\": false"),
        )
    }

    fn run(context: &Context<'_>, _options: NoOptions) -> Result<i32> {
        status(context)
    }
}

/// What the pid files and the supervisor's state file say (no config needed).
struct Processes {
    daemon_pid: Option<i32>,
    supervisor_pid: Option<i32>,
    supervisor: Option<SupervisorState>,
}

impl Processes {
    fn read(layout: &Layout) -> Processes {
        Processes {
            daemon_pid: running_daemon(&layout.pid_file()),
            supervisor_pid: running_supervisor(&layout.supervisor_pid_file()),
            supervisor: SupervisorState::load(&layout.supervisor_state_file()),
        }
    }

    /// The supervisor's state as `gateway status` tells it: a state file that
    /// says "running" while no supervisor holds its lock is out of date.
    fn supervisor_phase(&self) -> Option<String> {
        let state = self.supervisor.as_ref()?;
        let phase = match (&state.phase, self.supervisor_pid) {
            (SupervisorPhase::Running | SupervisorPhase::Restarting { .. }, None) => {
                format!(
                    "not running (supervisor pid {} is gone)",
                    state.supervisor_pid
                )
            }
            (phase, Some(pid)) => format!("{} (pid {pid})", phase.describe()),
            (phase, None) => phase.describe(),
        };
        Some(phase)
    }

    /// The state as one word for `--json`: running, restarting, gave_up, stopped,
    /// or gone (the file says running but the supervisor is not).
    fn supervisor_state_name(&self) -> Option<&'static str> {
        let state = self.supervisor.as_ref()?;
        Some(match (&state.phase, self.supervisor_pid) {
            (SupervisorPhase::Running | SupervisorPhase::Restarting { .. }, None) => "gone",
            (SupervisorPhase::Running, Some(_)) => "running",
            (SupervisorPhase::Restarting { .. }, Some(_)) => "restarting",
            (SupervisorPhase::GaveUp { .. }, _) => "gave_up",
            (SupervisorPhase::Stopped, _) => "stopped",
        })
    }

    fn gave_up(&self) -> Option<&SupervisorState> {
        self.supervisor
            .as_ref()
            .filter(|state| matches!(state.phase, SupervisorPhase::GaveUp { .. }))
            .filter(|_| self.supervisor_pid.is_none() && self.daemon_pid.is_none())
    }

    /// "1 restart; last exit: killed by SIGKILL 12 s ago".
    fn supervisor_summary(&self) -> Option<String> {
        let state = self.supervisor.as_ref()?;
        let plural = if state.restarts == 1 { "" } else { "s" };
        let mut text = format!(
            "{}; {} restart{plural}",
            self.supervisor_phase()?,
            state.restarts
        );
        if let Some(exit) = &state.last_exit {
            let ago = (unix_now() - exit.unix_time).max(0);
            text.push_str(&format!("; last exit: {} {ago} s ago", exit.describe()));
        }
        Some(text)
    }

    fn supervisor_json(&self) -> Value {
        match &self.supervisor {
            None => Value::Null,
            Some(state) => json!({
                "pid": self.supervisor_pid,
                "running": self.supervisor_pid.is_some(),
                "state": self.supervisor_state_name(),
                "description": self.supervisor_phase(),
                "restarts": state.restarts,
                "last_exit": state.last_exit.as_ref().map(|exit| exit.describe()),
                "last_exit_code": state.last_exit.as_ref().and_then(|exit| exit.code),
                "last_exit_signal": state.last_exit.as_ref().and_then(|exit| exit.signal.clone()),
                "last_exit_unix": state.last_exit.as_ref().map(|exit| exit.unix_time),
                "gave_up": matches!(state.phase, SupervisorPhase::GaveUp { .. }),
            }),
        }
    }

    /// The first line of the human status.
    fn headline(&self, installed: bool) -> String {
        match (installed, self.daemon_pid) {
            (false, Some(pid)) => format!(
                "gateway: running (pid {pid}) but not installed: config.json has no gateway \
                 section; stop it with `mosaic gateway stop` or set it up again with \
                 `mosaic gateway install` (the data is kept)"
            ),
            (false, None) => {
                "gateway: not installed (install it with `mosaic gateway install`)".to_string()
            }
            (true, Some(pid)) => format!("gateway: running (pid {pid})"),
            (true, None) => match (self.gave_up(), self.supervisor_pid) {
                (Some(state), _) => format!(
                    "gateway: not running: the supervisor {}{}; read `mosaic gateway logs`, \
                     fix the cause, then `mosaic gateway start`",
                    state.phase.describe(),
                    state
                        .last_exit
                        .as_ref()
                        .map(|exit| format!(" (last time the daemon {})", exit.describe()))
                        .unwrap_or_default()
                ),
                (None, Some(pid)) => {
                    format!("gateway: not running: the supervisor (pid {pid}) is restarting it")
                }
                (None, None) => {
                    "gateway: not running (start it with `mosaic gateway start`)".to_string()
                }
            },
        }
    }

    fn exit_code(&self, installed: bool) -> i32 {
        match (installed, self.daemon_pid) {
            (true, Some(_)) => 0,
            (false, Some(_)) => EXIT_RUNNING_NOT_INSTALLED,
            (_, None) => EXIT_NOT_RUNNING,
        }
    }
}

/// Prints the status; returns the exit code (see the module doc).
pub fn status(context: &Context<'_>) -> Result<i32> {
    let layout = Layout::from_context(context, None);
    let processes = Processes::read(&layout);
    let read = load_gateway_config(&layout).and_then(|file| {
        let manager = recorded_manager(&file)?;
        let settings = Settings::from_file(&file)?;
        Ok((manager, settings))
    });
    match read {
        Ok((manager, settings)) => {
            // A state file left by the built-in supervisor of an earlier install
            // says nothing about a systemd or launchd service.
            let processes = match manager {
                Some(ServiceManager::Systemd | ServiceManager::Launchd)
                    if processes.supervisor_pid.is_none() =>
                {
                    Processes {
                        supervisor: None,
                        ..processes
                    }
                }
                _ => processes,
            };
            status_with_settings(context, &layout, &processes, manager, &settings)
        }
        Err(error) => status_without_settings(context, &layout, &processes, &error),
    }
}

/// The status when config.json cannot be read: what the pid files say, and why
/// the rest is unknown.
fn status_without_settings(
    context: &Context<'_>,
    layout: &Layout,
    processes: &Processes,
    error: &Error,
) -> Result<i32> {
    if context.json() {
        context.print_json(&json!({
            "installed": Value::Null,
            "running": processes.daemon_pid.is_some(),
            "pid": processes.daemon_pid,
            "supervisor": processes.supervisor_json(),
            "error": format!("{error:#}"),
            "config_file": layout.config_file().display().to_string(),
            "log_file": layout.log_file().display().to_string(),
        }))?;
    } else {
        let line = match processes.daemon_pid {
            Some(pid) => format!("gateway: running (pid {pid})"),
            None => "gateway: not running".to_string(),
        };
        writeln!(
            context.out(),
            "{line}; its settings cannot be read (see below)"
        )?;
        if let Some(summary) = processes.supervisor_summary() {
            writeln!(context.out(), "  supervisor:       {summary}")?;
        }
        writeln!(
            context.out(),
            "  log:              {}",
            layout.log_file().display()
        )?;
    }
    writeln!(
        context.err(),
        "error: {error:#}\n(`mosaic gateway stop` still works from the pid files)"
    )?;
    Ok(EXIT_UNREADABLE)
}

/// "yes", "no", or "unknown (cannot read FILE: REASON)".
fn describe_admin_present(admin_present: &std::result::Result<bool, String>) -> String {
    match admin_present {
        Ok(true) => "yes".to_string(),
        Ok(false) => "no".to_string(),
        Err(reason) => format!("unknown ({reason})"),
    }
}

fn status_with_settings(
    context: &Context<'_>,
    layout: &Layout,
    processes: &Processes,
    manager: Option<ServiceManager>,
    settings: &Settings,
) -> Result<i32> {
    let pid = processes.daemon_pid;
    let url = settings.local_url();
    let checking = context.progress(&format!("Checking the gateway at {url}"));
    let health = pid.map(|_| {
        GatewayClient::new(&url, Duration::from_secs(2))
            .health()
            .map_err(|error| format!("{error:#}"))
    });
    // The team tier's services are checked from here too, so their state shows
    // whether or not the daemon runs.
    let (dependencies, admin_present) = match settings.tier {
        Tier::Local => {
            let database = layout.database_file();
            let admin = admin_exists_in(&database).map_err(|error| {
                // SQLite's own words ("file is not a database"), with the file named
                // once.
                let shown = database.display().to_string();
                if error.to_string().contains(&shown) {
                    format!("{error:#}")
                } else {
                    format!("cannot read {shown}: {error}")
                }
            });
            (Vec::new(), admin)
        }
        Tier::Team => {
            checking.set_message("Checking PostgreSQL and Valkey");
            let (dependencies, admin) = team::probe(settings)?;
            let admin = admin.ok_or_else(|| {
                match dependencies.iter().find_map(|health| health.error.as_ref()) {
                    Some(error) => format!("cannot ask the team tier's storage: {error}"),
                    None => "cannot ask the team tier's storage".to_string(),
                }
            });
            (dependencies, admin)
        }
    };
    drop(checking);
    let installed = manager.is_some();
    let version = health
        .as_ref()
        .and_then(|health| health.as_ref().ok())
        .map(|health| health.version.clone());
    let health_text = match &health {
        None => "not running".to_string(),
        Some(Ok(health)) => health
            .degradation()
            .unwrap_or_else(|| health.status.clone()),
        Some(Err(error)) => format!("unreachable ({error})"),
    };
    let dependency_json: serde_json::Map<String, serde_json::Value> = dependencies
        .iter()
        .map(|health| {
            let value = json!({
                "status": if health.error.is_some() { "unavailable" } else { "ok" },
                "address": health.address,
                "error": health.error,
            });
            (health.dependency.as_str().to_string(), value)
        })
        .collect();
    if context.json() {
        let supervisor = processes.supervisor.as_ref();
        let mut document = json!({
            "installed": installed,
            "service_manager": manager.map(|manager| manager.as_str()),
            "running": pid.is_some(),
            "pid": pid,
            "url": url,
            "dashboard_url": format!("{url}/"),
            "health": health_text,
            "version": version,
            "admin_present": admin_present.as_ref().ok(),
            "admin_present_error": admin_present.as_ref().err(),
            "restarts": supervisor.map(|state| state.restarts),
            "last_exit": supervisor
                .and_then(|state| state.last_exit.as_ref())
                .map(|exit| exit.describe()),
            "supervisor": processes.supervisor_json(),
            "dependencies": dependency_json,
            "config_file": layout.config_file().display().to_string(),
            "log_file": layout.log_file().display().to_string(),
            "database_file": layout.database_file().display().to_string(),
        });
        for setting in SETTINGS {
            document[setting.name] = setting.shown_json(settings);
        }
        context.print_json(&document)?;
    } else {
        let mut out = context.out();
        writeln!(out, "{}", processes.headline(installed))?;
        if let Some(manager) = manager {
            writeln!(out, "  service manager:  {}", manager.describe())?;
            if let Some(summary) = processes.supervisor_summary() {
                writeln!(out, "  supervisor:       {summary}")?;
            }
            writeln!(out, "  URL:              {url}")?;
            writeln!(out, "  dashboard:        {url}/")?;
            writeln!(out, "  health:           {health_text}")?;
            for setting in SETTINGS {
                if let Some(label) = setting.status_label {
                    writeln!(out, "  {label:<18}{}", setting.shown_text(settings))?;
                }
            }
            for health in &dependencies {
                let label = format!("{}:", health.dependency.describe());
                match &health.error {
                    None => writeln!(out, "  {label:<18}ok ({})", health.address)?,
                    Some(error) => writeln!(out, "  {label:<18}unavailable: {error}")?,
                }
            }
            writeln!(
                out,
                "  version:          {}",
                version.as_deref().unwrap_or("-")
            )?;
            writeln!(
                out,
                "  admin present:    {}",
                describe_admin_present(&admin_present)
            )?;
            writeln!(
                out,
                "  config:           {}",
                layout.config_file().display()
            )?;
            writeln!(out, "  log:              {}", layout.log_file().display())?;
        }
    }
    Ok(processes.exit_code(installed))
}
