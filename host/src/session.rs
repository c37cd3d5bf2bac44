//! The state of one `mosaic` process: how it was asked to behave (the global
//! flags, colour), where things are, the plugin search path, the plugins found, and
//! the progress indicators on stderr. Built once in `main`; the built-ins and the
//! plugin runs read it.
//!
//! A few facts belong to one command rather than the process: `--json` and the
//! environment overrides of a command started through `invoke`. The command being
//! run records them with [`Session::scoped`] and the built-ins read them with
//! [`Session::json`] and [`Session::env`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use mosaic_plugin_api::sdk::term;

use crate::cache::ManifestCache;
use crate::globals::Globals;
use crate::paths::{self, Dirs, SearchDir};
use crate::progress::Indicators;
use crate::registry::{BuiltinNames, Registry};

/// Environment variables seen by one command, on top of the process environment.
pub type EnvOverrides = BTreeMap<String, String>;

/// Looks up a variable with `overrides` applied: the overrides first, then the
/// process environment.
pub fn lookup_env(overrides: &EnvOverrides, key: &str) -> Option<String> {
    overrides
        .get(key)
        .cloned()
        .or_else(|| std::env::var(key).ok())
}

/// Whether diagnostics on stderr may use colour: not with `--no-color` or
/// `NO_COLOR`, and not when stderr is not a terminal.
pub fn stderr_color(globals: &Globals) -> bool {
    !globals.no_color && term::stderr_is_tty()
}

/// The per-command facts of the command being run.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// `--json` was given on this command's line.
    pub json: bool,
    /// Environment overrides (from `invoke`).
    pub overrides: EnvOverrides,
}

/// Everything this process knows.
pub struct Session {
    /// The global flags of the command line.
    pub globals: Globals,
    /// Whether colour is allowed on stderr.
    pub color: bool,
    /// The directories of this run.
    pub dirs: Dirs,
    /// The plugin search path.
    pub search: Vec<SearchDir>,
    /// The plugins found.
    pub registry: Registry,
    /// The progress indicators on stderr.
    pub progress: Indicators,
    scopes: Scopes,
}

/// The scopes of the commands running now, innermost last (a plugin command may
/// run another command through `invoke`).
#[derive(Default)]
struct Scopes(Mutex<Vec<Scope>>);

impl Scopes {
    fn lock(&self) -> MutexGuard<'_, Vec<Scope>> {
        self.0.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    fn scoped<T>(&self, scope: Scope, body: impl FnOnce() -> T) -> T {
        self.lock().push(scope);
        let outcome = body();
        self.lock().pop();
        outcome
    }

    fn json(&self, outside: bool) -> bool {
        self.lock().last().map_or(outside, |scope| scope.json)
    }

    fn env(&self, key: &str) -> Option<String> {
        match self.lock().last() {
            Some(scope) => lookup_env(&scope.overrides, key),
            None => std::env::var(key).ok(),
        }
    }
}

impl Session {
    /// Finds the plugins (through the manifest cache, refreshing it) for a process
    /// started with `globals`; `builtins` are the words the host's own commands
    /// claim.
    pub fn open(globals: Globals, builtins: BuiltinNames) -> Session {
        let stderr_is_tty = term::stderr_is_tty();
        let color = stderr_color(&globals);
        let dirs = Dirs::from_env();
        let search = paths::search_path(&globals.plugin_dirs, &dirs);
        let mut cache = ManifestCache::load(&dirs.cache);
        let registry = Registry::build(&search, &mut cache, builtins);
        let searched: Vec<PathBuf> = search.iter().map(|dir| dir.path.clone()).collect();
        cache.save(&searched);
        let progress = Indicators::new(!globals.quiet && !globals.json && stderr_is_tty, color);
        Session {
            globals,
            color,
            dirs,
            search,
            registry,
            progress,
            scopes: Scopes::default(),
        }
    }

    /// Runs `body` as the command with `scope`.
    pub fn scoped<T>(&self, scope: Scope, body: impl FnOnce() -> T) -> T {
        self.scopes.scoped(scope, body)
    }

    /// `--json` was given to the command being run.
    pub fn json(&self) -> bool {
        self.scopes.json(self.globals.json)
    }

    /// An environment variable as the command being run sees it.
    pub fn env(&self, key: &str) -> Option<String> {
        self.scopes.env(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_innermost_scope_wins() {
        let scopes = Scopes::default();
        assert!(!scopes.json(false));
        let inner = Scope {
            json: true,
            overrides: EnvOverrides::from([("MOSAIC_TEST_SCOPE".into(), "inner".into())]),
        };
        scopes.scoped(Scope::default(), || {
            scopes.scoped(inner, || {
                assert!(scopes.json(false));
                assert_eq!(scopes.env("MOSAIC_TEST_SCOPE").as_deref(), Some("inner"));
            });
            assert!(!scopes.json(true));
            assert_eq!(scopes.env("MOSAIC_TEST_SCOPE"), None);
        });
    }
}
