//! Shared helpers of the end-to-end tests: the installed `mosaic` (with its real
//! plugin libraries), a sandbox per test whose HOME, XDG and CLAUDE_HOME directories
//! are temporary, and out-of-tree builds of plugin crates.
//!
//! The binary under test is the one `scripts/install.sh` installed. `scripts/test.sh`
//! installs it once and passes the prefix in `MOSAIC_TEST_PREFIX`; without that
//! variable the first test installs a debug build into `target/test-prefix` (under a
//! lock, so parallel test processes do it once).

use std::collections::hash_map::DefaultHasher;
use std::fs::{self, File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Gid, Uid};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The workspace target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
}

fn lock_file(path: &Path) -> Flock<File> {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap();
    Flock::lock(file, FlockArg::LockExclusive).expect("cannot lock")
}

/// The prefix holding `bin/mosaic` and `lib/mosaic/plugins/` with every plugin.
pub fn installed_prefix() -> &'static Path {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    PREFIX.get_or_init(|| {
        if let Some(prefix) = std::env::var_os("MOSAIC_TEST_PREFIX") {
            return PathBuf::from(prefix);
        }
        let prefix = target_dir().join("test-prefix");
        let _lock = lock_file(&target_dir().join("test-prefix.lock"));
        let status = Command::new("bash")
            .arg(repo_root().join("scripts/install.sh"))
            .args(["--debug", "--prefix"])
            .arg(&prefix)
            .stdin(Stdio::null())
            .status()
            .expect("cannot run scripts/install.sh");
        assert!(status.success(), "scripts/install.sh failed");
        prefix
    })
}

/// The installed library of a first-party plugin (`hooks` → `libmosaic_hooks.so`).
pub fn installed_plugin(name: &str) -> PathBuf {
    installed_prefix()
        .join("lib/mosaic/plugins")
        .join(format!("libmosaic_{}.so", name.replace('-', "_")))
}

/// Builds a plugin crate out of the workspace (like a third party would) and
/// returns the path of a copy of its library that stays as it is.
///
/// Builds share one target directory (`target/out-of-tree`, so `abi_stable` compiles
/// once) and run one at a time, under a lock. Builds of one crate with different
/// features produce the same file there (`target/out-of-tree/debug/lib<name>.so`),
/// so while still holding the lock the library is copied to a directory of its own
/// for this crate and these features, `target/out-of-tree/built/<crate>-<hash>/`, by
/// an atomic rename: a test copying an earlier build from there never sees a torn
/// file.
///
/// Every crate built here needs a library name of its own: cargo names a `cdylib`
/// without a hash, so two crates with one library name overwrite each other's
/// output, and cargo, finding the first one's build still fresh, hands back the
/// second one's library. (Features of one crate are fine: cargo rebuilds when they
/// change.)
pub fn build_out_of_tree(crate_dir: &Path, library_name: &str, features: &[&str]) -> PathBuf {
    let build_target = target_dir().join("out-of-tree");
    let _lock = lock_file(&target_dir().join("out-of-tree.lock"));
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(crate_dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &build_target)
        .stdin(Stdio::null());
    if !features.is_empty() {
        command.arg("--features").arg(features.join(","));
    }
    let output = command.output().expect("cannot run cargo");
    assert!(
        output.status.success(),
        "building {} failed:\n{}",
        crate_dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let file_name = format!("lib{library_name}.so");
    let library = build_target.join("debug").join(&file_name);
    assert!(library.is_file(), "{} was not built", library.display());
    let mut hasher = DefaultHasher::new();
    (crate_dir, features).hash(&mut hasher);
    let crate_name = crate_dir.file_name().unwrap_or_default().to_string_lossy();
    let kept_dir = build_target
        .join("built")
        .join(format!("{crate_name}-{:016x}", hasher.finish()));
    fs::create_dir_all(&kept_dir).unwrap();
    let kept = kept_dir.join(&file_name);
    let partial = kept_dir.join(format!(".{file_name}.partial"));
    fs::copy(&library, &partial).unwrap();
    fs::rename(&partial, &kept).unwrap();
    kept
}

/// Makes a changed copy of a plugin or API crate, for builds the repository does not
/// hold as such (a newer version of a plugin, an incompatible API version).
///
/// The copy is `target/out-of-tree/crates/<name>`: its sources are copied from
/// `source` (without `target/`), and in its `Cargo.toml` every `old` of
/// `manifest_edits` (which must be there) is replaced with its `new`. Files whose
/// content did not change are not rewritten, so cargo's build cache stays valid from
/// one test run to the next. Returns the copy's directory.
pub fn derived_crate(source: &Path, name: &str, manifest_edits: &[(&str, &str)]) -> PathBuf {
    let destination = target_dir().join("out-of-tree").join("crates").join(name);
    let _lock = lock_file(&target_dir().join("out-of-tree.lock"));
    copy_sources(source, &destination);
    let manifest_path = destination.join("Cargo.toml");
    let mut manifest = fs::read_to_string(source.join("Cargo.toml")).unwrap();
    for (old, new) in manifest_edits {
        assert!(
            manifest.contains(old),
            "{} has no `{old}` to replace",
            source.join("Cargo.toml").display()
        );
        manifest = manifest.replace(old, new);
    }
    write_if_changed(&manifest_path, manifest.as_bytes());
    destination
}

/// Copies the directory tree `source` (but any `target/`) to `destination`.
fn copy_sources(source: &Path, destination: &Path) {
    fs::create_dir_all(destination).unwrap();
    for entry in fs::read_dir(source).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if entry.file_name() == "target" {
            continue;
        }
        let copy = destination.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_sources(&path, &copy);
        } else {
            write_if_changed(&copy, &fs::read(&path).unwrap());
        }
    }
}

