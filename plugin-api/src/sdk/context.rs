//! [`Context`]: the safe, plugin-side view of a [`HostContext`].
//!
//! A command's `run` receives one. It wraps the raw callbacks in ordinary Rust
//! (`ctx.env("X")`, `ctx.invoke(&["config", "hooks", "install"], &[])`), reads the
//! plugin's declared config keys (`ctx.config::<u64>("todo.max_items")`), checks
//! that a host service exists before using it (`ctx.has_service(…)`), and owns the
//! command's stdout and stderr, so the test harness can capture them in memory.

use std::cell::{OnceCell, RefCell, RefMut};
use std::io::Write;
use std::path::PathBuf;

use abi_stable::std_types::{RResult, RStr};
use anyhow::{anyhow, bail, Context as _, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::abi::{log_level, HostContext, API_VERSION};
use crate::sdk::config::{self, ValueSource};
use crate::sdk::term;
use crate::services::{ProgressEvent, RunInfo, Service};
use crate::spec::ConfigKeySpec;

/// An anonymous temporary file (unlinked at once, so nothing is left behind).
fn tempfile_in_tmp() -> Result<std::fs::File> {
    use std::os::fd::FromRawFd;

    let template = std::env::temp_dir().join(".mosaic-capture-XXXXXX");
    let (fd, path) = nix::unistd::mkstemp(&template)?;
    // SAFETY: mkstemp returned a new, open descriptor that nothing else owns.
    let file = unsafe { std::fs::File::from_raw_fd(fd) };
    std::fs::remove_file(&path)?;
    Ok(file)
}

/// The state of one command run, as seen by the plugin.
pub struct Context<'a> {
    host: &'a HostContext,
    info: RunInfo,
    config_keys: Vec<ConfigKeySpec>,
    config_file: OnceCell<std::result::Result<Value, String>>,
    stdout: RefCell<Box<dyn Write + 'a>>,
    stderr: RefCell<Box<dyn Write + 'a>>,
}

impl<'a> Context<'a> {
    /// Wraps a host context for a plugin that declares `config_keys`; output goes to
    /// the process's stdout and stderr.
    pub fn new(host: &'a HostContext, config_keys: Vec<ConfigKeySpec>) -> Self {
        Self::with_output(
            host,
            config_keys,
            Box::new(std::io::stdout()),
            Box::new(std::io::stderr()),
        )
    }

    /// Like [`Context::new`], with output sent to the given writers (test harness).
    pub fn with_output(
        host: &'a HostContext,
        config_keys: Vec<ConfigKeySpec>,
        stdout: Box<dyn Write + 'a>,
        stderr: Box<dyn Write + 'a>,
    ) -> Self {
        let info_json = (host.services.run_info())(host);
        // A host sends what it has; fields it does not know keep their defaults.
        let info = serde_json::from_str(info_json.as_str()).unwrap_or_default();
        Context {
            host,
            info,
            config_keys,
            config_file: OnceCell::new(),
            stdout: RefCell::new(stdout),
            stderr: RefCell::new(stderr),
        }
    }

    /// The raw context, for passing on across the ABI.
    pub fn host(&self) -> &HostContext {
        self.host
    }

    /// Where data goes: `writeln!(ctx.out(), "…")?`.
    pub fn out(&self) -> RefMut<'_, Box<dyn Write + 'a>> {
        self.stdout.borrow_mut()
    }

    /// Where diagnostics and progress go.
    pub fn err(&self) -> RefMut<'_, Box<dyn Write + 'a>> {
        self.stderr.borrow_mut()
    }

    /// Flushes both streams (the SDK does this after every run).
    pub fn flush(&self) {
        let _ = self.stdout.borrow_mut().flush();
        let _ = self.stderr.borrow_mut().flush();
    }

    /// Everything the host told this run.
    pub fn run_info(&self) -> &RunInfo {
        &self.info
    }

