//! An in-process test harness: run a plugin's commands (and the examples in its
//! spec) without the `mosaic` host or a built library.
//!
//! ```ignore
//! let host = TestHost::<Hello>::new();
//! let output = host.run(&["hello", "world", "--shout"]);
//! assert_eq!(output.exit_code, 0);
//! assert_eq!(output.stdout, "HELLO, WORLD!\n");
//! host.check_manifest().unwrap();
//! host.check_examples().unwrap();
//! ```
//!
//! What it does like the host: arguments are parsed by the same spec-to-clap code
//! with the same global flags (`-v`, `-q`, `--json`, …); the manifest is checked by
//! the same validator first (a plugin the host would refuse fails here with the same
//! message); commands are dispatched through the plugin's command table; the
//! progress service records its events in [`TestOutput::progress`].
//!
//! What it does for tests: each `TestHost` has its own temporary directory with
//! `config/`, `data/`, `cache/` and `run/` inside, shared by every run of that host
//! (so one run can see what an earlier one wrote, and [`TestHost::check_examples`]
//! runs every example in order against that same state); the environment a command
//! sees is only what the test set with [`TestHost::env`] (never the process's);
//! `invoke` runs commands of the same plugin, and any other command is "not
//! installed"; [`TestHost::host_api_version`] pretends to be an older 0.2.x host,
//! without the services added since.

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{ROption, RResult, RStr, RString};
use clap::Command;

use crate::abi::{HostContext, HostServices, HostServicesRef, API_VERSION};
use crate::cli::{command_from_spec, global_args, invocation_from_matches};
use crate::sdk::context::Context;
use crate::sdk::plugin::{catch_panic, dispatch, full_manifest, Plugin};
use crate::services::{ProgressEvent, RunInfo};
use crate::spec::{Invocation, Manifest, Mount};
use crate::validate::check_manifest;

/// What one command run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutput {
    /// The exit code the host would use (2 for usage errors, 70 for a panic).
    pub exit_code: i32,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr (including `error: …` for a failed run).
    pub stderr: String,
    /// The events the command sent to the host's progress service, in order.
    pub progress: Vec<ProgressEvent>,
}

impl TestOutput {
    fn usage(exit_code: i32, stdout: String, stderr: String) -> Self {
        TestOutput {
            exit_code,
            stdout,
            stderr,
            progress: Vec::new(),
        }
    }
}

/// A fake host for one plugin type.
pub struct TestHost<P: Plugin> {
    directories: tempfile::TempDir,
    env: BTreeMap<String, String>,
    stdin_is_tty: bool,
    api_version: &'static str,
    plugin: PhantomData<P>,
}

struct HarnessState {
    env: BTreeMap<String, String>,
    info: RunInfo,
    api_version: &'static str,
    progress: Vec<ProgressEvent>,
    next_progress_id: u64,
}

thread_local! {
    static HARNESS_STATES: RefCell<HashMap<u64, HarnessState>> = RefCell::new(HashMap::new());
}

static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);

/// The API versions [`TestHost::host_api_version`] can pretend to be.
const OLDEST_API_VERSION: &str = "0.2.0";

impl<P: Plugin> Default for TestHost<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Plugin> TestHost<P> {
    /// A host with a fresh temporary directory and an empty environment.
    pub fn new() -> Self {
        let directories = tempfile::tempdir().expect("cannot create a temporary directory");
        for name in ["config", "data", "cache", "run"] {
            std::fs::create_dir_all(directories.path().join(name))
                .expect("cannot create test directories");
        }
        TestHost {
            directories,
            env: BTreeMap::new(),
            stdin_is_tty: false,
            api_version: API_VERSION,
            plugin: PhantomData,
        }
    }