/// Writes `contents` to `path` unless it already holds exactly that.
fn write_if_changed(path: &Path, contents: &[u8]) {
    if fs::read(path).ok().as_deref() != Some(contents) {
        fs::write(path, contents).unwrap();
    }
}

/// `examples/hello-plugin`, built out of tree once per test process.
pub fn hello_plugin() -> &'static Path {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        build_out_of_tree(
            &repo_root().join("examples/hello-plugin"),
            "mosaic_hello",
            &[],
        )
    })
}

/// `tests/fixtures/fixture-plugin` built with one behaviour feature (see its
/// `Cargo.toml`), or without any (`None`): a working plugin named `fixture`.
pub fn fixture_plugin(feature: Option<&str>) -> PathBuf {
    let features: Vec<&str> = feature.into_iter().collect();
    build_out_of_tree(
        &repo_root().join("tests/fixtures/fixture-plugin"),
        "mosaic_fixture",
        &features,
    )
}

/// What a `mosaic` run printed and returned.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    /// stdout as text.
    pub stdout: String,
    /// stderr as text.
    pub stderr: String,
}

impl Run {
    /// What a finished process printed and returned.
    pub fn from_output(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Panics with both streams unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// The row of `plugins list --json` output whose `field` (e.g. `name` or
    /// `path`) is `value`, if there is one.
    #[track_caller]
    pub fn plugin_row(&self, field: &str, value: &str) -> Option<serde_json::Value> {
        self.json()
            .as_array()
            .unwrap_or_else(|| panic!("not a `plugins list --json` array:\n{}", self.stdout))
            .iter()
            .find(|row| row[field] == value)
            .cloned()
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}):\n{}", self.stdout))
    }
}

/// A private world for one test: HOME, XDG dirs, CLAUDE_HOME and the fleet run dir
/// in a temp dir, and its own prefix with the chosen plugins.
pub struct Sandbox {
    root: tempfile::TempDir,
    prefix: PathBuf,
    extra_env: Vec<(String, String)>,
    /// The uid and gid `mosaic` runs as, when not the test's own.
    runner: Option<(Uid, Gid)>,
}

impl Sandbox {
    /// A sandbox with every installed first-party plugin.
    pub fn new() -> Sandbox {
        Self::with_prefix(installed_prefix().to_path_buf())
    }

