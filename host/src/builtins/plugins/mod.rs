//! `mosaic plugins …`: see, vet, add and remove plugins.

pub mod doctor;
pub mod from_index;
pub mod index;
pub mod index_source;
pub mod info;
pub mod install;
pub mod keygen;
pub mod list;
pub mod new;
pub mod outdated;
pub mod remove;
pub mod search;
pub mod trust;
pub mod upgrade;

use mosaic_plugin_api::CommandSpec;

/// Declares the `plugins` group (its subcommands come from the built-in table).
pub fn group_spec() -> CommandSpec {
    CommandSpec::new("plugins", "List, inspect, install and remove plugins")
        .long_about(
            "List, inspect, install and remove plugins. Plugins are libraries named \
             libmosaic_<name>.so found on the search path: --plugin-dir, \
             MOSAIC_PLUGIN_PATH, ~/.local/share/mosaic/plugins, PREFIX/lib/mosaic/plugins \
             and the directory of the mosaic binary (first wins).",
        )
        .example("plugins list", "")
        .example("plugins doctor", "")
        .example("plugins install target/release/libmosaic_hello.so", "")
}