    /// Version of the running `mosaic` host.
    pub fn host_version(&self) -> &str {
        &self.info.host_version
    }

    /// The `mosaic-plugin-api` version of the running host (this plugin's own is
    /// [`crate::API_VERSION`]).
    pub fn host_api_version(&self) -> &str {
        &self.info.api_version
    }

    /// Mosaic's configuration directory (holds `config.json`).
    pub fn config_dir(&self) -> PathBuf {
        PathBuf::from(&self.info.config_dir)
    }

    /// Mosaic's data directory.
    pub fn data_dir(&self) -> PathBuf {
        PathBuf::from(&self.info.data_dir)
    }

    /// Mosaic's cache directory.
    pub fn cache_dir(&self) -> PathBuf {
        PathBuf::from(&self.info.cache_dir)
    }

    /// Mosaic's runtime-state directory.
    pub fn run_dir(&self) -> PathBuf {
        PathBuf::from(&self.info.run_dir)
    }

    /// The fleet run directory (`HB_RUN_DIR`, else `<config_dir>/fleet/run`), shared
    /// by the fleet and hooks plugins.
    pub fn fleet_run_dir(&self) -> PathBuf {
        crate::sdk::activity::fleet_run_dir(|key| self.env(key), &self.config_dir())
    }

    /// `--json` was given.
    pub fn json(&self) -> bool {
        self.info.json
    }

    /// -1 quiet, 0 normal, 1 `-v`, 2 `-vv`.
    pub fn verbosity(&self) -> i8 {
        self.info.verbosity
    }

    /// Whether colour is allowed.
    pub fn color(&self) -> bool {
        self.info.color
    }

    /// Whether stdin is a terminal.
    pub fn stdin_is_tty(&self) -> bool {
        self.info.stdin_is_tty
    }

    /// Whether stdout is a terminal.
    pub fn stdout_is_tty(&self) -> bool {
        self.info.stdout_is_tty
    }

    /// Whether stderr is a terminal.
    pub fn stderr_is_tty(&self) -> bool {
        self.info.stderr_is_tty
    }

    /// An environment variable, with the overrides of this run applied.
    pub fn env(&self, key: &str) -> Option<String> {
        (self.host.services.env())(self.host, RStr::from(key))
            .into_option()
            .map(|value| value.into_string())
    }

    /// Whether the running host offers `service` (every 0.2.x host offers the 0.2.0
    /// services; [`Service`] lists the later ones).
    pub fn has_service(&self, service: Service) -> bool {
        match service {
            Service::Progress => self.host.services.progress().is_some(),
        }
    }

    /// `Ok` when the host offers `service`; otherwise an error naming the service,
    /// the version that added it and the host's version, with the fix.
    pub fn require_service(&self, service: Service) -> Result<()> {
        if self.has_service(service) {
            return Ok(());
        }
        bail!(
            "this plugin needs the host service `{}` (mosaic-plugin-api {} or later; the plugin \
             was built against {API_VERSION}), but this mosaic {} has mosaic-plugin-api {}: \
             upgrade mosaic, or install a version of the plugin built against {}",
            service.name(),
            service.since(),
            self.host_version(),
            self.host_api_version(),
            self.host_api_version()
        )
    }

