//! `mosaic hello`: an example of a third-party mosaic plugin.
//!
//! It shows the whole plugin surface in a few lines: a command with a positional,
//! an option, a flag and a subcommand; a config key resolved flag > env > file >
//! default; `--json` output; and tests that run the commands (and the examples in the
//! spec) in-process with the SDK's test harness. Build it with `cargo build
//! --release` and install it with `mosaic plugins install
//! target/release/libmosaic_hello.so`.

mod commands;

use mosaic_plugin_api::anyhow::{bail, Result};
use mosaic_plugin_api::{ConfigKeySpec, Context, Invocation, Manifest, Plugin};

/// The plugin. The SDK creates one per call with `Default`.
#[derive(Default)]
pub struct Hello;

impl Plugin for Hello {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: "hello".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Greets people (an example plugin)".to_string(),
            host_requirement: ">=0.1.0, <0.2.0".to_string(),
            commands: vec![commands::hello::spec()],
            config: vec![ConfigKeySpec {
                key: "hello.greeting".to_string(),
                description: "The word used to greet".to_string(),
                default: Some("Hello".into()),
                env: Some("MOSAIC_HELLO_GREETING".to_string()),
                secret: false,
            }],
        }
    }

    fn run(&self, context: &Context<'_>, invocation: &Invocation) -> Result<i32> {
        let words: Vec<&str> = invocation.command.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["hello"] => commands::hello::run(context, invocation),
            ["hello", "dirs"] => commands::dirs::run(context, invocation),
            other => bail!("unknown command `{}`", other.join(" ")),
        }
    }
}

mosaic_plugin_api::export_plugin!(Hello);
