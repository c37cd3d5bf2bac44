//! A benchmark fixture: a plugin with one command that prints `ok`.
//!
//! `scripts/bench.sh` builds it once, then makes 100 distinct plugins from that one
//! library by replacing the bytes of [`NAME`] (`benchplugin_000000`) in each copy with
//! `benchplugin_000001`, `benchplugin_000002`, … — the same length, so nothing else
//! in the file moves. Plugin name and command name both come from [`NAME`], which is
//! why it must stay a fixed-length string that appears nowhere else in the code.

use std::io::Write;

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::command::PluginHandler;
use mosaic_plugin_api::{CommandSpec, Commands, Context, Invocation, Manifest, Plugin};

/// The placeholder that scripts/bench.sh patches, byte for byte, in each copy.
static NAME: &str = "benchplugin_000000";

/// The name, read at run time so the compiler cannot fold the literal elsewhere.
fn name() -> &'static str {
    std::hint::black_box(NAME)
}

/// The one command: prints `ok`.
fn print_ok(context: &Context<'_>, _invocation: &Invocation) -> Result<i32> {
    writeln!(context.out(), "ok")?;
    Ok(0)
}

/// The plugin. The SDK creates one per call with `Default`.
#[derive(Default)]
pub struct BenchPlugin;

impl Plugin for BenchPlugin {
    fn manifest(&self) -> Manifest {
        Manifest::new(name(), env!("CARGO_PKG_VERSION"))
            .description("Benchmark fixture (scripts/bench.sh)")
            .host_requirement(">=0.2.0, <0.3.0")
    }

    fn commands(&self) -> Commands {
        // The command's name is only known at run time, so it is not a `Command`
        // type (whose spec is a function of the type) but an entry with a handler.
        Commands::new().entry(
            CommandSpec::new(name(), "Print ok (a benchmark fixture)"),
            Some(print_ok as PluginHandler),
            Commands::new(),
        )
    }
}

mosaic_plugin_api::export_plugin!(BenchPlugin);