    /// A slim install: its own prefix with only the named first-party plugins.
    pub fn with_plugins(plugins: &[&str]) -> Sandbox {
        let root = tempfile::tempdir().expect("temp dir");
        let prefix = root.path().join("prefix");
        let plugin_dir = prefix.join("lib/mosaic/plugins");
        fs::create_dir_all(prefix.join("bin")).unwrap();
        fs::create_dir_all(&plugin_dir).unwrap();
        fs::copy(
            installed_prefix().join("bin/mosaic"),
            prefix.join("bin/mosaic"),
        )
        .unwrap();
        for plugin in plugins {
            let source = installed_plugin(plugin);
            fs::copy(&source, plugin_dir.join(source.file_name().unwrap())).unwrap();
        }
        let mut sandbox = Self::with_prefix_in(root, prefix);
        sandbox.make_dirs();
        sandbox
    }

    fn with_prefix(prefix: PathBuf) -> Sandbox {
        let root = tempfile::tempdir().expect("temp dir");
        let mut sandbox = Self::with_prefix_in(root, prefix);
        sandbox.make_dirs();
        sandbox
    }

    fn with_prefix_in(root: tempfile::TempDir, prefix: PathBuf) -> Sandbox {
        Sandbox {
            root,
            prefix,
            extra_env: Vec::new(),
            runner: None,
        }
    }

