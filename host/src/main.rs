//! `mosaic`: a small host that finds plugin libraries, builds one command tree from
//! their declarative specs, and dispatches each command to the plugin that owns it.
//!
//! Read top-down: [`app`] drives one run; [`paths`] and [`globals`] say where things
//! are and how the run was asked to behave; [`discovery`], [`trust`], [`cache`] and
//! [`loader`] find and vet plugins; [`registry`] decides who owns which command;
//! [`tree`] builds the clap tree; [`dispatch`] runs a plugin command; [`builtins`]
//! holds the host's own commands.

mod app;
mod builtins;
mod cache;
mod discovery;
mod dispatch;
mod globals;
mod known_plugins;
mod loader;
mod logging;
mod paths;
mod registry;
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
