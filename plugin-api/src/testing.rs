//! An in-process test harness: run a plugin's commands (and the examples in its
//! spec) without the `mosaic` host or a built library.
//!
//! ```ignore
//! let host = TestHost::<Hello>::new();
//! let output = host.run(&["hello", "world", "--shout"]);
//! assert_eq!(output.exit_code, 0);
//! assert_eq!(output.stdout, "HELLO, WORLD!\n");
//! host.check_examples().unwrap();
//! ```
//!
//! Arguments are parsed by the same spec-to-clap code as the host's, each host gets
//! fresh temporary config/data/cache/run directories, and the environment a command
//! sees is only what the test set with [`TestHost::env`] (never the process's).
//! `invoke` runs commands of the same plugin; any other command is "not installed".

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use abi_stable::std_types::{ROption, RResult, RStr, RString};
use clap::{Arg, ArgAction, Command};

use crate::abi::HostContext;
use crate::cli::{command_from_spec, invocation_from_matches};
use crate::sdk::context::Context;
use crate::sdk::plugin::{catch_panic, Plugin};
use crate::spec::{Invocation, Manifest, Mount};

/// What one command run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutput {
    /// The exit code the host would use (2 for usage errors, 70 for a panic).
    pub exit_code: i32,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr (including `error: …` for a failed run).
    pub stderr: String,
}

/// A fake host for one plugin type.
pub struct TestHost<P: Plugin> {
    directories: tempfile::TempDir,
    env: BTreeMap<String, String>,
    stdin_is_tty: bool,
    plugin: PhantomData<P>,
}

struct HarnessState {
    env: BTreeMap<String, String>,
}

thread_local! {
    static HARNESS_STATES: RefCell<HashMap<u64, HarnessState>> = RefCell::new(HashMap::new());
}

static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);

impl<P: Plugin> Default for TestHost<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Plugin> TestHost<P> {
    /// A host with fresh temporary directories and an empty environment.
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

    /// The temporary root holding `config/`, `data/`, `cache/` and `run/`.
    pub fn root(&self) -> &Path {
        self.directories.path()
    }

    /// The config directory commands see.
    pub fn config_dir(&self) -> PathBuf {
        self.root().join("config")
    }

    /// The run directory commands see.
    pub fn run_dir(&self) -> PathBuf {
        self.root().join("run")
    }

    /// The plugin's manifest.
    pub fn manifest(&self) -> Manifest {
        P::default().manifest()
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
            Err(error) => TestOutput {
                exit_code: 2,
                stdout: String::new(),
                stderr: format!("cannot split `{line}`: {error}\n"),
            },
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
        run_in_harness::<P>(self.root(), &self.env, self.stdin_is_tty, words)
    }

    /// Runs every example in the plugin's command specs and checks its exit code and
    /// expected output. Returns one message per failing example.
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
        .arg(
            Arg::new("json")
                .long("json")
                .global(true)
                .action(ArgAction::SetTrue),
        )
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

/// Parses `words` against the plugin's commands and runs the result.
fn run_in_harness<P: Plugin>(
    root: &Path,
    env: &BTreeMap<String, String>,
    stdin_is_tty: bool,
    words: &[&str],
) -> TestOutput {
    let manifest = P::default().manifest();
    let argv = std::iter::once("mosaic").chain(words.iter().copied());
    let matches = match root_command(&manifest).try_get_matches_from(argv) {
        Ok(matches) => matches,
        Err(error) => {
            let text = error.render().to_string();
            let exit_code = error.exit_code();
            let (stdout, stderr) = if exit_code == 0 {
                (text, String::new())
            } else {
                (String::new(), text)
            };
            return TestOutput {
                exit_code,
                stdout,
                stderr,
            };
        }
    };
    let json = matches.get_flag("json");
    let Some(invocation) = find_invocation(&manifest, &matches) else {
        return TestOutput {
            exit_code: 2,
            stdout: String::new(),
            stderr: format!("no command of plugin `{}` matched\n", manifest.name),
        };
    };

    let handle = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
    HARNESS_STATES.with(|states| {
        states
            .borrow_mut()
            .insert(handle, HarnessState { env: env.clone() })
    });
    let text = |path: PathBuf| RString::from(path.to_string_lossy().into_owned());
    let host = HostContext {
        host_version: RString::from(crate::abi::API_VERSION),
        config_dir: text(root.join("config")),
        data_dir: text(root.join("data")),
        cache_dir: text(root.join("cache")),
        run_dir: text(root.join("run")),
        verbosity: 0,
        color: false,
        json,
        stdin_is_tty,
        stdout_is_tty: false,
        assume_yes: false,
        handle,
        env: harness_env,
        log: harness_log,
        invoke: harness_invoke::<P>,
    };
    let stdout = SharedBuffer::default();
    let stderr = SharedBuffer::default();
    let outcome = {
        let context =
            Context::with_output(&host, Box::new(stdout.clone()), Box::new(stderr.clone()));
        let outcome = catch_panic(|| P::default().run(&context, &invocation));
        context.flush();
        outcome
    };
    HARNESS_STATES.with(|states| states.borrow_mut().remove(&handle));
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

extern "C" fn harness_env(context: &HostContext, key: RStr<'_>) -> ROption<RString> {
    HARNESS_STATES.with(|states| {
        states
            .borrow()
            .get(&context.handle)
            .and_then(|state| state.env.get(key.as_str()).cloned())
            .map(RString::from)
            .into()
    })
}

extern "C" fn harness_log(_context: &HostContext, level: u8, target: RStr<'_>, message: RStr<'_>) {
    eprintln!("[plugin log {level}] {target}: {message}");
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
    let mut env = HARNESS_STATES.with(|states| {
        states
            .borrow()
            .get(&context.handle)
            .map(|state| state.env.clone())
            .unwrap_or_default()
    });
    env.extend(overrides);
    let manifest = P::default().manifest();
    let provided = argv.first().is_some_and(|first| {
        manifest.commands.iter().any(|command| {
            let words: Vec<&str> = command
                .mount
                .prefix()
                .iter()
                .copied()
                .chain(std::iter::once(command.name.as_str()))
                .collect();
            argv.len() >= words.len()
                && argv.iter().zip(&words).all(|(a, b)| a == b)
                && !first.is_empty()
        })
    });
    if !provided {
        return RResult::RErr(RString::from(format!(
            "`{}` is not provided by plugin `{}` (the only one in this test host)",
            argv.join(" "),
            manifest.name
        )));
    }
    let root = Path::new(context.config_dir.as_str())
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    let output = run_in_harness::<P>(&root, &env, context.stdin_is_tty, &words);
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
