//! Running a plugin command: build the [`HostContext`] for the run, call the plugin's
//! `run`, and map the outcome to an exit code. Also the host side of the services
//! table (`run_info`, `env`, `log`, `invoke`, `progress`).
//!
//! The services table is one constant for the whole process; what differs between
//! runs is the context's `handle`, by which the callbacks find the run's state (its
//! plugin, facts, environment overrides), so nested runs started through `invoke`
//! each see their own. `invoke` runs the command through the [`Invoke`] the caller
//! hands to [`run_plugin`] — this module does not know how commands are parsed.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use abi_stable::prefix_type::WithMetadata;
use abi_stable::std_types::{ROption, RResult, RStr, RString};
use mosaic_plugin_api::abi::HostServicesRef;
use mosaic_plugin_api::sdk::term;
use mosaic_plugin_api::{
    HostContext, HostServices, Invocation, ProgressEvent, RunInfo, API_VERSION,
};

use crate::loader::{open_module, HOST_VERSION};
use crate::logging;
use crate::registry::PluginRecord;
use crate::session::{lookup_env, EnvOverrides, Session};

/// Exit code for a plugin that panicked (EX_SOFTWARE).
pub const EXIT_INTERNAL_ERROR: i32 = 70;

/// Runs a `mosaic` command line for a plugin's `invoke`.
pub trait Invoke: Sync {
    /// Parses and runs `argv` (the words after `mosaic`) with `overrides` on top of
    /// the environment; returns the exit code, or why the command could not start.
    /// The invoker lives as long as the process (it may start plugin runs itself).
    fn invoke(&'static self, argv: &[String], overrides: &EnvOverrides) -> Result<i32, String>;
}

/// One plugin command to run.
pub struct PluginRun<'a> {
    /// The plugin that owns the command.
    pub record: &'a PluginRecord,
    /// The command and its arguments.
    pub invocation: &'a Invocation,
    /// `--json` was given.
    pub json: bool,
    /// Environment overrides of this command (from `invoke`).
    pub overrides: &'a EnvOverrides,
}

/// What the callbacks of one run need.
struct RunState {
    plugin: String,
    overrides: EnvOverrides,
    info_json: String,
    session: &'static Session,
    invoker: &'static dyn Invoke,
}

static RUNS: Mutex<Option<HashMap<u64, RunState>>> = Mutex::new(None);
static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);

fn with_runs<T>(action: impl FnOnce(&mut HashMap<u64, RunState>) -> T) -> T {
    let mut runs = RUNS.lock().unwrap_or_else(|poison| poison.into_inner());
    action(runs.get_or_insert_with(HashMap::new))
}

/// Holds the services table as a static of the process (abi_stable's `staticref!`
/// needs an impl block to live in).
struct Services;

impl Services {
    abi_stable::staticref!(
        const TABLE: WithMetadata<HostServices> = WithMetadata::new(HostServices {
            run_info: host_run_info,
            env: host_env,
            log: host_log,
            invoke: host_invoke,
            progress: host_progress,
        })
    );
}

/// The host's services, built once for the whole process.
const SERVICES: HostServicesRef = HostServicesRef(Services::TABLE.as_prefix());

/// The facts of a run, as `run_info` reports them.
fn run_info(session: &Session, json: bool, overrides: &EnvOverrides) -> RunInfo {
    let text = |path: &std::path::Path| path.to_string_lossy().into_owned();
    RunInfo {
        host_version: HOST_VERSION.to_string(),
        api_version: API_VERSION.to_string(),
        config_dir: text(&session.dirs.config),
        data_dir: text(&session.dirs.data),
        cache_dir: text(&session.dirs.cache),
        run_dir: text(&session.dirs.run),
        verbosity: session.globals.verbosity(),
        color: session.color,
        json,
        stdin_is_tty: term::stdin_is_tty(),
        stdout_is_tty: term::stdout_is_tty(),
        stderr_is_tty: term::stderr_is_tty(),
        assume_yes: lookup_env(overrides, "MOSAIC_ASSUME_YES")
            .is_some_and(|value| term::is_truthy(&value)),
    }
}

/// Runs a plugin command; returns the exit code. `invoker` runs the commands the
/// plugin starts through `invoke`.
pub fn run_plugin(
    session: &'static Session,
    invoker: &'static dyn Invoke,
    run: PluginRun<'_>,
) -> i32 {
    let record = run.record;
    let module = match open_module(&record.path, record.verified_stamp.as_ref()) {
        Ok((module, _)) => module,
        Err(refusal) => {
            eprintln!(
                "error: cannot load plugin `{}` ({}): {}",
                record.name,
                record.path.display(),
                refusal.reason
            );
            return 1;
        }
    };
    let (invocation_json, info_json) = match (
        serde_json::to_string(run.invocation),
        serde_json::to_string(&run_info(session, run.json, run.overrides)),
    ) {
        (Ok(invocation), Ok(info)) => (invocation, info),
        (Err(error), _) | (_, Err(error)) => {
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
                overrides: run.overrides.clone(),
                info_json,
                session,
                invoker,
            },
        )
    });
    if run.json {
        // `--json` promises one JSON document; no spinners around it either.
        session.progress.hide_run(handle);
    }
    let context = HostContext {
        handle,
        services: SERVICES,
    };
    // The plugin writes through its own copy of std: flush ours first so output
    // stays in order.
    let _ = std::io::stdout().flush();
    tracing::debug!(
        "running `{}` in plugin {}",
        run.invocation.command_line(),
        record.path.display()
    );
    let outcome = (module.run())(&context, RStr::from(invocation_json.as_str()));
    with_runs(|runs| runs.remove(&handle));
    session.progress.end_run(handle);
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

extern "C" fn host_run_info(context: &HostContext) -> RString {
    with_runs(|runs| {
        runs.get(&context.handle)
            .map(|run| run.info_json.clone())
            .unwrap_or_default()
    })
    .into()
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

extern "C" fn host_progress(context: &HostContext, event_json: RStr<'_>) -> u64 {
    let Ok(event) = serde_json::from_str::<ProgressEvent>(event_json.as_str()) else {
        tracing::debug!(
            "ignoring an unreadable progress event: {}",
            event_json.as_str()
        );
        return 0;
    };
    let Some(session) = with_runs(|runs| runs.get(&context.handle).map(|run| run.session)) else {
        return 0;
    };
    // A panic must not unwind into the plugin through `extern "C"`.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        session.progress.handle(context.handle, event)
    }))
    .unwrap_or(0)
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
    let Some((mut overrides, invoker)) = with_runs(|runs| {
        runs.get(&context.handle)
            .map(|run| (run.overrides.clone(), run.invoker))
    }) else {
        return RResult::RErr(RString::from("invoke: called outside a running command"));
    };
    overrides.extend(added);
    // A panic must not unwind into the plugin through `extern "C"`.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        invoker.invoke(&argv, &overrides)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_services_table_offers_every_service() {
        assert!(SERVICES.progress().is_some());
        let context = HostContext {
            handle: u64::MAX,
            services: SERVICES,
        };
        // An unknown run has no facts and no overrides; the process env still reads.
        assert_eq!((SERVICES.run_info())(&context).as_str(), "");
        std::env::set_var("MOSAIC_TEST_SERVICES", "x");
        assert_eq!(
            (SERVICES.env())(&context, RStr::from("MOSAIC_TEST_SERVICES"))
                .into_option()
                .map(RString::into_string),
            Some("x".to_string())
        );
        assert!(matches!(
            (SERVICES.invoke())(&context, RStr::from("[]"), RStr::from("{}")),
            RResult::RErr(_)
        ));
    }
}
