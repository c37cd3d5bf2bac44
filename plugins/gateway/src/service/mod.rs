//! Running the daemon as a service: a systemd user unit where `systemctl --user`
//! works, a launchd agent on macOS, and otherwise the built-in supervisor (a
//! detached `mosaic gateway run` with a pid file and a log file).
//!
//! Every manager runs the same command line ([`ServiceSpec::daemon_arguments`]) with
//! the same few non-secret variables ([`ServiceSpec::daemon_environment`]): the
//! daemon reads its settings and secrets from the 0600 `config.json`, never from its
//! argv or environment. Every manager sends the daemon's output to the same log
//! file, and whether a daemon runs is always read from the pid-file lock.

pub mod launchd;
pub mod supervisor;
pub mod systemd;

use std::fmt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};

use crate::layout::Layout;
use crate::pidfile::running_daemon;

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
            ServiceManager::Supervisor => "built-in supervisor (detached process + pid file)",
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
}

impl ServiceSpec {
    /// The daemon's arguments after the executable. No secrets, ever.
    pub fn daemon_arguments(&self) -> Vec<String> {
        let mut arguments = Vec::new();
        if let Some(plugin_dir) = &self.plugin_dir {
            arguments.push("--plugin-dir".to_string());
            arguments.push(plugin_dir.display().to_string());
        }
        arguments.extend([
            "gateway".to_string(),
            "run".to_string(),
            "--data-dir".to_string(),
            self.layout.data_dir.display().to_string(),
        ]);
        arguments
    }

    /// The daemon's environment: where Mosaic's config and run directories are, and
    /// the basics a process needs. No secrets, ever.
    pub fn daemon_environment(&self) -> Vec<(String, String)> {
        vec![
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
        ]
    }
}

/// A daemon being started: the supervisor's child (to notice an early exit).
pub struct Started {
    /// The spawned process, when this process spawned it.
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

/// Stops the daemon and waits until it is gone. Returns the pid that was stopped,
/// `None` when none was running.
pub fn stop(manager: ServiceManager, spec: &ServiceSpec) -> Result<Option<i32>> {
    let pid_file = spec.layout.pid_file();
    let running = running_daemon(&pid_file);
    match manager {
        ServiceManager::Systemd => systemd::stop()?,
        ServiceManager::Launchd => launchd::stop(spec)?,
        ServiceManager::Supervisor => {}
    }
    let Some(pid) = running else {
        return Ok(None);
    };
    if running_daemon(&pid_file) == Some(pid) {
        supervisor::terminate(pid, &pid_file, STOP_TIMEOUT)?;
    }
    Ok(Some(pid))
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
