//! Running the daemon as a service: a systemd user unit where `systemctl --user`
//! works, a launchd agent on macOS, and otherwise the built-in supervisor (a
//! detached `mosaic gateway supervise` that runs `mosaic gateway run` and restarts
//! it when it crashes, see [`supervisor`] and [`supervision`]).
//!
//! Every manager runs the same command line ([`ServiceSpec::daemon_arguments`]) with
//! the same few non-secret variables ([`ServiceSpec::daemon_environment`]): the
//! daemon reads its settings and secrets from the 0600 `config.json`, never from its
//! argv or environment. Every manager sends the daemon's output to the same log
//! file, which the daemon rotates ([`log_rotation`]), and whether a daemon runs is
//! always read from the pid-file lock.

pub mod launchd;
pub mod log_rotation;
pub mod supervision;
pub mod supervisor;
pub mod supervisor_state;
pub mod systemd;

use std::fmt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};

use crate::layout::Layout;
use crate::pidfile::running_daemon;
use log_rotation::MAX_BYTES_VARIABLE;
use supervisor::StopReport;

/// How long `stop` waits for the daemon to exit after SIGTERM before SIGKILL.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// What runs the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceManager {
    /// A systemd user unit.
    Systemd,
    /// A launchd agent (macOS).
    Launchd,
    /// Mosaic's built-in supervisor: a detached process with a pid file.
    Supervisor,
}

impl ServiceManager {
    /// The word stored in `gateway.service_manager`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceManager::Systemd => "systemd",
            ServiceManager::Launchd => "launchd",
            ServiceManager::Supervisor => "supervisor",
        }
    }

    /// Parses a stored or requested manager.
    pub fn parse(text: &str) -> Result<ServiceManager> {
        match text.trim() {
            "systemd" => Ok(ServiceManager::Systemd),
            "launchd" => Ok(ServiceManager::Launchd),
            "supervisor" => Ok(ServiceManager::Supervisor),
            other => {
                bail!("unknown service manager `{other}`: expected systemd, launchd or supervisor")
            }
        }
    }

    /// Picks the manager: `requested` (MOSAIC_SERVICE_MANAGER) when given, else
    /// launchd on macOS, systemd when `systemctl --user` answers, else the
    /// built-in supervisor.
    pub fn detect(requested: Option<&str>) -> Result<ServiceManager> {
        if let Some(requested) = requested {
            return ServiceManager::parse(requested)
                .map_err(|error| anyhow!("MOSAIC_SERVICE_MANAGER: {error}"));
        }
        if cfg!(target_os = "macos") {
            return Ok(ServiceManager::Launchd);
        }
        if systemd::user_manager_available() {
            return Ok(ServiceManager::Systemd);
        }
        Ok(ServiceManager::Supervisor)
    }

    /// How the summary names it.
    pub fn describe(self) -> &'static str {
        match self {
            ServiceManager::Systemd => "systemd user service (mosaic-gateway.service)",
            ServiceManager::Launchd => "launchd agent (dev.mosaic.gateway)",
            ServiceManager::Supervisor => {
                "built-in supervisor (restarts the daemon when it crashes)"
            }
        }
    }
}

impl fmt::Display for ServiceManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to run the daemon: which `mosaic`, which plugin, which directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The `mosaic` executable.
    pub executable: PathBuf,
    /// The directory of the gateway plugin library, passed as `--plugin-dir` so the
    /// service loads the plugin that installed it.
    pub plugin_dir: Option<PathBuf>,
    /// Every path.
    pub layout: Layout,
    /// `PATH` for the daemon.
    pub path_variable: String,
    /// The log size cap ([`MAX_BYTES_VARIABLE`]) when this run was given one.
    pub log_max_bytes: Option<String>,
}

impl ServiceSpec {
    /// The daemon's arguments after the executable. No secrets, ever.
    pub fn daemon_arguments(&self) -> Vec<String> {
        self.gateway_arguments("run")
    }

    /// The built-in supervisor's arguments after the executable.
    pub fn supervisor_arguments(&self) -> Vec<String> {
        self.gateway_arguments("supervise")
    }

    fn gateway_arguments(&self, subcommand: &str) -> Vec<String> {
        let mut arguments = Vec::new();
        if let Some(plugin_dir) = &self.plugin_dir {
            arguments.push("--plugin-dir".to_string());
            arguments.push(plugin_dir.display().to_string());
        }
        arguments.extend([
            "gateway".to_string(),
            subcommand.to_string(),
            "--data-dir".to_string(),
            self.layout.data_dir.display().to_string(),
        ]);
        arguments
    }

    /// The daemon's environment: where Mosaic's config and run directories are, and
    /// the basics a process needs. No secrets, ever.
    pub fn daemon_environment(&self) -> Vec<(String, String)> {
        let mut environment = vec![
            ("HOME".to_string(), self.layout.home.display().to_string()),
            ("PATH".to_string(), self.path_variable.clone()),
            (
                "MOSAIC_CONFIG_DIR".to_string(),
                self.layout.config_dir.display().to_string(),
            ),
            (
                "MOSAIC_RUN_DIR".to_string(),
                self.layout.run_dir.display().to_string(),
            ),
        ];
        if let Some(max_bytes) = &self.log_max_bytes {
            environment.push((MAX_BYTES_VARIABLE.to_string(), max_bytes.clone()));
        }
        environment
    }
}

