//! [`Context`]: the safe, plugin-side view of a [`HostContext`].
//!
//! A command's `run` receives one. It wraps the raw callbacks in ordinary Rust
//! (`ctx.env("X")`, `ctx.invoke(&["config", "hooks", "install"], &[])`) and owns the
//! command's stdout and stderr, so the test harness can capture them in memory.

use std::cell::{RefCell, RefMut};
use std::io::Write;
use std::path::PathBuf;

use abi_stable::std_types::{RResult, RStr};
use anyhow::{anyhow, Context as _, Result};
use serde::Serialize;

use crate::abi::{log_level, HostContext};
use crate::sdk::term;

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
    stdout: RefCell<Box<dyn Write + 'a>>,
    stderr: RefCell<Box<dyn Write + 'a>>,
}

impl<'a> Context<'a> {
    /// Wraps a host context; output goes to the process's stdout and stderr.
    pub fn new(host: &'a HostContext) -> Self {
        Self::with_output(
            host,
            Box::new(std::io::stdout()),
            Box::new(std::io::stderr()),
        )
    }

    /// Wraps a host context with output sent to the given writers (test harness).
    pub fn with_output(
        host: &'a HostContext,
        stdout: Box<dyn Write + 'a>,
        stderr: Box<dyn Write + 'a>,
    ) -> Self {
        Context {
            host,
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

    /// Version of the running `mosaic` host.
    pub fn host_version(&self) -> &str {
        self.host.host_version.as_str()
    }

    /// Mosaic's configuration directory (holds `config.json`).
    pub fn config_dir(&self) -> PathBuf {
        PathBuf::from(self.host.config_dir.as_str())
    }

    /// Mosaic's data directory.
    pub fn data_dir(&self) -> PathBuf {
        PathBuf::from(self.host.data_dir.as_str())
    }

    /// Mosaic's cache directory.
    pub fn cache_dir(&self) -> PathBuf {
        PathBuf::from(self.host.cache_dir.as_str())
    }

    /// Mosaic's runtime-state directory.
    pub fn run_dir(&self) -> PathBuf {
        PathBuf::from(self.host.run_dir.as_str())
    }

    /// The fleet run directory (`HB_RUN_DIR`, else `<config_dir>/fleet/run`), shared
    /// by the fleet and hooks plugins.
    pub fn fleet_run_dir(&self) -> PathBuf {
        crate::sdk::activity::fleet_run_dir(|key| self.env(key), &self.config_dir())
    }

    /// `--json` was given.
    pub fn json(&self) -> bool {
        self.host.json
    }

    /// -1 quiet, 0 normal, 1 `-v`, 2 `-vv`.
    pub fn verbosity(&self) -> i8 {
        self.host.verbosity
    }

    /// Whether colour is allowed.
    pub fn color(&self) -> bool {
        self.host.color
    }

    /// Whether stdin is a terminal.
    pub fn stdin_is_tty(&self) -> bool {
        self.host.stdin_is_tty
    }

    /// Whether stdout is a terminal.
    pub fn stdout_is_tty(&self) -> bool {
        self.host.stdout_is_tty
    }

    /// An environment variable, with the overrides of this run applied.
    pub fn env(&self, key: &str) -> Option<String> {
        (self.host.env)(self.host, RStr::from(key))
            .into_option()
            .map(|value| value.into_string())
    }

    /// Whether the command may ask the user questions: not when `MOSAIC_ASSUME_YES`
    /// is set (in the process or as an override of this run), and not when stdin is
    /// not a terminal.
    pub fn can_prompt(&self) -> bool {
        let assume_yes = self.host.assume_yes
            || self
                .env("MOSAIC_ASSUME_YES")
                .is_some_and(|value| term::is_truthy(&value));
        term::can_prompt(assume_yes, self.host.stdin_is_tty)
    }

    /// Sends a log line through the host's subscriber (prefer `tracing` macros; they
    /// end up here).
    pub fn log(&self, level: u8, target: &str, message: &str) {
        (self.host.log)(self.host, level, RStr::from(target), RStr::from(message));
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
        match (self.host.invoke)(
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