    /// Sets an environment variable seen by the plugin's commands.
    pub fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.insert(key.to_string(), value.to_string());
        self
    }

    /// Pretends stdin is (or is not) a terminal; the default is not.
    pub fn stdin_is_tty(&mut self, is_tty: bool) -> &mut Self {
        self.stdin_is_tty = is_tty;
        self
    }

    /// Pretends to be a host built with an older 0.2.x `mosaic-plugin-api`, which
    /// lacks the services added since (see [`crate::Service`]). Only `"0.2.0"` and
    /// this crate's own version are known; anything else panics.
    pub fn host_api_version(&mut self, version: &str) -> &mut Self {
        self.api_version = match version {
            OLDEST_API_VERSION => OLDEST_API_VERSION,
            API_VERSION => API_VERSION,
            other => panic!(
                "TestHost can be a {OLDEST_API_VERSION} or a {API_VERSION} host, not {other}"
            ),
        };
        self
    }

    /// The temporary root holding `config/`, `data/`, `cache/` and `run/`.
    pub fn root(&self) -> &Path {
        self.directories.path()
    }

    /// The config directory commands see.
    pub fn config_dir(&self) -> PathBuf {
        self.root().join("config")
    }

    /// The data directory commands see.
    pub fn data_dir(&self) -> PathBuf {
        self.root().join("data")
    }

    /// The cache directory commands see.
    pub fn cache_dir(&self) -> PathBuf {
        self.root().join("cache")
    }

    /// The run directory commands see.
    pub fn run_dir(&self) -> PathBuf {
        self.root().join("run")
    }

    /// The plugin's manifest as the host sees it (commands filled in).
    pub fn manifest(&self) -> Manifest {
        full_manifest(&P::default())
    }

    /// The host's checks of the manifest: `Err` with the same message the host
    /// gives when it refuses the plugin as broken (`invalid manifest: …`).
    pub fn check_manifest(&self) -> Result<(), String> {
        check_manifest(&self.manifest()).map_err(|problem| format!("invalid manifest: {problem}"))
    }

    /// Runs `mosaic <line>`, split like a shell would: quotes removed, and `~` or a
    /// leading `~/` replaced with the `HOME` set with [`TestHost::env`] (if any).
    pub fn run_line(&self, line: &str) -> TestOutput {
        match shell_words::split(line) {
            Ok(words) => {
                let words: Vec<String> = words
                    .into_iter()
                    .map(|word| self.expand_home(word))
                    .collect();
                let words: Vec<&str> = words.iter().map(String::as_str).collect();
                self.run(&words)
            }
            Err(error) => TestOutput::usage(
                2,
                String::new(),
                format!("cannot split `{line}`: {error}\n"),
            ),
        }
    }

    /// `word` with a leading `~` expanded as a shell would, from the test's `HOME`.
    fn expand_home(&self, word: String) -> String {
        match self.env.get("HOME") {
            Some(home) if word == "~" => home.clone(),
            Some(home) if word.starts_with("~/") => format!("{home}{}", &word[1..]),
            _ => word,
        }
    }

    /// Runs `mosaic <words…>` against this plugin.
    pub fn run(&self, words: &[&str]) -> TestOutput {
        let harness = Harness {
            root: self.root(),
            env: &self.env,
            stdin_is_tty: self.stdin_is_tty,
            api_version: self.api_version,
        };
        harness.run::<P>(words)
    }

    /// Runs every example in the plugin's command specs, in order, against this
    /// host's state, and checks its exit code (`Example::expect_exit_code`, default
    /// 0) and expected output (`Example::expect_stdout_contains`). Returns one
    /// message per failing example.
    pub fn check_examples(&self) -> Result<(), Vec<String>> {
        let manifest = self.manifest();
        let mut failures = Vec::new();
        for command in &manifest.commands {
            for example in command.all_examples() {
                let output = self.run_line(&example.command);
                if output.exit_code != example.expect_exit_code {
                    failures.push(format!(
                        "`mosaic {}` exited {} (expected {}): {}",
                        example.command,
                        output.exit_code,
                        example.expect_exit_code,
                        output.stderr.trim()
                    ));
                } else if let Some(expected) = &example.expect_stdout_contains {
                    if !output.stdout.contains(expected.as_str()) {
                        failures.push(format!(
                            "`mosaic {}` printed {:?}, expected it to contain {:?}",
                            example.command, output.stdout, expected
                        ));
                    }
                }
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures)
        }
    }
}

