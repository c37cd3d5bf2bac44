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
pub mod vetting;

use mosaic_plugin_api::CommandSpec;

/// Declares the `plugins` group (its subcommands come from the built-in table).
pub fn group_spec() -> CommandSpec {
    CommandSpec::new(
        "plugins",
        "Find, install, upgrade, inspect and publish plugins",
    )
    .long_about(
        "Plugins are libraries named libmosaic_<name>.so found on the search path: \
         --plugin-dir, MOSAIC_PLUGIN_PATH, ~/.local/share/mosaic/plugins, \
         PREFIX/lib/mosaic/plugins and the directory of the mosaic binary (first wins). \
         Install one from a file, or by name from a plugin index you added with \
         `plugins index-source add` and whose publisher key you trust (`plugins trust \
         add`): every release is signed, hashed and vetted before it replaces anything. \
         Authors start with `plugins new` and publish with `plugins keygen` and \
         `plugins index add`.",
    )
    .example("plugins list", "")
    .example("plugins search weather", "")
    .example("plugins install weather", "")
    .example("plugins upgrade --all", "")
    .example("plugins install target/release/libmosaic_hello.so", "")
    .example("plugins doctor", "")
}