/// A daemon being started: the built-in supervisor's process (to notice when it
/// gives up while the daemon starts).
pub struct Started {
    /// The spawned supervisor, when this process spawned it.
    pub child: Option<Child>,
}

/// Writes the service definition (unit, plist; nothing for the supervisor).
pub fn install_definition(manager: ServiceManager, spec: &ServiceSpec) -> Result<()> {
    match manager {
        ServiceManager::Systemd => systemd::install(spec),
        ServiceManager::Launchd => launchd::install(spec),
        ServiceManager::Supervisor => Ok(()),
    }
}

/// Removes the service definition.
pub fn remove_definition(manager: ServiceManager, spec: &ServiceSpec) -> Result<()> {
    match manager {
        ServiceManager::Systemd => systemd::remove(spec),
        ServiceManager::Launchd => launchd::remove(spec),
        ServiceManager::Supervisor => Ok(()),
    }
}

/// Starts the daemon (the caller waits for `/health`).
pub fn start(manager: ServiceManager, spec: &ServiceSpec) -> Result<Started> {
    match manager {
        ServiceManager::Systemd => systemd::start().map(|()| Started { child: None }),
        ServiceManager::Launchd => launchd::start(spec).map(|()| Started { child: None }),
        ServiceManager::Supervisor => {
            supervisor::spawn(spec).map(|child| Started { child: Some(child) })
        }
    }
}

/// Stops the daemon (and the built-in supervisor) and waits until they are gone;
/// says what was running and what it took.
pub fn stop(manager: ServiceManager, spec: &ServiceSpec) -> Result<StopReport> {
    let running = running_daemon(&spec.layout.pid_file());
    match manager {
        ServiceManager::Systemd => systemd::stop()?,
        ServiceManager::Launchd => launchd::stop(spec)?,
        ServiceManager::Supervisor => {}
    }
    // Whatever the manager, a daemon or supervisor still running by its pid files
    // (started by hand, or by another manager before a reinstall) is stopped too.
    let mut report = supervisor::stop(&spec.layout, STOP_TIMEOUT)?;
    if report.daemon_pid.is_none() {
        report.daemon_pid = running;
    }
    Ok(report)
}

/// Stops whatever runs by the pid files when the installation cannot be read:
/// asks systemd or launchd first when their definition is on disk (else they
/// would start it again), then the pid files. Errors of the managers are
/// returned as notes, so the stop by pid files happens anyway.
pub fn stop_without_installation(layout: &Layout) -> Result<(StopReport, Vec<String>)> {
    let running = running_daemon(&layout.pid_file());
    let mut notes = Vec::new();
    if layout.systemd_unit_file().exists() && systemd::user_manager_available() {
        if let Err(error) = systemd::stop() {
            notes.push(format!("{error:#}"));
        }
    }
    let plist = layout.launchd_plist_file();
    if plist.exists() {
        let _ = run_tool("launchctl", &["unload", &plist.display().to_string()]);
    }
    let mut report = supervisor::stop(layout, STOP_TIMEOUT)?;
    if report.daemon_pid.is_none() {
        report.daemon_pid = running;
    }
    Ok((report, notes))
}

/// Runs a service tool (`systemctl`, `launchctl`), failing with its stderr.
pub(crate) fn run_tool(program: &str, arguments: &[&str]) -> Result<()> {
    let output = Command::new(program)
        .args(arguments)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{program}`"))?;
    if output.status.success() {
        return Ok(());
    }
    bail!(
        "`{program} {}` failed ({}): {}",
        arguments.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    )
}

/// Polls `ready` every 100 ms until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if ready() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn spec() -> ServiceSpec {
        ServiceSpec {
            executable: PathBuf::from("/opt/mosaic/bin/mosaic"),
            plugin_dir: Some(PathBuf::from("/opt/mosaic/lib/mosaic/plugins")),
            layout: Layout {
                config_dir: PathBuf::from("/home/ada/.config/mosaic"),
                run_dir: PathBuf::from("/home/ada/.config/mosaic/run"),
                data_dir: PathBuf::from("/home/ada/.local/share/mosaic/gateway"),
                home: PathBuf::from("/home/ada"),
                xdg_config_home: PathBuf::from("/home/ada/.config"),
            },
            path_variable: "/usr/bin:/bin".to_string(),
            log_max_bytes: None,
        }
    }

    #[test]
    fn the_daemon_command_line_and_environment_carry_no_secrets() {
        let spec = spec();
        assert_eq!(
            spec.daemon_arguments(),
            [
                "--plugin-dir",
                "/opt/mosaic/lib/mosaic/plugins",
                "gateway",
                "run",
                "--data-dir",
                "/home/ada/.local/share/mosaic/gateway"
            ]
        );
        let names: Vec<String> = spec
            .daemon_environment()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(
            names,
            ["HOME", "PATH", "MOSAIC_CONFIG_DIR", "MOSAIC_RUN_DIR"]
        );
        let mut arguments = spec.daemon_arguments();
        arguments[3] = "supervise".to_string();
        assert_eq!(spec.supervisor_arguments(), arguments);
    }

    #[test]
    fn managers_parse_and_an_override_wins() {
        assert_eq!(
            ServiceManager::detect(Some("supervisor")).unwrap(),
            ServiceManager::Supervisor
        );
        let message = ServiceManager::detect(Some("upstart"))
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("MOSAIC_SERVICE_MANAGER: unknown"),
            "{message}"
        );
    }
}
