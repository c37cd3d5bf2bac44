//! Where the gateway keeps its files. One place decides every path, so the CLI, the
//! daemon and the service definitions always agree.
//!
//! | what | path |
//! | --- | --- |
//! | settings (0600, with secrets) | `<config>/config.json`, section `gateway` |
//! | one-time bootstrap token (0600) | `<config>/gateway/bootstrap-token` |
//! | SQLite database (local tier) | `<data>/gateway/gateway.db` |
//! | daemon log (+ rotated `gateway.log.1`…) | `<data>/gateway/gateway.log` |
//! | pid file (+ its lock) | `<run>/gateway/gateway.pid` |
//! | built-in supervisor's pid file (+ its lock) | `<run>/gateway/supervisor.pid` |
//! | built-in supervisor's state (restarts, last exit) | `<run>/gateway/supervisor.json` |
//! | lock held by start/stop/restart | `<run>/gateway/.lifecycle.lock` |
//! | systemd user unit | `$XDG_CONFIG_HOME/systemd/user/mosaic-gateway.service` |
//! | launchd agent | `~/Library/LaunchAgents/dev.mosaic.gateway.plist` |

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use mosaic_plugin_api::sdk::config::config_path;
use mosaic_plugin_api::Context;

/// The systemd unit name.
pub const SYSTEMD_UNIT_NAME: &str = "mosaic-gateway.service";
/// The launchd label.
pub const LAUNCHD_LABEL: &str = "dev.mosaic.gateway";

/// Every path the gateway uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Mosaic's config directory.
    pub config_dir: PathBuf,
    /// Mosaic's run directory.
    pub run_dir: PathBuf,
    /// The gateway's data directory (database and log).
    pub data_dir: PathBuf,
    /// The user's home directory (for service definitions).
    pub home: PathBuf,
    /// `$XDG_CONFIG_HOME`, else `~/.config` (systemd's user unit directory base).
    pub xdg_config_home: PathBuf,
}

impl Layout {
    /// The layout of this run. `data_dir` overrides `<data>/gateway` (the service
    /// passes it to the daemon explicitly).
    pub fn from_context(context: &Context<'_>, data_dir: Option<PathBuf>) -> Layout {
        let home = context
            .env("HOME")
            .filter(|home| !home.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        let xdg_config_home = context
            .env("XDG_CONFIG_HOME")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".config"));
        Layout {
            config_dir: context.config_dir(),
            run_dir: context.run_dir(),
            data_dir: data_dir.unwrap_or_else(|| context.data_dir().join("gateway")),
            home,
            xdg_config_home,
        }
    }

    /// `config.json`.
    pub fn config_file(&self) -> PathBuf {
        config_path(&self.config_dir)
    }

    /// `<config>/gateway`, private to the user (0700).
    pub fn private_dir(&self) -> PathBuf {
        self.config_dir.join("gateway")
    }

    /// The one-time token that authorises creating the first admin.
    pub fn bootstrap_token_file(&self) -> PathBuf {
        self.private_dir().join("bootstrap-token")
    }

    /// The SQLite database of the local tier.
    pub fn database_file(&self) -> PathBuf {
        self.data_dir.join("gateway.db")
    }

    /// The daemon's log file.
    pub fn log_file(&self) -> PathBuf {
        self.data_dir.join("gateway.log")
    }

    /// The pid file the daemon writes (and holds a lock beside) while it runs.
    pub fn pid_file(&self) -> PathBuf {
        self.run_files_dir().join("gateway.pid")
    }

    /// The directory of the run-time files (pid files, locks, supervisor state).
    pub fn run_files_dir(&self) -> PathBuf {
        self.run_dir.join("gateway")
    }

    /// The pid file the built-in supervisor writes (and holds a lock beside).
    pub fn supervisor_pid_file(&self) -> PathBuf {
        self.run_files_dir().join("supervisor.pid")
    }

    /// The built-in supervisor's state: daemon pid, restarts, last exit.
    pub fn supervisor_state_file(&self) -> PathBuf {
        self.run_files_dir().join("supervisor.json")
    }

    /// What start, stop and restart lock (`FileLock` locks `.lifecycle.lock`
    /// beside it), so two of them never interleave.
    pub fn lifecycle_lock_subject(&self) -> PathBuf {
        self.run_files_dir().join("lifecycle")
    }

    /// The `number`th rotated log (`gateway.log.1` is the newest).
    pub fn rotated_log_file(&self, number: u32) -> PathBuf {
        rotated_log_path(&self.log_file(), number)
    }

    /// The systemd user unit.
    pub fn systemd_unit_file(&self) -> PathBuf {
        self.xdg_config_home
            .join("systemd/user")
            .join(SYSTEMD_UNIT_NAME)
    }

    /// The launchd agent.
    pub fn launchd_plist_file(&self) -> PathBuf {
        self.home
            .join("Library/LaunchAgents")
            .join(format!("{LAUNCHD_LABEL}.plist"))
    }
}

/// `LOG.number`: where the `number`th rotated copy of `log_file` is kept.
pub fn rotated_log_path(log_file: &Path, number: u32) -> PathBuf {
    let mut name = log_file.as_os_str().to_owned();
    name.push(format!(".{number}"));
    PathBuf::from(name)
}

/// The `mosaic` executable running this command (the daemon runs the same one).
pub fn current_executable() -> anyhow::Result<PathBuf> {
    use anyhow::Context as _;
    std::env::current_exe().context("cannot find the path of the running mosaic executable")
}

/// The directory of the library this code was loaded from (the installed gateway
/// plugin), so the service loads the very same plugin. `None` when it cannot be
/// told (then the service relies on the normal plugin search path).
pub fn own_library_dir() -> Option<PathBuf> {
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::uninit();
    let address = own_library_dir as *const libc::c_void;
    // SAFETY: dladdr only reads the address and fills `info`; it returns 0 (and
    // leaves `info` unspecified) on failure, which we check before reading it.
    let found = unsafe { libc::dladdr(address, info.as_mut_ptr()) };
    if found == 0 {
        return None;
    }
    // SAFETY: dladdr succeeded, so `info` is initialised.
    let info = unsafe { info.assume_init() };
    if info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dli_fname is a NUL-terminated string owned by the dynamic loader.
    let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
    let path = Path::new(std::ffi::OsStr::from_bytes(name.to_bytes()));
    let is_plugin = path
        .file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with("libmosaic_gateway"));
    is_plugin
        .then(|| path.parent().map(Path::to_path_buf))
        .flatten()
        .filter(|dir| dir.is_absolute())
}
