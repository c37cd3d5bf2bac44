//! `mosaic config path`: where the configuration file (and the other directories)
//! are.

use clap::Command;
use mosaic_plugin_api::sdk::config::config_path;

use crate::app::App;

/// Declares the command.
pub fn command() -> Command {
    Command::new("path")
        .about("Print the path of config.json (--json: every Mosaic directory)")
        .after_help("Examples:\n  mosaic config path\n  $EDITOR \"$(mosaic config path)\"")
}

/// Prints the path.
pub fn run(app: &App, json: bool) -> i32 {
    let file = config_path(&app.dirs.config);
    if json {
        let value = serde_json::json!({
            "config_file": file,
            "config_dir": app.dirs.config,
            "data_dir": app.dirs.data,
            "cache_dir": app.dirs.cache,
            "run_dir": app.dirs.run,
            "user_plugin_dir": app.dirs.user_plugin_dir(),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        println!("{}", file.display());
    }
    0
}
