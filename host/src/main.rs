//! `mosaic`: a small host that finds plugin libraries, builds one command tree from
//! their declarative specs, and dispatches each command to the plugin that owns it.
//!
//! The modules read top-down, each using only the ones above it:
//!
//! - [`paths`], [`globals`]: where things are, and how the run was asked to behave
//!   (the global flags, read from argv before the tree exists);
//! - [`known_plugins`], [`logging`]: the first-party plugin names, the one tracing
//!   subscriber;
//! - [`trust`], [`discovery`], [`loader`], [`cache`], [`registry`]: find, vet, load
//!   and remember plugins, and decide who owns which command;
//! - [`progress`]: the spinners and bars on stderr;
//! - [`distribution`]: publisher keys and signed plugin indexes;
//! - [`session`]: the state of this process (flags, dirs, plugins, indicators);
//! - [`tree`]: the clap tree; [`root_help`]: `mosaic --help` from a cache of its
//!   rendered text; [`dispatch`]: running a plugin command and the host services it
//!   calls back;
//! - [`builtins`]: the host's own commands, as one table;
//! - [`app`]: one run, from argv to exit code.

mod app;
mod builtins;
mod cache;
mod discovery;
mod dispatch;
mod distribution;
mod globals;
mod known_plugins;
mod loader;
mod logging;
mod paths;
mod progress;
mod registry;
mod root_help;
mod session;
mod tree;
mod trust;

fn main() {
    restore_default_sigpipe();
    std::process::exit(app::main());
}

/// Rust ignores SIGPIPE, so `mosaic plugins list | head -1` would make every
/// `println!` (the host's and the plugins') panic on the closed pipe. Like other
/// command-line tools, mosaic lets SIGPIPE end the process quietly instead. The
/// gateway daemon, a server, sets it back to "ignore" for itself.
fn restore_default_sigpipe() {
    // SAFETY: sets a signal disposition to its default; no handler code runs.
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        )
    };
}
