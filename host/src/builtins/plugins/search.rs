//! `mosaic plugins search [TEXT]`: the plugins the configured indexes offer, with
//! the release this host would install (or why none), and what is installed.

use std::collections::HashSet;

use anyhow::Result;
use mosaic_plugin_api::sdk::output::Table;
use mosaic_plugin_api::{ArgSpec, CommandSpec};
use serde::{Deserialize, Serialize};

use crate::builtins::plugins::from_index::{installed_version, limits};
use crate::builtins::Builtin;
use crate::distribution::select::{candidates, unloadable_reason};
use crate::distribution::sources::{fetch_all, FetchedIndex};
use crate::session::Session;

/// `mosaic plugins search`.
pub struct Search;

/// The options of `mosaic plugins search`.
#[derive(Debug, Deserialize)]
pub struct SearchOptions {
    /// Text to look for in names and descriptions.
    pub text: Option<String>,
}

/// One plugin found.
#[derive(Debug, Serialize)]
pub struct Found {
    /// Its name.
    pub name: String,
    /// The version `plugins install NAME` would install, else the newest listed.
    pub version: String,
    /// One line saying what it does.
    pub description: String,
    /// The index that lists it (the first, if several do).
    pub index: String,
    /// The installed version, if installed.
    pub installed: Option<String>,
    /// Whether this host can load a release of it.
    pub loadable: bool,
    /// Why not, when it cannot.
    pub reason: Option<String>,
}

impl Builtin for Search {
    type Options = SearchOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("search", "Search the plugin indexes")
            .long_about(
                "List the plugins of the configured indexes (`mosaic plugins index-source`) \
                 whose name or description contains TEXT (any case; all of them without \
                 TEXT): the version `plugins install NAME` would install, its description, \
                 the index, the installed version, and whether this mosaic can load it \
                 (and why not: another plugin API, target or host version).",
            )
            .arg(
                ArgSpec::positional("text", "Text to find in names and descriptions")
                    .value_name("TEXT"),
            )
            .example("plugins search", "")
            .example("plugins search hello --json", "")
    }

    fn run(session: &Session, options: SearchOptions) -> Result<i32> {
        let indexes = {
            let _waiting = session.progress.spinner("Reading the plugin indexes");
            fetch_all(&session.dirs.config, limits(session)?)?
        };
        let found = search(session, &indexes, options.text.as_deref().unwrap_or(""));
        if session.json() {
            println!("{}", serde_json::to_string_pretty(&found)?);
            return Ok(0);
        }
        if found.is_empty() {
            eprintln!("No plugin matches.");
            return Ok(0);
        }
        let mut table = Table::new(&[
            "name",
            "version",
            "installed",
            "loadable",
            "description",
            "index",
        ]);
        for plugin in found {
            table.add_row([
                plugin.name,
                plugin.version,
                plugin.installed.unwrap_or_else(|| "-".to_string()),
                match plugin.reason {
                    None => "yes".to_string(),
                    Some(reason) => format!("no: {reason}"),
                },
                plugin.description,
                plugin.index,
            ]);
        }
        print!("{}", table.render());
        Ok(0)
    }
}

/// The plugins matching `text`, in name order, each once.
fn search(session: &Session, indexes: &[FetchedIndex], text: &str) -> Vec<Found> {
    let needle = text.to_lowercase();
    let mut found: Vec<Found> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for fetched in indexes {
        for plugin in &fetched.index.plugins {
            if !seen.insert(plugin.name.as_str()) {
                continue;
            }
            if !plugin.name.to_lowercase().contains(&needle)
                && !plugin.description.to_lowercase().contains(&needle)
            {
                continue;
            }
            let all = candidates(indexes, &plugin.name);
            let best_loadable = all
                .iter()
                .filter(|candidate| unloadable_reason(candidate.release).is_none())
                .max_by(|a, b| a.release.version.cmp(&b.release.version));
            let newest = all
                .iter()
                .max_by(|a, b| a.release.version.cmp(&b.release.version));
            let (shown, reason) = match (best_loadable, newest) {
                (Some(best), _) => (best, None),
                (None, Some(newest)) => (newest, unloadable_reason(newest.release)),
                (None, None) => continue,
            };
            found.push(Found {
                name: plugin.name.clone(),
                version: shown.release.version.to_string(),
                description: plugin.description.clone(),
                index: shown.index.url.clone(),
                installed: installed_version(session, &plugin.name).map(|v| v.to_string()),
                loadable: reason.is_none(),
                reason,
            });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}
