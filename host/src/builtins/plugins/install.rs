//! `mosaic plugins install FILE [--force]`: vet a plugin library and copy it into the
//! user plugin directory.
//!
//! The file is loaded first (ABI check, manifest, host requirement): nothing is
//! copied unless it would work. The copy is atomic (temp file + rename), so a running
//! `mosaic` that has the old library mapped keeps working. An existing plugin of the
//! same name is replaced when the new one has a higher version, or with `--force`.
//! A spinner shows while the file is vetted and copied, if that takes a while.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use mosaic_plugin_api::sdk::fs::{atomic_copy, create_dir_all_with_mode};
use mosaic_plugin_api::{ArgSpec, CommandSpec};
use serde::Deserialize;

use crate::builtins::Builtin;
use crate::loader::probe;
use crate::paths::plugin_file_name;
use crate::session::Session;

/// `mosaic plugins install`.
pub struct Install;

/// The options of `mosaic plugins install`.
#[derive(Debug, Deserialize)]
pub struct InstallOptions {
    /// The plugin library.
    pub file: PathBuf,
    /// Replace an installed plugin that is not older.
    pub force: bool,
}

impl Builtin for Install {
    type Options = InstallOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "install",
            "Install a plugin library into the user plugin directory",
        )
        .long_about(
            "Check that FILE is a mosaic plugin this host can load (API version, \
             manifest, host requirement), then copy it atomically to \
             $XDG_DATA_HOME/mosaic/plugins/libmosaic_<name>.so. An installed plugin of \
             the same name is upgraded when FILE has a higher version; replacing it \
             with the same or a lower version needs --force.",
        )
        .arg(
            ArgSpec::positional("file", "The plugin library (.so)")
                .required()
                .value_name("FILE"),
        )
        .arg(
            ArgSpec::flag(
                "force",
                "Replace an installed plugin of the same name even if it is not older",
            )
            .short('f'),
        )
        .example("plugins install target/release/libmosaic_hello.so", "")
        .example("plugins install ./libmosaic_hello.so --force", "")
    }

    fn run(session: &Session, options: InstallOptions) -> Result<i32> {
        let InstallOptions {
            file: source,
            force,
        } = options;
        if !source.is_file() {
            bail!("{}: no such file", source.display());
        }
        let waiting = session
            .progress
            .spinner(&format!("Checking {}", source.display()));
        let manifest = probe(&source)
            .map_err(|refusal| {
                anyhow!(
                    "{} cannot be installed: {}",
                    source.display(),
                    refusal.reason
                )
            })?
            .summary;
        let directory = session.dirs.user_plugin_dir();
        create_dir_all_with_mode(&directory, 0o755)?;
        let destination = directory.join(plugin_file_name(&manifest.name));
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