fn root_command(manifest: &Manifest) -> Command {
    let mut root = Command::new("mosaic")
        .no_binary_name(false)
        .args(global_args())
        .subcommand_required(true);
    let mut config = Command::new("config").subcommand_required(true);
    for command in &manifest.commands {
        match command.mount {
            Mount::Top => root = root.subcommand(command_from_spec(command)),
            Mount::Config => config = config.subcommand(command_from_spec(command)),
        }
    }
    if config.get_subcommands().next().is_some() {
        root = root.subcommand(config);
    }
    root
}

/// What one run of the harness needs to know.
struct Harness<'a> {
    root: &'a Path,
    env: &'a BTreeMap<String, String>,
    stdin_is_tty: bool,
    api_version: &'static str,
}

impl Harness<'_> {
    /// Checks the manifest, parses `words` against the plugin's commands and runs
    /// the result.
    fn run<P: Plugin>(&self, words: &[&str]) -> TestOutput {
        let manifest = full_manifest(&P::default());
        if let Err(problem) = check_manifest(&manifest) {
            return TestOutput::usage(
                1,
                String::new(),
                format!(
                    "error: plugin `{}`: invalid manifest: {problem}\n",
                    manifest.name
                ),
            );
        }
        let argv = std::iter::once("mosaic").chain(words.iter().copied());
        let matches = match root_command(&manifest).try_get_matches_from(argv) {
            Ok(matches) => matches,
            Err(error) => {
                let text = error.render().to_string();
                let exit_code = error.exit_code();
                return if exit_code == 0 {
                    TestOutput::usage(exit_code, text, String::new())
                } else {
                    TestOutput::usage(exit_code, String::new(), text)
                };
            }
        };
        let Some(invocation) = find_invocation(&manifest, &matches) else {
            return TestOutput::usage(
                2,
                String::new(),
                format!("no command of plugin `{}` matched\n", manifest.name),
            );
        };
        let verbosity = if matches.get_flag("quiet") {
            -1
        } else {
            i8::try_from(matches.get_count("verbose").min(2)).unwrap_or(2)
        };
        let text = |path: PathBuf| path.to_string_lossy().into_owned();
        let info = RunInfo {
            host_version: self.api_version.to_string(),
            api_version: self.api_version.to_string(),
            config_dir: text(self.root.join("config")),
            data_dir: text(self.root.join("data")),
            cache_dir: text(self.root.join("cache")),
            run_dir: text(self.root.join("run")),
            verbosity,
            color: false,
            json: matches.get_flag("json"),
            stdin_is_tty: self.stdin_is_tty,
            stdout_is_tty: false,
            stderr_is_tty: false,
            assume_yes: false,
        };
        let handle = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
        HARNESS_STATES.with(|states| {
            states.borrow_mut().insert(
                handle,
                HarnessState {
                    env: self.env.clone(),
                    info,
                    api_version: self.api_version,
                    progress: Vec::new(),
                    next_progress_id: 1,
                },
            )
        });
        let host = HostContext {
            handle,
            services: services_of::<P>(self.api_version),
        };
        let stdout = SharedBuffer::default();
        let stderr = SharedBuffer::default();
        let outcome = {
            let context = Context::with_output(
                &host,
                manifest.config.clone(),
                Box::new(stdout.clone()),
                Box::new(stderr.clone()),
            );
            let outcome = catch_panic(|| dispatch::<P>(&context, &invocation));
            context.flush();
            outcome
        };
        let progress = HARNESS_STATES
            .with(|states| states.borrow_mut().remove(&handle))
            .map(|state| state.progress)
            .unwrap_or_default();
        let mut stderr_text = stderr.text();
        let exit_code = match outcome {
            Ok(Ok(code)) => code,
            Ok(Err(error)) => {
                stderr_text.push_str(&format!("error: {error:#}\n"));
                1
            }
            Err(panic) => {
                stderr_text.push_str(&format!(
                    "error: internal error in plugin `{}`: {panic}\n",
                    manifest.name
                ));
                70
            }
        };
        TestOutput {
            exit_code,
            stdout: stdout.text(),
            stderr: stderr_text,
            progress,
        }
    }
}

