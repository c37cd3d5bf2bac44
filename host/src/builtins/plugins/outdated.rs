//! `mosaic plugins outdated`: the plugins installed from an index for which that
//! same index now has a newer release this host can load.
//!
//! Only the index a plugin came from is asked (its origin record says which): a
//! plugin of the same name in another index may be someone else's.

use std::collections::HashMap;

use anyhow::Result;
use mosaic_plugin_api::sdk::output::Table;
use mosaic_plugin_api::{CommandSpec, NoOptions};
use serde::Serialize;

use crate::builtins::plugins::from_index::limits;
use crate::builtins::Builtin;
use crate::distribution::download::Limits;
use crate::distribution::provenance::{self, Origin};
use crate::distribution::select::{select, Skipped};
use crate::distribution::sources::{fetch_index, FetchedIndex};
use crate::session::Session;

/// `mosaic plugins outdated`.
pub struct Outdated;

/// A plugin installed from an index, as the user plugin directory has it.
#[derive(Debug, Clone)]
pub(crate) struct FromIndex {
    /// Its origin record (current: its sha256 matches the file).
    pub(crate) origin: Origin,
    /// Its installed version.
    pub(crate) installed: semver::Version,
}

/// Every plugin in the user plugin directory with a current origin record.
pub(crate) fn installed_from_indexes(session: &Session) -> Vec<FromIndex> {
    let directory = session.dirs.user_plugin_dir();
    session
        .registry
        .plugins
        .iter()
        .filter(|record| record.path.parent() == Some(directory.as_path()))
        .filter_map(|record| {
            let origin = provenance::read_current(&directory, &record.name, &record.path)?;
            let installed = semver::Version::parse(record.version()?).ok()?;
            Some(FromIndex { origin, installed })
        })
        .collect()
}

/// The indexes of `plugins`, each fetched once; an index that fails is an error.
pub(crate) fn fetch_origins(
    plugins: &[FromIndex],
    limits: Limits,
) -> Result<HashMap<String, FetchedIndex>> {
    let mut fetched = HashMap::new();
    for plugin in plugins {
        let url = &plugin.origin.index;
        if !fetched.contains_key(url) {
            fetched.insert(url.clone(), fetch_index(url, limits)?);
        }
    }
    Ok(fetched)
}

/// One outdated plugin.
#[derive(Debug, Serialize)]
pub struct Update {
    /// Its name.
    pub name: String,
    /// The installed version.
    pub installed: String,
    /// The newest release this host can load.
    pub latest: String,
    /// The index both come from.
    pub index: String,
    /// Newer releases this host cannot load, and why.
    pub skipped: Vec<String>,
}

/// The newest loadable release of `plugin` in its own index, when newer than what
/// is installed, with the newer releases skipped. `None` when it is up to date
/// (or its index no longer lists anything loadable).
pub(crate) fn newer_release(
    plugin: &FromIndex,
    index: &FetchedIndex,
) -> Option<(semver::Version, Vec<Skipped>)> {
    let selection = select(std::slice::from_ref(index), &plugin.origin.name, None).ok()?;
    let latest = &selection.chosen.release.version;
    (*latest > plugin.installed).then(|| (latest.clone(), selection.skipped))
}

impl Builtin for Outdated {
    type Options = NoOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "outdated",
            "List plugins installed from an index that have a newer release",
        )
        .long_about(
            "For every plugin installed with `plugins install NAME`, ask the index it \
             came from for the newest release this mosaic can load; list the plugins \
             for which it is newer than the installed version. `mosaic plugins upgrade` \
             installs them. Plugins installed from a file are not listed.",
        )
        .example("plugins outdated", "")
        .example("plugins outdated --json", "")
    }

    fn run(session: &Session, _options: NoOptions) -> Result<i32> {
        let plugins = installed_from_indexes(session);
        let indexes = {
            let _waiting = session.progress.spinner("Reading the plugin indexes");
            fetch_origins(&plugins, limits(session)?)?
        };
        let updates: Vec<Update> = plugins
            .iter()
            .filter_map(|plugin| {
                let index = indexes.get(&plugin.origin.index)?;
                let (latest, skipped) = newer_release(plugin, index)?;
                Some(Update {
                    name: plugin.origin.name.clone(),
                    installed: plugin.installed.to_string(),
                    latest: latest.to_string(),
                    index: plugin.origin.index.clone(),
                    skipped: skipped.iter().map(Skipped::describe).collect(),
                })
            })
            .collect();
        if session.json() {
            println!("{}", serde_json::to_string_pretty(&updates)?);
            return Ok(0);
        }
        if updates.is_empty() {
            eprintln!("{}", all_up_to_date(plugins.len()));
            return Ok(0);
        }
        let mut table = Table::new(&["name", "installed", "latest", "index"]);
        for update in &updates {
            table.add_row([
                update.name.clone(),
                update.installed.clone(),
                update.latest.clone(),
                update.index.clone(),
            ]);
        }
        print!("{}", table.render());
        Ok(0)
    }
}

/// What `outdated` and `upgrade --all` say when nothing is newer than the `count`
/// plugins installed from an index.
pub(crate) fn all_up_to_date(count: usize) -> String {
    match count {
        0 => "No plugin here was installed from an index (`mosaic plugins install NAME` \
              installs one)."
            .to_string(),
        1 => "The plugin installed from an index is up to date.".to_string(),
        count => format!("All {count} plugins installed from an index are up to date."),
    }
}
