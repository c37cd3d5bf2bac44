//! `mosaic plugins install FILE [--force]`: vet a plugin library and copy it into the
//! user plugin directory. `mosaic plugins install NAME[@VERSION]` finds the plugin in
//! the configured indexes instead and installs it through the same vetting
//! ([`vet_library`], in `vetting`; the download side is `from_index`).
//!
//! The file is loaded first (ABI check, manifest, host requirement): nothing is
//! copied unless it would work. The copy is atomic (temp file + rename), so a running
//! `mosaic` that has the old library mapped keeps working. An existing plugin of the
//! same name is replaced when the new one has a higher version, or with `--force`.
//! A plugin that declares a command of a built-in or of another installed plugin
//! (at the top or under `config`) is refused, naming both and saying what would
//! happen, unless `--force` is given: a first-party command is never taken over by
//! accident. This is also where a command lost to a built-in is reported; later runs
//! do not warn about it.
//! A spinner shows while the file is vetted and copied, if that takes a while.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use mosaic_plugin_api::sdk::fs::{atomic_copy, create_dir_all_with_mode};
use mosaic_plugin_api::{ArgSpec, CommandSpec};
use serde::Deserialize;

use crate::builtins::plugins::from_index::install_named;
use crate::builtins::plugins::vetting::{vet_library, VettedLibrary};
use crate::builtins::Builtin;
use crate::distribution::provenance;
use crate::session::Session;

/// `mosaic plugins install`.
pub struct Install;

/// The options of `mosaic plugins install`.
#[derive(Debug, Deserialize)]
pub struct InstallOptions {
    /// The plugin library, or `NAME[@VERSION]` to find in the plugin indexes.
    pub plugin: String,
    /// Replace an installed plugin that is not older, and accept commands that
    /// collide with a built-in or another plugin.
    pub force: bool,
    /// Install an older version from an index than the one installed.
    #[serde(default)]
    pub allow_downgrade: bool,
}

/// Whether the argument of `plugins install` names a file (an existing path, one
/// with a `/`, or a library file name) rather than a plugin in an index.
pub fn is_file_argument(argument: &str) -> bool {
    argument.contains('/')
        || argument.ends_with(std::env::consts::DLL_SUFFIX)
        || argument.ends_with(".so")
        || argument.ends_with(".dylib")
        || Path::new(argument).exists()
}

