//! Running a plugin command: build the [`HostContext`] for the run, call the plugin's
//! `run`, and map the outcome to an exit code. Also the host side of the context's
//! callbacks (`env`, `log`, `invoke`).
//!
//! Each run gets a handle; the callbacks look up the run's state (its plugin name and
//! environment overrides) by that handle, so nested runs started through `invoke`
//! each see their own overrides.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use abi_stable::std_types::{ROption, RResult, RStr, RString};
use mosaic_plugin_api::sdk::term;
use mosaic_plugin_api::{HostContext, Invocation};

use crate::app::{self, App};
use crate::loader::{open_module, LoadOutcome, HOST_VERSION};
use crate::logging;
use crate::registry::PluginRecord;

/// Exit code for a plugin that panicked (EX_SOFTWARE).
pub const EXIT_INTERNAL_ERROR: i32 = 70;

/// Environment variables seen by one run, on top of the process environment.
pub type EnvOverrides = BTreeMap<String, String>;

struct RunState {
    plugin: String,
    overrides: EnvOverrides,
}

static RUNS: Mutex<Option<HashMap<u64, RunState>>> = Mutex::new(None);
static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);

fn with_runs<T>(action: impl FnOnce(&mut HashMap<u64, RunState>) -> T) -> T {
    let mut runs = RUNS.lock().unwrap_or_else(|poison| poison.into_inner());
    action(runs.get_or_insert_with(HashMap::new))
}

/// Looks up a variable for a run: its overrides first, then the process.
pub fn lookup_env(overrides: &EnvOverrides, key: &str) -> Option<String> {
    overrides
        .get(key)
        .cloned()
        .or_else(|| std::env::var(key).ok())
}

/// Runs `invocation` in the plugin of `record`; returns the exit code.
pub fn run_plugin(
    app: &App,
    record: &PluginRecord,
    invocation: &Invocation,
    json: bool,
    overrides: &EnvOverrides,
) -> i32 {
    let module = match open_module(&record.path, record.verified_stamp.as_ref()) {
        Ok((module, _)) => module,
        Err(LoadOutcome::Broken { reason, .. } | LoadOutcome::Incompatible { reason, .. }) => {
            eprintln!(
                "error: cannot load plugin `{}` ({}): {reason}",
                record.name,
                record.path.display()
            );
            return 1;
        }
        Err(LoadOutcome::Loaded { .. }) => unreachable!("open_module never fails with Loaded"),
    };
    let invocation_json = match serde_json::to_string(invocation) {
        Ok(json) => json,
        Err(error) => {
            eprintln!("error: cannot encode the invocation: {error}");
            return 1;
        }
    };
    let handle = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
    with_runs(|runs| {
        runs.insert(
            handle,
            RunState {
                plugin: record.name.clone(),
                overrides: overrides.clone(),
            },
        )
    });
    let text = |path: &std::path::Path| RString::from(path.to_string_lossy().into_owned());
    let assume_yes =
        lookup_env(overrides, "MOSAIC_ASSUME_YES").is_some_and(|value| term::is_truthy(&value));
    let context = HostContext {
        host_version: RString::from(HOST_VERSION),
        config_dir: text(&app.dirs.config),
        data_dir: text(&app.dirs.data),
        cache_dir: text(&app.dirs.cache),
        run_dir: text(&app.dirs.run),
        verbosity: app.globals.verbosity(),
        color: app.color,
        json,
        stdin_is_tty: term::stdin_is_tty(),
        stdout_is_tty: term::stdout_is_tty(),
        assume_yes,
        handle,
        env: host_env,
        log: host_log,
        invoke: host_invoke,
    };
    // The plugin writes through its own copy of std: flush ours first so output
    // stays in order.
    let _ = std::io::stdout().flush();
    tracing::debug!(
        "running `{}` in plugin {}",
        invocation.command_line(),
        record.path.display()
    );
    let outcome = (module.run())(&context, RStr::from(invocation_json.as_str()));
    with_runs(|runs| runs.remove(&handle));
    match outcome {
        RResult::ROk(code) => code,
        RResult::RErr(failure) if failure.panicked => {
            eprintln!(
                "error: internal error in plugin `{}` ({}): it panicked: {}\n\
                 This is a bug in the plugin; please report it to its authors.",
                record.name,
                record.path.display(),
                failure.message.as_str()
            );
            EXIT_INTERNAL_ERROR
        }
        RResult::RErr(failure) => {
            eprintln!("error: {}", failure.message.as_str());
            1
        }
    }
}

extern "C" fn host_env(context: &HostContext, key: RStr<'_>) -> ROption<RString> {
    let overridden = with_runs(|runs| {
        runs.get(&context.handle)
            .and_then(|run| run.overrides.get(key.as_str()).cloned())
    });
    overridden
        .or_else(|| std::env::var(key.as_str()).ok())
        .map(RString::from)
        .into()
}

extern "C" fn host_log(context: &HostContext, level: u8, target: RStr<'_>, message: RStr<'_>) {
    let plugin = with_runs(|runs| runs.get(&context.handle).map(|run| run.plugin.clone()))
        .unwrap_or_default();
    logging::emit_plugin_event(&plugin, level, target.as_str(), message.as_str());
}

extern "C" fn host_invoke(
    context: &HostContext,
    argv_json: RStr<'_>,
    env_overrides_json: RStr<'_>,
) -> RResult<i32, RString> {
    let argv: Vec<String> = match serde_json::from_str(argv_json.as_str()) {
        Ok(argv) => argv,
        Err(error) => {
            return RResult::RErr(RString::from(format!(
                "invoke: argv is not a JSON array of strings: {error}"
            )))
        }
    };
    let added: EnvOverrides = match serde_json::from_str(env_overrides_json.as_str()) {
        Ok(added) => added,
        Err(error) => {
            return RResult::RErr(RString::from(format!(
                "invoke: overrides are not a JSON object of strings: {error}"
            )))
        }
    };
    let mut overrides = with_runs(|runs| {
        runs.get(&context.handle)
            .map(|run| run.overrides.clone())
            .unwrap_or_default()
    });
    overrides.extend(added);
    let Some(app) = app::current() else {
        return RResult::RErr(RString::from("invoke: the host is not initialised"));
    };
    // A panic must not unwind into the plugin through `extern "C"`.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        app::execute(app, &argv, &overrides)
    }))
    .unwrap_or_else(|_| {
        Err(format!(
            "internal error while running `mosaic {}`",
            argv.join(" ")
        ))
    });
    // The caller may be capturing fd 1: leave nothing in our buffer.
    let _ = std::io::stdout().flush();
    match outcome {
        Ok(code) => RResult::ROk(code),
        Err(message) => RResult::RErr(RString::from(message)),
    }
}
