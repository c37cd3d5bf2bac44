//! `mosaic hello`: an example of a third-party mosaic plugin, written to be copied.
//!
//! It shows the whole plugin surface in a few lines: a manifest built with the
//! SDK's builders and a config key; a command table listing every command once; one
//! module per command, each a [`Command`](mosaic_plugin_api::Command) with a typed
//! options struct (a positional with a default, an option, a flag, a number the host
//! checks); a subcommand; the config key resolved flag > env > file > default;
//! `--json` output; the host's progress indicator; and tests that run the commands
//! (and the examples in the specs) in-process with the SDK's test harness. Build it
//! with `cargo build --release` and install it with `mosaic plugins install
//! target/release/libmosaic_hello.so`.

pub mod commands;

use mosaic_plugin_api::{Commands, ConfigKeySpec, Manifest, Plugin};

use commands::dirs::Dirs;
use commands::hello::Greet;

/// The config key holding the default greeting word.
pub const GREETING_KEY: &str = "hello.greeting";

/// The plugin. The SDK creates one per call with `Default`.
#[derive(Default)]
pub struct Hello;

impl Plugin for Hello {
    fn manifest(&self) -> Manifest {
        Manifest::new("hello", env!("CARGO_PKG_VERSION"))
            .description("Greets people (an example plugin)")
            .host_requirement(">=0.2.0, <0.3.0")
            .config_key(
                ConfigKeySpec::new(GREETING_KEY, "The word used to greet")
                    .default_value("Hello")
                    .env("MOSAIC_HELLO_GREETING"),
            )
    }

    fn commands(&self) -> Commands {
        // `hello [NAME]` runs on its own and has the subcommand `hello dirs`.
        Commands::new().command_with::<Greet>(Commands::new().command::<Dirs>())
    }
}

mosaic_plugin_api::export_plugin!(Hello);