    /// A spinner on stderr while something is waited for, drawn by the host (after
    /// a short delay, so quick waits do not flicker; hidden with `-q`, `--json` or
    /// when stderr is not a terminal). It disappears when the returned value is
    /// finished or dropped. On a host without the progress service it draws nothing.
    pub fn progress(&self, message: &str) -> Progress<'_> {
        self.start_progress(message, None)
    }

    /// Like [`Context::progress`], a bar for `total` units of work
    /// ([`Progress::set_position`]).
    pub fn progress_bar(&self, message: &str, total: u64) -> Progress<'_> {
        self.start_progress(message, Some(total))
    }

    fn start_progress(&self, message: &str, total: Option<u64>) -> Progress<'_> {
        let id = send_progress(
            self.host,
            &ProgressEvent::Start {
                message: message.to_string(),
                total,
            },
        );
        Progress {
            host: self.host,
            id: id.filter(|id| *id != 0),
        }
    }

    /// The effective value of one of this plugin's declared config keys:
    /// environment > config.json > default. An error names the key, where the bad
    /// value came from and what was expected; an undeclared key is a bug.
    pub fn config<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        self.config_with_flag(key, None)
    }

    /// Like [`Context::config`], with a command-line flag that wins over the rest.
    pub fn config_with_flag<T: DeserializeOwned>(&self, key: &str, flag: Option<T>) -> Result<T> {
        if let Some(value) = flag {
            return Ok(value);
        }
        match self.config_value(key)? {
            Some((value, source)) => decode_config_value(key, value, &source),
            None => bail!(
                "`{key}` is not set and has no default: set it with `mosaic config set {key} VALUE`"
            ),
        }
    }

    /// The raw effective value of a declared key and where it came from, or `None`
    /// when nothing sets it and it has no default. A section on the key's path that
    /// is not an object in config.json is an error naming it.
    pub fn config_value(&self, key: &str) -> Result<Option<(Value, ValueSource)>> {
        let Some(spec) = self.config_keys.iter().find(|spec| spec.key == key) else {
            bail!("bug: config key `{key}` is not declared in this plugin's manifest");
        };
        // Only this plugin's own sections are parsed: a broken section of another
        // plugin (hand-edited, too deep) must not stop this one.
        let file = self
            .config_file
            .get_or_init(|| {
                let mut sections: Vec<&str> = self
                    .config_keys
                    .iter()
                    .filter_map(|spec| spec.key.split('.').next())
                    .collect();
                sections.sort_unstable();
                sections.dedup();
                config::load_sections(&self.config_dir(), &sections)
                    .map_err(|error| format!("{error:#}"))
            })
            .as_ref()
            .map_err(|error| anyhow!("{error}"))?;
        config::resolve_checked(spec, None, |name| self.env(name), file)
    }

    /// Whether the command may ask the user questions: not when `MOSAIC_ASSUME_YES`
    /// is set (in the process or as an override of this run), and not when stdin is
    /// not a terminal.
    pub fn can_prompt(&self) -> bool {
        let assume_yes = self.info.assume_yes
            || self
                .env("MOSAIC_ASSUME_YES")
                .is_some_and(|value| term::is_truthy(&value));
        term::can_prompt(assume_yes, self.info.stdin_is_tty)
    }

    /// Sends a log line through the host's subscriber (prefer `tracing` macros; they
    /// end up here).
    pub fn log(&self, level: u8, target: &str, message: &str) {
        (self.host.services.log())(self.host, level, RStr::from(target), RStr::from(message));
    }

    /// Logs a warning.
    pub fn warn(&self, message: &str) {
        self.log(log_level::WARN, "mosaic", message);
    }

    /// Runs another `mosaic` command through the host, with `env_overrides` visible
    /// to it through [`Context::env`] only. Returns its exit code.
    pub fn invoke(&self, argv: &[&str], env_overrides: &[(&str, &str)]) -> Result<i32> {
        let argv_json = serde_json::to_string(argv).context("encoding invoke arguments")?;
        let overrides: serde_json::Map<String, serde_json::Value> = env_overrides
            .iter()
            .map(|(key, value)| (key.to_string(), serde_json::Value::from(*value)))
            .collect();
        let env_json = serde_json::to_string(&overrides).context("encoding invoke overrides")?;
        // Output of the invoked command goes to the same streams: flush ours first
        // so the two do not interleave out of order.
        self.flush();
        match (self.host.services.invoke())(
            self.host,
            RStr::from(argv_json.as_str()),
            RStr::from(env_json.as_str()),
        ) {
            RResult::ROk(code) => Ok(code),
            RResult::RErr(message) => Err(anyhow!("{}", message.as_str())),
        }
    }

    /// Like [`Context::invoke`], but returns what the command printed on stdout
    /// instead of letting it reach the terminal (stderr still does). For reading
    /// `--json` output of other commands, e.g. `plugins list --json`.
    ///
    /// Works by pointing file descriptor 1 at a temporary file for the duration of
    /// the call (the host and every plugin write stdout through fd 1), so it must not
    /// be used while another thread of the process writes to stdout.
    pub fn invoke_captured(
        &self,
        argv: &[&str],
        env_overrides: &[(&str, &str)],
    ) -> Result<(i32, String)> {
        use std::io::{Read, Seek};
        use std::os::fd::AsRawFd;

        self.flush();
        let _ = std::io::stdout().flush();
        let mut capture = tempfile_in_tmp().context("creating a capture file")?;
        let saved = nix::unistd::dup(1).context("duplicating stdout")?;
        nix::unistd::dup2(capture.as_raw_fd(), 1).context("redirecting stdout")?;
        let result = self.invoke(argv, env_overrides);
        let _ = std::io::stdout().flush();
        let restored = nix::unistd::dup2(saved, 1);
        let _ = nix::unistd::close(saved);
        restored.context("restoring stdout")?;
        let code = result?;
        let mut text = String::new();
        capture.rewind().context("reading captured output")?;
        capture
            .read_to_string(&mut text)
            .context("reading captured output")?;
        Ok((code, text))
    }

    /// Prints `value` as pretty JSON on stdout (what `--json` promises).
    pub fn print_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        let text = serde_json::to_string_pretty(value).context("encoding JSON output")?;
        writeln!(self.out(), "{text}").context("writing to stdout")?;
        Ok(())
    }
}

