//! `mosaic config path`: where the configuration file (and the other directories)
//! are.

use anyhow::Result;
use mosaic_plugin_api::sdk::config::config_path;
use mosaic_plugin_api::{CommandSpec, NoOptions};

use crate::builtins::Builtin;
use crate::session::Session;

/// `mosaic config path`.
pub struct Path;

impl Builtin for Path {
    type Options = NoOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "path",
            "Print the path of config.json (--json: every Mosaic directory)",
        )
        .example(
            "config path",
            "The file, e.g. to edit it: $EDITOR \"$(mosaic config path)\"",
        )
    }

    fn run(session: &Session, _options: NoOptions) -> Result<i32> {
        let dirs = &session.dirs;
        let file = config_path(&dirs.config);
        if session.json() {
            let value = serde_json::json!({
                "config_file": file,
                "config_dir": dirs.config,
                "data_dir": dirs.data,
                "cache_dir": dirs.cache,
                "run_dir": dirs.run,
                "user_plugin_dir": dirs.user_plugin_dir(),
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
        } else {
            println!("{}", file.display());
        }
        Ok(0)
    }
}