    fn make_dirs(&mut self) {
        for dir in [self.home(), self.plugin_scratch()] {
            fs::create_dir_all(&dir).unwrap();
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        }
        fs::set_permissions(self.root.path(), fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// The sandbox root.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `$HOME`.
    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    /// `$CLAUDE_HOME` (= `$HOME/.claude`, where Claude Code also looks).
    pub fn claude_home(&self) -> PathBuf {
        self.home().join(".claude")
    }

    /// Mosaic's config dir (`$HOME/.config/mosaic`).
    pub fn config_dir(&self) -> PathBuf {
        self.home().join(".config/mosaic")
    }

    /// The user plugin dir (`$HOME/.local/share/mosaic/plugins`).
    pub fn user_plugin_dir(&self) -> PathBuf {
        self.home().join(".local/share/mosaic/plugins")
    }

    /// The manifest cache dir (`$HOME/.cache/mosaic`).
    pub fn cache_dir(&self) -> PathBuf {
        self.home().join(".cache/mosaic")
    }

    /// The fleet run dir (`HB_RUN_DIR`).
    pub fn run_dir(&self) -> PathBuf {
        self.config_dir().join("fleet/run")
    }

    /// A directory for tests to put plugin files in (use with `--plugin-dir`).
    pub fn plugin_scratch(&self) -> PathBuf {
        self.root().join("plugins")
    }

    /// Copies a plugin library into [`Sandbox::plugin_scratch`] as
    /// `libmosaic_<name>.so` with mode 0755, and returns the copy's path.
    pub fn add_plugin(&self, library: &Path, name: &str) -> PathBuf {
        let path = self.plugin_scratch().join(format!("libmosaic_{name}.so"));
        fs::copy(library, &path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// The `mosaic` binary of this sandbox.
    pub fn binary(&self) -> PathBuf {
        self.prefix.join("bin/mosaic")
    }

    /// Sets an extra environment variable for every later run.
    pub fn env(&mut self, key: &str, value: &str) -> &mut Sandbox {
        self.extra_env.push((key.to_string(), value.to_string()));
        self
    }

    /// A `Command` for `mosaic ARGS` with the sandbox environment and no stdin.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = Command::new(self.binary());
        command
            .args(args)
            .env("HOME", self.home())
            .env("CLAUDE_HOME", self.claude_home())
            // Claude Code's own directory variable would lead Mosaic to the real one.
            .env_remove("CLAUDE_CONFIG_DIR")
            .env("HB_RUN_DIR", self.run_dir())
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("MOSAIC_CONFIG_DIR")
            .env_remove("MOSAIC_RUN_DIR")
            .env_remove("MOSAIC_PLUGIN_PATH")
            .env_remove("MOSAIC_LOG")
            .env_remove("MOSAIC_ASSUME_YES")
            .env_remove("NO_COLOR")
            .env_remove("TMUX")
            .stdin(Stdio::null());
        for (key, value) in &self.extra_env {
            command.env(key, value);
        }
        if let Some((uid, gid)) = self.runner {
            command
                .uid(uid.as_raw())
                .gid(gid.as_raw())
                .current_dir(self.root());
        }
        command
    }

    /// Makes every later run of `mosaic` an unprivileged user's when the tests run
    /// as root, so permission checks (which root bypasses) really happen: the
    /// sandbox is handed to [`unprivileged_user`] (everything in it now, and what
    /// [`Sandbox::give_to_runner`] hands over later) and runs get its uid and gid
    /// (and no supplementary groups). Not root: nothing changes, the runs stay the
    /// current user's. Fails the test when the binary cannot be reached by that
    /// user (a directory on its path without search permission for others).
    pub fn run_unprivileged(&mut self) -> &mut Sandbox {
        let Some(user) = unprivileged_user() else {
            return self;
        };
        self.runner = Some((user.uid, user.gid));
        for ancestor in self.binary().ancestors().skip(1) {
            let Ok(metadata) = fs::metadata(ancestor) else {
                continue;
            };
            assert!(
                metadata.mode() & 0o001 != 0 || metadata.uid() == user.uid.as_raw(),
                "{} cannot reach {}: {} has mode {:o} (use Sandbox::with_plugins, whose \
                 binary is inside the sandbox, or chmod o+x it)",
                user.name,
                self.binary().display(),
                ancestor.display(),
                metadata.mode() & 0o7777
            );
        }
        let root = self.root().to_path_buf();
        self.give_to_runner(&root);
        self
    }

    /// Hands `path` (and everything below it, links not followed) to the user that
    /// runs `mosaic` after [`Sandbox::run_unprivileged`]; nothing otherwise.
    pub fn give_to_runner(&self, path: &Path) {
        let Some((uid, gid)) = self.runner else {
            return;
        };
        chown_tree(path, uid, gid);
    }

    /// Whether runs happen as another (unprivileged) user.
    pub fn runs_unprivileged(&self) -> bool {
        self.runner.is_some()
    }

    /// Runs `mosaic ARGS` to completion.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Run::from_output(self.command(args).output().expect("cannot run mosaic"))
    }

    /// Runs `mosaic --plugin-dir <plugin scratch dir> ARGS` to completion.
    pub fn run_with_scratch<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command =
            self.command(["--plugin-dir".as_ref(), self.plugin_scratch().as_os_str()]);
        command.args(args);
        Run::from_output(command.output().expect("cannot run mosaic"))
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

/// The account tests run `mosaic` as when they run as root (`nobody`), or `None`
/// when they do not run as root. Root ignores file permissions, so checks of
/// unwritable or unreadable files only mean something as another user; CI runs as
/// root.
pub fn unprivileged_user() -> Option<nix::unistd::User> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let user = nix::unistd::User::from_name("nobody")
        .expect("cannot read the user database")
        .expect("no `nobody` user to run mosaic as without root privileges (useradd nobody)");
    Some(user)
}

/// `chown -hR uid:gid path`.
fn chown_tree(path: &Path, uid: Uid, gid: Gid) {
    std::os::unix::fs::lchown(path, Some(uid.as_raw()), Some(gid.as_raw()))
        .unwrap_or_else(|error| panic!("cannot chown {}: {error}", path.display()));
    let metadata = fs::symlink_metadata(path).unwrap();
    if metadata.is_dir() {
        for entry in fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), uid, gid);
        }
    }
}

/// Whether the tests run in CI: `CI` is set to anything but empty, `0` or `false`.
/// There a test never skips for a missing tool; it fails.
pub fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// How `program`, a tool some tests need, gets installed.
fn install_hint(program: &str) -> String {
    let how = match program {
        "claude" => "npm install -g @anthropic-ai/claude-code",
        "tmux" => "apt-get install tmux",
        "redis-server" => "apt-get install redis-server",
        "initdb" | "pg_ctl" | "psql" => "apt-get install postgresql-15",
        "chromium" => "apt-get install chromium",
        "chromedriver" => "apt-get install chromium-driver",
        other => return format!("install {other}; scripts/test.sh lists what the tests need"),
    };
    format!("install it with `{how}` (scripts/test.sh does this when run as root)")
}

/// Where `program` is on `PATH`, if it is.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|directory| directory.join(program))
        .find(|candidate| {
            fs::metadata(candidate).is_ok_and(|metadata| {
                metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
            })
        })
}

