//! One run of `mosaic`: read the global flags, open the session (find the plugins,
//! through the cache), build the command tree, parse, and hand the command to a
//! built-in or a plugin.
//!
//! [`Host::execute`] is also what a plugin's `invoke` runs (the host hands itself
//! to the dispatch as the [`Invoke`]r), so a command run by a plugin goes through
//! exactly the same parsing and dispatch as one typed by a user.

use std::sync::OnceLock;

use clap::error::ErrorKind;
use clap::ArgMatches;
use mosaic_plugin_api::cli::invocation_from_matches_with_env;
use mosaic_plugin_api::{CommandSpec, Mount, API_VERSION};

use crate::builtins::{self, Builtins};
use crate::dispatch::{self, Invoke, PluginRun};
use crate::globals::{self, Globals};
use crate::known_plugins::provider_of;
use crate::loader::HOST_VERSION;
use crate::logging;
use crate::registry::Status;
use crate::root_help;
use crate::session::{self, EnvOverrides, Scope, Session};
use crate::tree;

/// The process's session and the host's own commands: what runs a command line.
struct Host {
    session: Session,
    builtins: Builtins,
    /// The built-ins' declarations, for the tree (derived from `builtins` once).
    specs: Vec<CommandSpec>,
}

static HOST: OnceLock<Host> = OnceLock::new();

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
    logging::init(globals.verbosity(), session::stderr_color(&globals));
    let builtins = builtins::table();
    let session = Session::open(globals, builtins::claimed_names(&builtins));
    let host = HOST.get_or_init(|| Host {
        session,
        specs: builtins.specs(),
        builtins,
    });
    let words = globals::command_words(&args);
    let reports_problems = builtins::lookup(&host.builtins, &words)
        .and_then(|entry| entry.handler)
        .is_some_and(|handler| handler.reports_plugin_problems);
    if !host.session.globals.quiet && !reports_problems {
        for warning in host.session.registry.warnings() {
            eprintln!("warning: {warning}");
        }
    }
    if let Some(kind) = root_help::requested(&args) {
        root_help::print(
            &host.session.dirs.cache,
            &host.session.registry,
            &host.specs,
            kind,
        );
        return 0;
    }
    match host.execute(&args, &EnvOverrides::new()) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            2
        }
    }
}

/// The mount point of plugin commands inside the built-in group `word`, if it is one
/// (`config`).
fn mount_inside(word: &str) -> Option<Mount> {
    [Mount::Config]
        .into_iter()
        .find(|mount| mount.prefix() == [word])
}

impl Invoke for Host {
    fn invoke(&'static self, argv: &[String], overrides: &EnvOverrides) -> Result<i32, String> {
        self.execute(argv, overrides)
    }
}

impl Host {
    /// Parses `args` (the words after `mosaic`) and runs the command. `Err` means the
    /// command could not be started: no installed plugin provides it, or an
    /// environment override is not a valid value of the argument it feeds.
    fn execute(&'static self, args: &[String], overrides: &EnvOverrides) -> Result<i32, String> {
        let words = globals::command_words(args);
        // `mosaic help fleet ps` shows the help of `fleet ps`: the target follows `help`.
        let words = match words.split_first() {
            Some((&"help", rest)) => rest,
            _ => &words[..],
        };
        let target = match words {
            [group, name, ..] if mount_inside(group).is_some() => {
                mount_inside(group).map(|mount| (mount, *name))
            }
            [name, ..] => Some((Mount::Top, *name)),
            [] => None,
        };
        let command = tree::build(
            &self.session.registry,
            &self.specs,
            tree::Detail::Target(target),
        );
        let matches = match command
            .try_get_matches_from(std::iter::once("mosaic".to_string()).chain(args.iter().cloned()))
        {
            Ok(matches) => matches,
            Err(error) => {
                if matches!(
                    error.kind(),
                    ErrorKind::InvalidSubcommand | ErrorKind::UnknownArgument
                ) {
                    if let Some(message) = self.not_provided_message(args) {
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
        let Some(spec) = self.specs.iter().find(|spec| spec.name == name) else {
            return self.run_mounted(Mount::Top, name, sub_matches, json, overrides);
        };
        // A plugin command mounted inside a built-in group (`config hooks`).
        if let (Some(mount), Some((inner, inner_matches))) =
            (mount_inside(name), sub_matches.subcommand())
        {
            if !spec.subcommands.iter().any(|child| child.name == inner) {
                return self.run_mounted(mount, inner, inner_matches, json, overrides);
            }
        }
        let invocation = invocation_from_matches_with_env(spec, sub_matches, &|key| {
            overrides.get(key).cloned()
        })?;
        let handler = self
            .builtins
            .handler_for(&invocation)
            .map_err(|error| error.to_string())?;
        let scope = Scope {
            json,
            overrides: overrides.clone(),
        };
        match self
            .session
            .scoped(scope, || handler.run(&self.session, &invocation))
        {
            Ok(code) => Ok(code),
            Err(error) => {
                eprintln!("error: {error:#}");
                Ok(1)
            }
        }
    }

    fn run_mounted(
        &'static self,
        mount: Mount,
        name: &str,
        matches: &ArgMatches,
        json: bool,
        overrides: &EnvOverrides,
    ) -> Result<i32, String> {
        let Some((record, spec)) = self.session.registry.owner(mount, name) else {
            return Err(format!("no plugin provides `{name}`"));
        };
        let invocation =
            invocation_from_matches_with_env(spec, matches, &|key| overrides.get(key).cloned())?;
        Ok(dispatch::run_plugin(
            &self.session,
            self,
            PluginRun {
                record,
                invocation: &invocation,
                json,
                overrides,
            },
        ))
    }

    /// For a command of a known first-party plugin that is not installed (or could
    /// not be loaded): say which plugin provides it and how to get it.
    fn not_provided_message(&self, args: &[String]) -> Option<String> {
        let registry = &self.session.registry;
        let words = globals::command_words(args);
        let (command, plugin) = provider_of(&words)?;
        let mounted = match command.split_once(' ') {
            Some((group, name)) => {
                mount_inside(group).is_some_and(|mount| registry.is_mounted(mount, name))
            }
            None => registry.is_mounted(Mount::Top, &command),
        };
        if mounted {
            // Installed and working: the usage error is about something else.
            return None;
        }
        let present = registry
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
}
