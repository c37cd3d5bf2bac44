//! `mosaic plugins remove NAME`: delete a plugin from the user plugin directory.
//! Plugins installed elsewhere (a system prefix, `--plugin-dir`) belong to whoever put
//! them there; the error says where they are.

use clap::{Arg, ArgMatches, Command};

use crate::app::App;
use crate::builtins::fail;

/// Declares the command.
pub fn command() -> Command {
    Command::new("remove")
        .visible_alias("uninstall")
        .about("Remove a plugin installed with `mosaic plugins install`")
        .arg(
            Arg::new("name")
                .required(true)
                .help("Plugin name (as in `mosaic plugins list`)"),
        )
        .after_help("Examples:\n  mosaic plugins remove hello")
}

/// Removes the file.
pub fn run(app: &App, matches: &ArgMatches) -> i32 {
    let name = matches
        .get_one::<String>("name")
        .map(String::as_str)
        .unwrap_or_default();
    let user_dir = app.dirs.user_plugin_dir();
    let matching: Vec<_> = app
        .registry
        .plugins
        .iter()
        .filter(|record| record.name == name)
        .collect();
    let Some(record) = matching
        .iter()
        .find(|record| record.path.parent() == Some(user_dir.as_path()))
    else {
        return match matching.first() {
            Some(record) => fail(format!(
                "`{name}` is installed at {}, outside the user plugin directory {}; \
                 remove it with the tool that installed it (e.g. re-run scripts/install.sh \
                 with --plugins) or delete the file",
                record.path.display(),
                user_dir.display()
            )),
            None => fail(format!("no plugin named `{name}` is installed")),
        };
    };
    if let Err(error) = std::fs::remove_file(&record.path) {
        return fail(format!("cannot remove {}: {error}", record.path.display()));
    }
    println!("removed {name} ({})", record.path.display());
    0
}
