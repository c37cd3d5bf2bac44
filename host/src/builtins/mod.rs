//! The host's own commands: `plugins list|info|install|remove|doctor`,
//! `config show|path|get|set|unset`, `completions`.
//!
//! Each is a type implementing [`Builtin`] — its declaration (a `CommandSpec`, the
//! same kind of declaration a plugin command has) and its `run` — in a module of its
//! own, and [`table`] lists them all once. The command tree, the dispatch and the
//! words no plugin may claim are all derived from that table.

pub mod completions;
pub mod config;
pub mod plugins;

use mosaic_plugin_api::command::{decode_options, CommandEntry};
use mosaic_plugin_api::{CommandSpec, CommandTable, Invocation, Mount};
use serde::de::DeserializeOwned;

use crate::registry::BuiltinNames;
use crate::session::Session;

/// One command of the host.
pub trait Builtin {
    /// The command's arguments as one typed struct (field names are the `ArgSpec`
    /// names); `mosaic_plugin_api::NoOptions` for none.
    type Options: DeserializeOwned;

    /// Whether the command reports plugin problems itself, in full (then the
    /// one-line warnings about broken plugins are not printed before it runs).
    const REPORTS_PLUGIN_PROBLEMS: bool = false;

    /// The command's declaration: name, help, arguments, examples.
    fn spec() -> CommandSpec;

    /// Runs the command; returns the exit code. An `Err` is printed as `error: …`
    /// and exits 1.
    fn run(session: &Session, options: Self::Options) -> anyhow::Result<i32>;
}

/// What the table dispatches to: decodes a built-in's options and runs it.
#[derive(Clone, Copy)]
pub struct BuiltinHandler {
    run: fn(&Session, &Invocation) -> anyhow::Result<i32>,
    /// [`Builtin::REPORTS_PLUGIN_PROBLEMS`] of the command.
    pub reports_plugin_problems: bool,
}

impl BuiltinHandler {
    /// Runs the command an invocation names.
    pub fn run(&self, session: &Session, invocation: &Invocation) -> anyhow::Result<i32> {
        (self.run)(session, invocation)
    }
}

/// The table of the host's commands.
pub type Builtins = CommandTable<BuiltinHandler>;

fn run_builtin<B: Builtin>(session: &Session, invocation: &Invocation) -> anyhow::Result<i32> {
    let options = decode_options::<B::Options>(invocation).map_err(anyhow::Error::msg)?;
    B::run(session, options)
}

fn handler<B: Builtin>() -> Option<BuiltinHandler> {
    Some(BuiltinHandler {
        run: run_builtin::<B>,
        reports_plugin_problems: B::REPORTS_PLUGIN_PROBLEMS,
    })
}

/// Adding a built-in to a table by its type.
trait AddBuiltin {
    /// Adds the built-in `B` (without subcommands).
    fn builtin<B: Builtin>(self) -> Self;
}

impl AddBuiltin for Builtins {
    fn builtin<B: Builtin>(self) -> Self {
        self.entry(B::spec(), handler::<B>(), Builtins::new())
    }
}

/// Every built-in command, listed once. The order is the order of `mosaic --help`.
pub fn table() -> Builtins {
    Builtins::new()
        .group(
            config::group_spec(),
            Builtins::new()
                .builtin::<config::show::Show>()
                .builtin::<config::path::Path>()
                .builtin::<config::get::Get>()
                .builtin::<config::set::Set>()
                .builtin::<config::unset::Unset>(),
        )
        .group(
            plugins::group_spec(),
            Builtins::new()
                .builtin::<plugins::list::List>()
                .builtin::<plugins::info::Info>()
                .builtin::<plugins::install::Install>()
                .builtin::<plugins::remove::Remove>()
                .builtin::<plugins::search::Search>()
                .builtin::<plugins::outdated::Outdated>()
                .builtin::<plugins::upgrade::Upgrade>()
                .group(
                    plugins::index_source::group_spec(),
                    Builtins::new()
                        .builtin::<plugins::index_source::Add>()
                        .builtin::<plugins::index_source::Remove>()
                        .builtin::<plugins::index_source::List>(),
                )
                .group(
                    plugins::trust::group_spec(),
                    Builtins::new()
                        .builtin::<plugins::trust::Add>()
                        .builtin::<plugins::trust::List>()
                        .builtin::<plugins::trust::Remove>(),
                )
                .builtin::<plugins::doctor::Doctor>()
                .builtin::<plugins::new::New>()
                .builtin::<plugins::keygen::Keygen>()
                .group(
                    plugins::index::group_spec(),
                    Builtins::new().builtin::<plugins::index::Add>(),
                ),
        )
        .builtin::<completions::Completions>()
}

/// The words the built-ins claim: every top-level name and alias, and every name
/// and alias inside a group a plugin can mount into (`config`).
pub fn claimed_names(table: &Builtins) -> BuiltinNames {
    let mut claimed = Vec::new();
    for entry in table.entries() {
        let words = std::iter::once(&entry.spec.name).chain(&entry.spec.aliases);
        claimed.extend(words.map(|word| (Mount::Top, word.clone())));
        if Mount::Config.prefix() == [entry.spec.name.as_str()] {
            for child in entry.children.entries() {
                let words = std::iter::once(&child.spec.name).chain(&child.spec.aliases);
                claimed.extend(words.map(|word| (Mount::Config, word.clone())));
            }
        }
    }
    BuiltinNames::new(claimed)
}

/// The built-in that the command words start with (names or aliases), descending
/// as far as the words go.
pub fn lookup<'t>(table: &'t Builtins, words: &[&str]) -> Option<&'t CommandEntry<BuiltinHandler>> {
    let (first, rest) = words.split_first()?;
    let entry = table.entries().iter().find(|entry| {
        entry.spec.name == *first || entry.spec.aliases.iter().any(|alias| alias == first)
    })?;
    Some(lookup(&entry.children, rest).unwrap_or(entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_claims_its_names_and_finds_aliases() {
        let table = table();
        let names = claimed_names(&table);
        for word in ["plugins", "config", "completions", "help"] {
            assert!(names.contains(Mount::Top, word), "{word}");
        }
        for word in ["show", "path", "get", "set", "unset", "help"] {
            assert!(names.contains(Mount::Config, word), "{word}");
        }
        assert!(!names.contains(Mount::Top, "fleet"));
        assert!(!names.contains(Mount::Config, "hooks"));
        let list = lookup(&table, &["plugins", "ls"]).unwrap();
        assert_eq!(list.spec.name, "list");
        assert!(list.handler.unwrap().reports_plugin_problems);
        let remove = lookup(&table, &["plugins", "uninstall", "x"]).unwrap();
        assert_eq!(remove.spec.name, "remove");
        assert!(lookup(&table, &["fleet"]).is_none());
    }

    #[test]
    fn every_builtin_declaration_is_valid() {
        let mut manifest = mosaic_plugin_api::Manifest::new("mosaic", "0.2.0");
        manifest.commands = table().specs();
        mosaic_plugin_api::validate::check_manifest(&manifest).unwrap();
    }
}