impl Builtin for Install {
    type Options = InstallOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "install",
            "Install a plugin from a library file, or by name from a plugin index",
        )
        .long_about(
            "Install a plugin from a library FILE, or by NAME[@VERSION] from the plugin \
             indexes (`mosaic plugins index-source add URL`). By name, the newest release \
             this mosaic can load on this platform is chosen (releases built for another \
             plugin API or target are skipped, and said); its publisher's signature is \
             checked against your trusted keys (`mosaic plugins trust`; an unknown key is \
             asked about at a terminal and refused otherwise — MOSAIC_ASSUME_YES never \
             trusts a key); it is downloaded with its size and sha256 checked, then vetted \
             like a FILE; installing an older version than the installed one needs \
             --allow-downgrade. From a FILE: check that it is a mosaic plugin this host can load (API version, \
             manifest, host requirement), then copy it atomically to \
             $XDG_DATA_HOME/mosaic/plugins/libmosaic_<name>.so. An installed plugin of \
             the same name is upgraded when FILE has a higher version; replacing it \
             with the same or a lower version needs --force. A plugin declaring a \
             command that a built-in or another installed plugin has is refused, \
             naming both; --force installs it anyway (built-ins always win; between \
             plugins the first on the search path does).",
        )
        .arg(
            ArgSpec::positional(
                "plugin",
                "The plugin library (a path: has a `/` or ends in .so), or a plugin name \
                 from the indexes, optionally @VERSION",
            )
            .required()
            .value_name("FILE|NAME[@VERSION]"),
        )
        .arg(
            ArgSpec::flag(
                "force",
                "Replace an installed plugin of the same name even if it is not older, \
                 and install a plugin whose commands collide with others",
            )
            .short('f'),
        )
        .arg(ArgSpec::flag(
            "allow_downgrade",
            "Install NAME@VERSION even when a newer version is installed",
        ))
        .example("plugins install target/release/libmosaic_hello.so", "")
        .example("plugins install ./libmosaic_hello.so --force", "")
        .example("plugins install hello", "")
        .example("plugins install hello@0.1.0 --allow-downgrade", "")
    }

    fn run(session: &Session, options: InstallOptions) -> Result<i32> {
        let InstallOptions {
            plugin,
            force,
            allow_downgrade,
        } = options;
        if !is_file_argument(&plugin) {
            return install_named(session, &plugin, force, allow_downgrade);
        }
        let source = PathBuf::from(plugin);
        if !source.is_file() {
            bail!("{}: no such file", source.display());
        }
        let waiting = session
            .progress
            .spinner(&format!("Checking {}", source.display()));
        let vetted = vet_library(session, &source, &source.display().to_string())?;
        if let Some(refusal) = vetted.collision_refusal(&source.display().to_string(), force) {
            bail!(refusal);
        }
        let VettedLibrary {
            loaded,
            destination,
            collisions,
        } = vetted;
        let manifest = loaded.summary;
        let directory = session.dirs.user_plugin_dir();
        create_dir_all_with_mode(&directory, 0o755)?;
        if source.canonicalize().ok() == destination.canonicalize().ok() {
            bail!("{} is already the installed file", source.display());
        }
        let installed = session
            .registry
            .plugins
            .iter()
            .find(|record| record.path == destination);
        let mut action = "installed";
        let mut upgrade = None;
        if let Some(record) = installed {
            match (record.version(), force) {
                (_, true) => action = "replaced (--force)",
                (Some(old), false) => {
                    let newer = match (
                        semver::Version::parse(&manifest.version),
                        semver::Version::parse(old),
                    ) {
                        (Ok(new), Ok(old)) => new > old,
                        _ => false,
                    };
                    if !newer {
                        bail!(
                            "{} {old} is already installed at {}; {} {} is not newer. \
                             Use --force to replace it anyway.",
                            manifest.name,
                            destination.display(),
                            manifest.name,
                            manifest.version
                        );
                    }
                    action = "upgraded";
                    upgrade = Some(format!(
                        "upgrading {} {old} -> {}",
                        manifest.name, manifest.version
                    ));
                }
                (None, false) => bail!(
                    "{} exists and is not a working plugin ({}); use --force to replace it",
                    destination.display(),
                    record.problem.as_deref().unwrap_or("unknown problem")
                ),
            }
        }
        waiting.set_message(&format!("Copying to {}", destination.display()));
        atomic_copy(&source, &destination, 0o755)?;
        // The file no longer came from an index.
        provenance::remove(&directory, &manifest.name)?;
        drop(waiting);
        if let Some(upgrade) = upgrade {
            eprintln!("{upgrade}");
        }
        println!(
            "{action} {} {} -> {}",
            manifest.name,
            manifest.version,
            destination.display()
        );
        for collision in &collisions {
            eprintln!(
                "warning: {} (--force): {}",
                collision.describe(),
                collision.consequence
            );
        }
        // Say when another copy on the search path wins over (or loses to) this one.
        let user_position = session.search.iter().position(|dir| dir.path == directory);
        for record in session
            .registry
            .plugins
            .iter()
            .filter(|record| record.name == manifest.name && record.path != destination)
        {
            let position = session
                .search
                .iter()
                .position(|dir| Some(dir.path.as_path()) == record.path.parent());
            if position < user_position {
                eprintln!(
                    "warning: {} comes earlier in the search path and will still be used",
                    record.path.display()
                );
            } else {
                eprintln!("note: this takes precedence over {}", record.path.display());
            }
        }
        Ok(0)
    }
}
