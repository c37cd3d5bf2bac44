//! `mosaic plugins index-source add|remove|list`: the plugin indexes `plugins
//! search`, `install NAME`, `outdated` and `upgrade` read (`plugins.indexes` in
//! config.json).

use anyhow::Result;
use mosaic_plugin_api::sdk::output::Table;
use mosaic_plugin_api::{ArgSpec, CommandSpec, NoOptions};
use serde::Deserialize;

use crate::builtins::Builtin;
use crate::distribution::sources::{
    add_index, configured_indexes, fetch_index, remove_index, INDEXES_KEY,
};
use crate::session::Session;

/// Declares the `plugins index-source` group.
pub fn group_spec() -> CommandSpec {
    CommandSpec::new(
        "index-source",
        "Add, remove and list the plugin indexes to install from",
    )
    .long_about(
        "A plugin index is a JSON file listing plugins and their signed releases (made \
         with `mosaic plugins index add`). The indexes configured here (plugins.indexes \
         in config.json) are what `plugins search`, `plugins install NAME`, `plugins \
         outdated` and `plugins upgrade` read. Allowed: https:// URLs, file:///absolute \
         paths, and plain http:// only to this machine (127.0.0.1, ::1, localhost).",
    )
    .example(
        "plugins index-source add https://plugins.example.org/index.json",
        "",
    )
    .example("plugins index-source list", "")
}

/// `mosaic plugins index-source add`.
pub struct Add;

/// The URL argument of `index-source add|remove`.
#[derive(Debug, Deserialize)]
pub struct UrlOptions {
    /// The index URL.
    pub url: String,
}

impl Builtin for Add {
    type Options = UrlOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("add", "Add a plugin index (checked by fetching it)")
            .long_about(
                "Add URL to the plugin indexes, after fetching it once and checking that \
                 it is a valid index (schema mosaic-plugin-index/1). https://, \
                 file:///absolute/path, and http:// to 127.0.0.1/::1/localhost only.",
            )
            .arg(
                ArgSpec::positional("url", "The index URL")
                    .required()
                    .value_name("URL"),
            )
            .example(
                "plugins index-source add https://plugins.example.org/index.json",
                "",
            )
            .example("plugins index-source add file:///srv/mosaic/index.json", "")
    }

    fn run(session: &Session, options: UrlOptions) -> Result<i32> {
        let url = options.url.trim();
        crate::distribution::download::check_url(url)?;
        let index = {
            let _waiting = session.progress.spinner(&format!("Reading {url}"));
            fetch_index(url, crate::builtins::plugins::from_index::limits(session)?)?
        };
        if add_index(&session.dirs.config, url)? {
            let count = index.index.plugins.len();
            let noun = if count == 1 { "plugin" } else { "plugins" };
            println!("added plugin index {url} ({count} {noun})");
        } else {
            println!("{url} is already a plugin index");
        }
        Ok(0)
    }
}

/// `mosaic plugins index-source remove`.
pub struct Remove;

impl Builtin for Remove {
    type Options = UrlOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("remove", "Remove a plugin index")
            .alias("rm")
            .long_about(
                "Remove URL from the plugin indexes. Plugins installed from it stay \
                 installed; `plugins outdated` and `upgrade` still read the index they \
                 came from.",
            )
            .arg(
                ArgSpec::positional("url", "The index URL, as `index-source list` shows it")
                    .required()
                    .value_name("URL"),
            )
            .example(
                "plugins index-source remove https://plugins.example.org/index.json",
                "",
            )
    }

    fn run(session: &Session, options: UrlOptions) -> Result<i32> {
        remove_index(&session.dirs.config, options.url.trim())?;
        println!("removed plugin index {}", options.url.trim());
        Ok(0)
    }
}

/// `mosaic plugins index-source list`.
pub struct List;

impl Builtin for List {
    type Options = NoOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("list", "List the plugin indexes")
            .alias("ls")
            .long_about(&format!(
                "List the configured plugin indexes ({INDEXES_KEY} in config.json), in \
                 the order they are searched. --json prints a list of URLs."
            ))
            .example("plugins index-source list", "")
            .example("plugins index-source list --json", "")
    }

    fn run(session: &Session, _options: NoOptions) -> Result<i32> {
        let urls = configured_indexes(&session.dirs.config)?;
        if session.json() {
            println!("{}", serde_json::to_string_pretty(&urls)?);
            return Ok(0);
        }
        if urls.is_empty() {
            eprintln!(
                "No plugin index is configured; add one with `mosaic plugins index-source add URL`."
            );
            return Ok(0);
        }
        let mut table = Table::new(&["index"]);
        for url in urls {
            table.add_row([url]);
        }
        print!("{}", table.render());
        Ok(0)
    }
}