/// A config value as `T`; text from the environment is read as JSON when it parses
/// (`15`, `true`) and as a string otherwise.
fn decode_config_value<T: DeserializeOwned>(
    key: &str,
    value: Value,
    source: &ValueSource,
) -> Result<T> {
    let fallback = match (&value, source) {
        (Value::String(text), ValueSource::Env(_)) => Some(config::parse_cli_value(text)),
        _ => None,
    };
    if let Some(parsed) = fallback {
        if let Ok(typed) = serde_json::from_value(parsed) {
            return Ok(typed);
        }
    }
    serde_json::from_value(value.clone()).map_err(|error| {
        anyhow!("config `{key}` (from {source}) is {value}: {error}; fix it with `mosaic config set {key} VALUE`")
    })
}

fn send_progress(host: &HostContext, event: &ProgressEvent) -> Option<u64> {
    let progress = host.services.progress()?;
    let json = serde_json::to_string(event).ok()?;
    Some(progress(host, RStr::from(json.as_str())))
}

/// A progress indicator of the host; see [`Context::progress`]. Finished when
/// dropped.
pub struct Progress<'c> {
    host: &'c HostContext,
    id: Option<u64>,
}

impl Progress<'_> {
    /// Replaces the text.
    pub fn set_message(&self, message: &str) {
        if let Some(id) = self.id {
            send_progress(
                self.host,
                &ProgressEvent::Update {
                    id,
                    message: Some(message.to_string()),
                    position: None,
                },
            );
        }
    }

    /// Sets the work done (bars).
    pub fn set_position(&self, position: u64) {
        if let Some(id) = self.id {
            send_progress(
                self.host,
                &ProgressEvent::Update {
                    id,
                    message: None,
                    position: Some(position),
                },
            );
        }
    }

    /// Removes the indicator.
    pub fn finish(mut self) {
        self.finish_now();
    }

    fn finish_now(&mut self) {
        if let Some(id) = self.id.take() {
            send_progress(self.host, &ProgressEvent::Finish { id });
        }
    }
}

impl Drop for Progress<'_> {
    fn drop(&mut self) {
        self.finish_now();
    }
}
