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
    std::process::exit(app::main());
}
