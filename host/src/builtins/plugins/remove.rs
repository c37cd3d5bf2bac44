//! `mosaic plugins remove NAME`: delete a plugin from the user plugin directory.
//! Plugins installed elsewhere (a system prefix, `--plugin-dir`) belong to whoever put
//! them there; the error says where they are.

use anyhow::{bail, Result};
use mosaic_plugin_api::{ArgSpec, CommandSpec};
use serde::Deserialize;

use crate::builtins::Builtin;
use crate::session::Session;

/// `mosaic plugins remove`.
pub struct Remove;

/// The options of `mosaic plugins remove`.
#[derive(Debug, Deserialize)]
pub struct RemoveOptions {
    /// The plugin's name.
    pub name: String,
}

impl Builtin for Remove {
    type Options = RemoveOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "remove",
            "Remove a plugin installed with `mosaic plugins install`",
        )
        .alias("uninstall")
        .arg(
            ArgSpec::positional("name", "Plugin name (as in `mosaic plugins list`)")
                .required()
                .value_name("name"),
        )
        .example("plugins remove hello", "")
    }

    fn run(session: &Session, options: RemoveOptions) -> Result<i32> {
        let name = options.name;
        let user_dir = session.dirs.user_plugin_dir();
        let matching: Vec<_> = session
            .registry
            .plugins
            .iter()
            .filter(|record| record.name == name)
            .collect();
        let Some(record) = matching
            .iter()
            .find(|record| record.path.parent() == Some(user_dir.as_path()))
        else {
            match matching.first() {
                Some(record) => bail!(
                    "`{name}` is installed at {}, outside the user plugin directory {}; \
                     remove it with the tool that installed it (e.g. re-run scripts/install.sh \
                     with --plugins) or delete the file",
                    record.path.display(),
                    user_dir.display()
                ),
                None => bail!("no plugin named `{name}` is installed"),
            }
        };
        if let Err(error) = std::fs::remove_file(&record.path) {
            bail!("cannot remove {}: {error}", record.path.display());
        }
        // Where it came from no longer describes anything installed.
        crate::distribution::provenance::remove(&user_dir, &name)?;
        println!("removed {name} ({})", record.path.display());
        Ok(0)
    }
}