fn find_invocation(manifest: &Manifest, matches: &clap::ArgMatches) -> Option<Invocation> {
    let (name, sub_matches) = matches.subcommand()?;
    let (mount, name, sub_matches) = if name == "config" {
        let (inner, inner_matches) = sub_matches.subcommand()?;
        (Mount::Config, inner, inner_matches)
    } else {
        (Mount::Top, name, sub_matches)
    };
    let spec = manifest
        .commands
        .iter()
        .find(|command| command.mount == mount && command.name == name)?;
    Some(invocation_from_matches(spec, sub_matches))
}

thread_local! {
    /// The service tables, one per plugin type and API version: each is leaked once
    /// (prefix-type tables live for the whole program), not once per run.
    static SERVICE_TABLES: RefCell<HashMap<(TypeId, &'static str), HostServicesRef>> =
        RefCell::new(HashMap::new());
}

/// The services of a host with `api_version`, for plugin type `P` (its `invoke`
/// runs `P`'s commands).
fn services_of<P: Plugin>(api_version: &'static str) -> HostServicesRef {
    let key = (TypeId::of::<P>(), api_version);
    if let Some(table) = SERVICE_TABLES.with(|tables| tables.borrow().get(&key).copied()) {
        return table;
    }
    let table = if api_version == OLDEST_API_VERSION {
        services_of_api_0_2_0::<P>()
    } else {
        current_services::<P>()
    };
    SERVICE_TABLES.with(|tables| tables.borrow_mut().insert(key, table));
    table
}

fn current_services<P: Plugin>() -> HostServicesRef {
    HostServices {
        run_info: harness_run_info,
        env: harness_env,
        log: harness_log,
        invoke: harness_invoke::<P>,
        progress: harness_progress,
    }
    .leak_into_prefix()
}

mod api_0_2_0 {
    // The accessors abi_stable derives are unused: the table is read through the
    // `HostServicesRef` it is turned into.
    #![allow(dead_code)]

    use abi_stable::std_types::{ROption, RResult, RStr, RString};
    use abi_stable::StableAbi;

    use crate::abi::HostContext;

    /// The table of host services exactly as mosaic-plugin-api 0.2.0 declared it,
    /// before `progress` was appended. A plugin built against this crate reads a table
    /// made from it the way it reads one from a real 0.2.0 host: through the field
    /// count recorded beside the table, so `progress` reads as missing.
    #[repr(C)]
    #[derive(StableAbi)]
    #[sabi(kind(Prefix(prefix_ref = HostServicesApi020Ref)))]
    #[sabi(missing_field(option))]
    pub(super) struct HostServicesApi020 {
        pub(super) run_info: extern "C" fn(context: &HostContext) -> RString,
        pub(super) env: extern "C" fn(context: &HostContext, key: RStr<'_>) -> ROption<RString>,
        pub(super) log:
            extern "C" fn(context: &HostContext, level: u8, target: RStr<'_>, message: RStr<'_>),
        #[sabi(last_prefix_field)]
        pub(super) invoke: extern "C" fn(
            context: &HostContext,
            argv_json: RStr<'_>,
            env_overrides_json: RStr<'_>,
        ) -> RResult<i32, RString>,
    }
}

use api_0_2_0::{HostServicesApi020, HostServicesApi020Ref};

fn services_of_api_0_2_0<P: Plugin>() -> HostServicesRef {
    let old = HostServicesApi020 {
        run_info: harness_run_info,
        env: harness_env,
        log: harness_log,
        invoke: harness_invoke::<P>,
    }
    .leak_into_prefix();
    // SAFETY: both are a pointer to a `WithMetadata` whose prefix (the metadata and
    // the four 0.2.0 fields) has the same layout; the metadata says how many fields
    // follow, which is how a plugin reads an older host's table across the ABI.
    unsafe { std::mem::transmute::<HostServicesApi020Ref, HostServicesRef>(old) }
}

fn with_state<T>(handle: u64, action: impl FnOnce(&mut HarnessState) -> T) -> Option<T> {
    HARNESS_STATES.with(|states| states.borrow_mut().get_mut(&handle).map(action))
}

extern "C" fn harness_run_info(context: &HostContext) -> RString {
    let info = with_state(context.handle, |state| state.info.clone()).unwrap_or_default();
    RString::from(serde_json::to_string(&info).unwrap_or_default())
}

extern "C" fn harness_env(context: &HostContext, key: RStr<'_>) -> ROption<RString> {
    with_state(context.handle, |state| state.env.get(key.as_str()).cloned())
        .flatten()
        .map(RString::from)
        .into()
}

extern "C" fn harness_log(_context: &HostContext, level: u8, target: RStr<'_>, message: RStr<'_>) {
    eprintln!("[plugin log {level}] {target}: {message}");
}

extern "C" fn harness_progress(context: &HostContext, event_json: RStr<'_>) -> u64 {
    let Ok(event) = serde_json::from_str::<ProgressEvent>(event_json.as_str()) else {
        return 0;
    };
    with_state(context.handle, |state| {
        let id = match event {
            ProgressEvent::Start { .. } => {
                state.next_progress_id += 1;
                state.next_progress_id - 1
            }
            _ => 0,
        };
        state.progress.push(event);
        id
    })
    .unwrap_or(0)
}

extern "C" fn harness_invoke<P: Plugin>(
    context: &HostContext,
    argv_json: RStr<'_>,
    env_overrides_json: RStr<'_>,
) -> RResult<i32, RString> {
    let argv: Vec<String> = match serde_json::from_str(argv_json.as_str()) {
        Ok(argv) => argv,
        Err(error) => return RResult::RErr(RString::from(format!("invalid invoke argv: {error}"))),
    };
    let overrides: BTreeMap<String, String> =
        match serde_json::from_str(env_overrides_json.as_str()) {
            Ok(overrides) => overrides,
            Err(error) => {
                return RResult::RErr(RString::from(format!("invalid invoke env: {error}")))
            }
        };
    let Some((mut env, info, api_version)) = with_state(context.handle, |state| {
        (state.env.clone(), state.info.clone(), state.api_version)
    }) else {
        return RResult::RErr(RString::from("invoke outside a run"));
    };
    env.extend(overrides);
    let manifest = full_manifest(&P::default());
    let provided = manifest.commands.iter().any(|command| {
        let words: Vec<&str> = command
            .mount
            .prefix()
            .iter()
            .copied()
            .chain(std::iter::once(command.name.as_str()))
            .collect();
        argv.len() >= words.len() && argv.iter().zip(&words).all(|(a, b)| a == b)
    });
    if !provided {
        return RResult::RErr(RString::from(format!(
            "`{}` is not provided by plugin `{}` (the only one in this test host)",
            argv.join(" "),
            manifest.name
        )));
    }
    let root = Path::new(&info.config_dir)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let harness = Harness {
        root: &root,
        env: &env,
        stdin_is_tty: info.stdin_is_tty,
        api_version,
    };
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    let output = harness.run::<P>(&words);
    print!("{}", output.stdout);
    eprint!("{}", output.stderr);
    RResult::ROk(output.exit_code)
}

/// A cloneable in-memory writer.
#[derive(Clone, Default)]
struct SharedBuffer(Rc<RefCell<Vec<u8>>>);

impl SharedBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
}

impl std::io::Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::command::{Command, Commands, NoOptions};
    use crate::services::Service;
    use crate::spec::{ArgSpec, CommandSpec, ConfigKeySpec, Example, ValueType};

    #[derive(Default)]
    struct Todo;

    struct Add;

    #[derive(serde::Deserialize)]
    struct AddOptions {
        title: String,
        priority: Option<u64>,
    }

    impl Command for Add {
        type Options = AddOptions;
        fn spec() -> CommandSpec {
            CommandSpec::new("add", "Add a todo")
                .arg(ArgSpec::positional("title", "What").required())
                .arg(ArgSpec::option("priority", "How urgent").value_type(ValueType::Unsigned))
                .with_example(
                    Example::new("todo add milk", "Add").expect_stdout_contains("milk (3)"),
                )
        }
        fn run(context: &Context<'_>, options: AddOptions) -> anyhow::Result<i32> {
            let priority = context.config_with_flag("todo.priority", options.priority)?;
            let _waiting = context.progress("Saving");
            writeln!(context.out(), "{} ({priority})", options.title)?;
            Ok(0)
        }
    }

    struct Sync;

    impl Command for Sync {
        type Options = NoOptions;
        fn spec() -> CommandSpec {
            CommandSpec::new("sync", "Needs the progress service")
        }
        fn run(context: &Context<'_>, _options: NoOptions) -> anyhow::Result<i32> {
            context.require_service(Service::Progress)?;
            Ok(0)
        }
    }

    impl Plugin for Todo {
        fn manifest(&self) -> Manifest {
            Manifest::new("todo", "1.0.0").config_key(
                ConfigKeySpec::new("todo.priority", "Default priority")
                    .default_value(3)
                    .env("TODO_PRIORITY"),
            )
        }
        fn commands(&self) -> Commands {
            Commands::new().group(
                CommandSpec::new("todo", "Keep todos"),
                Commands::new().command::<Add>().command::<Sync>(),
            )
        }
    }

    #[test]
    fn commands_run_with_typed_options_config_and_progress() {
        let mut host = TestHost::<Todo>::new();
        host.check_manifest().unwrap();
        host.check_examples().unwrap();
        let output = host.run(&["todo", "add", "tea", "--priority", "1"]);
        assert_eq!(output.stdout, "tea (1)\n");
        assert_eq!(
            output.progress[0],
            ProgressEvent::Start {
                message: "Saving".into(),
                total: None
            }
        );
        assert_eq!(output.progress[1], ProgressEvent::Finish { id: 1 });
        host.env("TODO_PRIORITY", "5");
        assert_eq!(host.run(&["todo", "add", "tea"]).stdout, "tea (5)\n");
        host.env("TODO_PRIORITY", "soon");
        let bad = host.run(&["todo", "add", "tea"]);
        assert_eq!(bad.exit_code, 1);
        assert!(
            bad.stderr
                .contains("config `todo.priority` (from env TODO_PRIORITY)"),
            "{}",
            bad.stderr
        );
        let usage = host.run(&["todo", "add", "tea", "--priority", "high"]);
        assert_eq!(usage.exit_code, 2, "{usage:?}");
    }

    #[test]
    fn an_older_host_lacks_later_services_and_says_so() {
        let mut host = TestHost::<Todo>::new();
        assert_eq!(host.run(&["todo", "sync"]).exit_code, 0);
        host.host_api_version("0.2.0");
        // Progress is decoration: on a 0.2.0 host it silently draws nothing.
        let added = host.run(&["todo", "add", "tea"]);
        assert_eq!(added.exit_code, 0, "{added:?}");
        assert!(added.progress.is_empty());
        let refused = host.run(&["todo", "sync"]);
        assert_eq!(refused.exit_code, 1);
        assert!(
            refused.stderr.contains(&format!(
                "needs the host service `progress` (mosaic-plugin-api 0.2.1 or later; the plugin \
                 was built against {API_VERSION}), but this mosaic 0.2.0 has mosaic-plugin-api 0.2.0"
            )),
            "{}",
            refused.stderr
        );
    }

    #[derive(Default)]
    struct Clashing;

    impl Plugin for Clashing {
        fn manifest(&self) -> Manifest {
            Manifest::new("clashing", "1.0.0")
        }
        fn commands(&self) -> Commands {
            Commands::new().entry(
                CommandSpec::new("clash", "").arg(ArgSpec::flag("shout", "").short('v')),
                None,
                Commands::new(),
            )
        }
    }

    #[test]
    fn a_manifest_the_host_would_refuse_fails_here_with_the_same_message() {
        let host = TestHost::<Clashing>::new();
        let expected = "invalid manifest: command `clash`: `-v` is already taken";
        assert!(host.check_manifest().unwrap_err().starts_with(expected));
        let output = host.run(&["clash"]);
        assert_eq!(output.exit_code, 1);
        assert!(output.stderr.contains(expected), "{}", output.stderr);
    }
}