/// `program` from `PATH` for the test `test`, or `None` when the test must be
/// skipped: a missing tool is reported on stderr (naming it and how to install it)
/// and the test returns early, except under `CI=true` ([`running_in_ci`]), where a
/// missing tool fails the test, so CI never passes a test it did not run.
#[track_caller]
pub fn tool_or_skip(test: &str, program: &str) -> Option<PathBuf> {
    tool_or_skip_in(test, program, running_in_ci())
}

#[track_caller]
fn tool_or_skip_in(test: &str, program: &str, in_ci: bool) -> Option<PathBuf> {
    if let Some(found) = find_on_path(program) {
        return Some(found);
    }
    let hint = install_hint(program);
    if in_ci {
        panic!("CI is set but `{program}`, which {test} needs, is not on PATH; {hint}");
    }
    eprintln!("SKIPPED {test}: `{program}` is not on PATH ({hint}; under CI=true this test fails)");
    None
}

/// A real terminal for interactive tests: a private tmux server runs one command in
/// a pty; the test reads the screen (`capture-pane`) and types (`send-keys`). The
/// server is killed on drop.
pub struct Terminal {
    socket: PathBuf,
}

impl Terminal {
    /// Starts `script` (a `sh -c` command line) in a 160x50 terminal whose tmux
    /// socket lives in `directory`.
    pub fn start(directory: &Path, script: &str) -> Terminal {
        let terminal = Terminal {
            socket: directory.join("tmux.sock"),
        };
        let status = terminal
            .tmux()
            .args([
                "new-session",
                "-d",
                "-s",
                "main",
                "-x",
                "160",
                "-y",
                "50",
                script,
            ])
            .status()
            .expect("cannot run tmux: install it (apt-get install tmux)");
        assert!(status.success(), "tmux new-session failed");
        terminal
    }

    fn tmux(&self) -> Command {
        let mut command = Command::new("tmux");
        command
            .arg("-S")
            .arg(&self.socket)
            .env("TERM", "xterm")
            .stdin(Stdio::null());
        command
    }

    /// The screen and its scroll-back, lines joined.
    pub fn screen(&self) -> String {
        let output = self
            .tmux()
            .args(["capture-pane", "-p", "-J", "-t", "main", "-S", "-500"])
            .output()
            .expect("cannot run tmux capture-pane");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits (at most 60 s) until the screen shows `text`.
    #[track_caller]
    pub fn expect(&self, text: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if self.screen().contains(text) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the screen never showed {text:?}:\n{}", self.screen());
    }

    /// Types `text` (literally) and presses Enter.
    pub fn type_line(&self, text: &str) {
        if !text.is_empty() {
            self.send(&["-l", text]);
        }
        self.send(&["Enter"]);
    }

    /// Sends tmux key names, e.g. `["C-c"]`.
    pub fn send(&self, keys: &[&str]) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "main"])
            .args(keys)
            .status()
            .expect("cannot run tmux send-keys");
        assert!(status.success(), "tmux send-keys failed");
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

/// `text` quoted for `sh`.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_present_tool_is_found() {
        assert!(tool_or_skip_in("t", "sh", true).is_some());
    }

    #[test]
    fn a_missing_tool_skips_outside_ci() {
        assert!(tool_or_skip_in("t", "no-such-tool-mosaic", false).is_none());
    }

    #[test]
    #[should_panic(
        expected = "CI is set but `no-such-tool-mosaic`, which t needs, is not \
                               on PATH; install no-such-tool-mosaic"
    )]
    fn a_missing_tool_fails_in_ci_naming_it() {
        tool_or_skip_in("t", "no-such-tool-mosaic", true);
    }

    #[test]
    fn install_hints_name_the_package_and_test_sh() {
        let hint = install_hint("claude");
        assert!(
            hint.contains("npm install -g @anthropic-ai/claude-code"),
            "{hint}"
        );
        assert!(hint.contains("scripts/test.sh"), "{hint}");
        assert!(install_hint("tmux").contains("apt-get install tmux"));
        assert!(install_hint("initdb").contains("postgresql-15"));
    }
}
