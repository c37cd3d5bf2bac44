//! `mosaic plugins install FILE [--force]`: vet a plugin library and copy it into the
//! user plugin directory.
//!
//! The file is loaded first (ABI check, manifest, host requirement): nothing is
//! copied unless it would work. The copy is atomic (temp file + rename), so a running
//! `mosaic` that has the old library mapped keeps working. An existing plugin of the
//! same name is replaced when the new one has a higher version, or with `--force`.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Command};
use mosaic_plugin_api::sdk::fs::{atomic_copy, create_dir_all_with_mode};

use crate::app::App;
use crate::builtins::fail;
use crate::loader::{probe, LoadOutcome};
use crate::paths::plugin_file_name;

/// Declares the command.
pub fn command() -> Command {
    Command::new("install")
        .about("Install a plugin library into the user plugin directory")
        .long_about(
            "Check that FILE is a mosaic plugin this host can load (API version, \
             manifest, host requirement), then copy it atomically to \
             $XDG_DATA_HOME/mosaic/plugins/libmosaic_<name>.so. An installed plugin of \
             the same name is upgraded when FILE has a higher version; replacing it \
             with the same or a lower version needs --force.",
        )
        .arg(
            Arg::new("file")
                .required(true)
                .value_name("FILE")
                .help("The plugin library (.so)"),
        )
        .arg(
            Arg::new("force")
                .long("force")
                .short('f')
                .action(ArgAction::SetTrue)
                .help("Replace an installed plugin of the same name even if it is not older"),
        )
        .after_help(
            "Examples:\n  mosaic plugins install target/release/libmosaic_hello.so\n  \
             mosaic plugins install ./libmosaic_hello.so --force",
        )
}

/// Vets and installs the file.
pub fn run(app: &App, matches: &ArgMatches) -> i32 {
    let source = PathBuf::from(
        matches
            .get_one::<String>("file")
            .cloned()
            .unwrap_or_default(),
    );
    let force = matches.get_flag("force");
    if !source.is_file() {
        return fail(format!("{}: no such file", source.display()));
    }
    let manifest = match probe(&source) {
        LoadOutcome::Loaded { summary, .. } => *summary,
        LoadOutcome::Incompatible { reason, .. } | LoadOutcome::Broken { reason, .. } => {
            return fail(format!(
                "{} cannot be installed: {reason}",
                source.display()
            ));
        }
    };
    let directory = app.dirs.user_plugin_dir();
    if let Err(error) = create_dir_all_with_mode(&directory, 0o755) {
        return fail(format!("{error:#}"));
    }
    let destination = directory.join(plugin_file_name(&manifest.name));
    if source.canonicalize().ok() == destination.canonicalize().ok() {
        return fail(format!(
            "{} is already the installed file",
            source.display()
        ));
    }
    let installed = app
        .registry
        .plugins
        .iter()
        .find(|record| record.path == destination);
    let mut action = "installed";
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
                    return fail(format!(
                        "{} {old} is already installed at {}; {} {} is not newer. \
                         Use --force to replace it anyway.",
                        manifest.name,
                        destination.display(),
                        manifest.name,
                        manifest.version
                    ));
                }
                action = "upgraded";
                eprintln!("upgrading {} {old} -> {}", manifest.name, manifest.version);
            }
            (None, false) => {
                return fail(format!(
                    "{} exists and is not a working plugin ({}); use --force to replace it",
                    destination.display(),
                    record.problem.as_deref().unwrap_or("unknown problem")
                ));
            }
        }
    }
    if let Err(error) = atomic_copy(&source, &destination, 0o755) {
        return fail(format!("{error:#}"));
    }
    println!(
        "{action} {} {} -> {}",
        manifest.name,
        manifest.version,
        destination.display()
    );
    // Say when another copy on the search path wins over (or loses to) this one.
    let user_position = app.search.iter().position(|dir| dir.path == directory);
    for record in app
        .registry
        .plugins
        .iter()
        .filter(|record| record.name == manifest.name && record.path != destination)
    {
        let position = app
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
    0
}
