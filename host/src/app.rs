//! One run of `mosaic`: read the global flags, find the plugins (through the cache),
//! build the command tree, parse, and hand the command to a built-in or a plugin.
//!
//! [`execute`] is also what `HostContext::invoke` calls, so a command run by a
//! plugin goes through exactly the same parsing and dispatch as one typed by a user.

use std::path::PathBuf;
use std::sync::OnceLock;

use clap::error::ErrorKind;
use clap::ArgMatches;
use mosaic_plugin_api::cli::invocation_from_matches_with_env;
use mosaic_plugin_api::{Mount, API_VERSION};

use crate::builtins;
use crate::cache::ManifestCache;
use crate::dispatch::{self, EnvOverrides};
use crate::globals::Globals;
use crate::known_plugins::provider_of;
use crate::loader::HOST_VERSION;
use crate::logging;
use crate::paths::{self, Dirs, SearchDir};
use crate::registry::{Registry, Status};
use crate::tree;

/// Everything a run knows, shared with the `invoke` callback.
pub struct App {
    /// The global flags.
    pub globals: Globals,
    /// Whether colour is allowed on stderr.
    pub color: bool,
    /// The directories of this run.
    pub dirs: Dirs,
    /// The plugin search path.
    pub search: Vec<SearchDir>,
    /// The plugins found.
    pub registry: Registry,
}

static APP: OnceLock<App> = OnceLock::new();

/// The app of this process, once initialised.
pub fn current() -> Option<&'static App> {
    APP.get()
}

/// Runs `mosaic` with the process arguments; returns the exit code.
pub fn main() -> i32 {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    // The fast path: the version needs no plugin.
    if matches!(args.as_slice(), [flag] if flag == "--version" || flag == "-V") {
        println!("mosaic {HOST_VERSION} (plugin API {API_VERSION})");
        return 0;
    }
    let globals = Globals::scan(&args);
    let color = !globals.no_color && mosaic_plugin_api::sdk::term::stderr_is_tty();
    logging::init(globals.verbosity(), color);
    let dirs = Dirs::from_env();
    let search = paths::search_path(&globals.plugin_dirs, &dirs);
    let mut cache = ManifestCache::load(&dirs.cache);
    let registry = Registry::build(&search, &mut cache);
    let searched: Vec<PathBuf> = search.iter().map(|dir| dir.path.clone()).collect();
    cache.save(&searched);
    let app = APP.get_or_init(|| App {
        globals,
        color,
        dirs,
        search,
        registry,
    });
    if !app.globals.quiet && !is_plugins_report(&args) {
        for record in app.registry.problems() {
            eprintln!(
                "warning: plugin {} is {}: {} (see `mosaic plugins doctor`)",
                record.path.display(),
                record.status.as_str(),
                record.problem.as_deref().unwrap_or_default()
            );
        }
    }
    match execute(app, &args, &EnvOverrides::new()) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            2
        }
    }
}

/// `plugins list|info|doctor` report problems themselves, in full.
fn is_plugins_report(args: &[String]) -> bool {
    let words: Vec<&str> = command_words(args).into_iter().take(2).collect();
    matches!(words.as_slice(), ["plugins", "list" | "info" | "doctor"])
}

/// The words of `args` that are not flags or the value of `--plugin-dir`.
fn command_words(args: &[String]) -> Vec<&str> {
    let mut words = Vec::new();
    let mut skip_value = false;
    for word in args {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        if word == "--" {
            break;
        }
        if word == "--plugin-dir" {
            skip_value = true;
        } else if !word.starts_with('-') {
            words.push(word.as_str());
        }
    }
    words
}

/// Parses `args` (the words after `mosaic`) and runs the command. `Err` means the
/// command could not be started because no installed plugin provides it.
pub fn execute(app: &App, args: &[String], overrides: &EnvOverrides) -> Result<i32, String> {
    let words = command_words(args);
    // `mosaic help fleet ps` shows the help of `fleet ps`: the target follows `help`.
    let words = match words.split_first() {
        Some((&"help", rest)) => rest,
        _ => &words[..],
    };
    let target = match words {
        ["config", name, ..] => Some((Mount::Config, *name)),
        [name, ..] => Some((Mount::Top, *name)),
        [] => None,
    };
    let command = tree::build(&app.registry, tree::Detail::Target(target));
    let matches = match command
        .try_get_matches_from(std::iter::once("mosaic".to_string()).chain(args.iter().cloned()))
    {
        Ok(matches) => matches,
        Err(error) => {
            if matches!(
                error.kind(),
                ErrorKind::InvalidSubcommand | ErrorKind::UnknownArgument
            ) {
                if let Some(message) = not_provided_message(app, args) {
                    return Err(message);
                }
            }
            let _ = error.print();
            return Ok(error.exit_code());
        }
    };
    let json = matches.get_flag("json");
    let Some((name, sub_matches)) = matches.subcommand() else {
        return Ok(2);
    };
    match name {
        "plugins" => Ok(builtins::plugins::run(app, sub_matches, json)),
        "completions" => Ok(builtins::completions::run(app, sub_matches)),
        "config" => match sub_matches.subcommand() {
            Some((inner, inner_matches)) if builtins::config::owns(inner) => Ok(
                builtins::config::run(app, inner, inner_matches, json, overrides),
            ),
            Some((inner, inner_matches)) => {
                run_mounted(app, Mount::Config, inner, inner_matches, json, overrides)
            }
            None => Ok(2),
        },
        other => run_mounted(app, Mount::Top, other, sub_matches, json, overrides),
    }
}

fn run_mounted(
    app: &App,
    mount: Mount,
    name: &str,
    matches: &ArgMatches,
    json: bool,
    overrides: &EnvOverrides,
) -> Result<i32, String> {
    let Some((record, spec)) = app.registry.owner(mount, name) else {
        return Err(format!("no plugin provides `{name}`"));
    };
    let invocation =
        invocation_from_matches_with_env(spec, matches, &|key| overrides.get(key).cloned());
    Ok(dispatch::run_plugin(
        app,
        record,
        &invocation,
        json,
        overrides,
    ))
}

/// For a command of a known first-party plugin that is not installed (or could not
/// be loaded): say which plugin provides it and how to get it.
fn not_provided_message(app: &App, args: &[String]) -> Option<String> {
    let words = command_words(args);
    let (command, plugin) = provider_of(&words)?;
    let mounted = match command.split_once(' ') {
        Some((_, name)) => app.registry.is_mounted(Mount::Config, name),
        None => app.registry.is_mounted(Mount::Top, &command),
    };
    if mounted {
        // Installed and working: the usage error is about something else.
        return None;
    }
    let present = app
        .registry
        .plugins
        .iter()
        .find(|record| record.name == plugin && record.status != Status::Ok);
    Some(match present {
        Some(record) => format!(
            "`{command}` is provided by the {plugin} plugin, which is installed at {} but {}: {}",
            record.path.display(),
            record.status.as_str(),
            record.problem.as_deref().unwrap_or("see `mosaic plugins doctor`")
        ),
        None => format!(
            "`{command}` is provided by the {plugin} plugin, which is not installed \
             (install it with `scripts/install.sh --plugins {plugin}` or `mosaic plugins install FILE`)"
        ),
    })
}
