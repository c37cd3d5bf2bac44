//! `mosaic plugins new NAME [--path DIR] [--sdk-path DIR]`: write a new plugin
//! crate, built out of tree against the plugin SDK installed beside mosaic.
//!
//! The crate (templates in `new_template/`) has one command with an option and
//! `--json` output, tests with the SDK's `TestHost`, and a README that walks an
//! author through build, test, install and publish; `cargo test` and `cargo build`
//! pass in it unchanged.
//!
//! The SDK is the `mosaic-plugin-api` crate that `scripts/install.sh` extracts to
//! `PREFIX/share/mosaic/sdk/mosaic-plugin-api` (PREFIX = the parent of the
//! directory holding `mosaic`); `--sdk-path` or `MOSAIC_SDK_PATH` point elsewhere.
//! The crate is written to a temporary directory beside DIR and renamed into place,
//! so a failure leaves nothing half-written.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use mosaic_plugin_api::sdk::fs::atomic_write;
use mosaic_plugin_api::validate::valid_word;
use mosaic_plugin_api::{ArgSpec, CommandSpec, Mount, API_VERSION};
use serde::Deserialize;

use crate::builtins::{claimed_names, table, Builtin};
use crate::loader::HOST_VERSION;
use crate::paths::binary_dir;
use crate::session::Session;

/// The environment variable naming the SDK directory.
pub const SDK_PATH_VARIABLE: &str = "MOSAIC_SDK_PATH";

/// Every file of a new crate: its path in the crate, and its template.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("new_template/Cargo.toml.template"),
    ),
    (
        ".gitignore",
        include_str!("new_template/gitignore.template"),
    ),
    ("README.md", include_str!("new_template/README.md.template")),
    (
        "src/lib.rs",
        include_str!("new_template/src/lib.rs.template"),
    ),
    (
        "src/commands/mod.rs",
        include_str!("new_template/src/commands/mod.rs.template"),
    ),
    (
        "src/commands/greet.rs",
        include_str!("new_template/src/commands/greet.rs.template"),
    ),
    (
        "tests/greet.rs",
        include_str!("new_template/tests/greet.rs.template"),
    ),
];

/// `mosaic plugins new`.
pub struct New;

/// The options of `mosaic plugins new`.
#[derive(Debug, Deserialize)]
pub struct NewOptions {
    /// The plugin's name.
    pub name: String,
    /// Where to write the crate (default `./mosaic-NAME`).
    pub path: Option<PathBuf>,
    /// The SDK directory, overriding `MOSAIC_SDK_PATH` and the installed one.
    pub sdk_path: Option<PathBuf>,
}

impl Builtin for New {
    type Options = NewOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "new",
            "Start a new plugin: write a crate that builds and tests",
        )
        .long_about(
            "Write a new plugin crate to DIR (default ./mosaic-NAME; an existing \
                 directory must be empty): Cargo.toml against the plugin SDK installed \
                 with mosaic, src/lib.rs (the plugin's manifest and command table), one \
                 command `mosaic NAME greet` with an option and --json output, tests \
                 that run it in-process with the SDK's TestHost, and a README on \
                 building, testing, installing and publishing it. `cargo test` and \
                 `cargo build --release` work in it as written; install the result with \
                 `mosaic plugins install target/release/libmosaic_NAME.so`.\n\n\
                 NAME is the plugin's name and its top-level command: lowercase letters, \
                 digits, `-` and `_`, and not a built-in command. The SDK is \
                 PREFIX/share/mosaic/sdk/mosaic-plugin-api (installed by \
                 scripts/install.sh), or --sdk-path DIR, or MOSAIC_SDK_PATH.",
        )
        .arg(
            ArgSpec::positional("name", "The plugin's name (and its command)")
                .required()
                .value_name("NAME"),
        )
        .arg(
            ArgSpec::option("path", "Where to write the crate [default: ./mosaic-NAME]")
                .value_name("DIR"),
        )
        .arg(
            ArgSpec::option(
                "sdk_path",
                "The mosaic-plugin-api crate to build against [default: the one \
                     installed with mosaic]",
            )
            .value_name("DIR")
            .env(SDK_PATH_VARIABLE),
        )
        .example("plugins new weather", "")
        .example("plugins new weather --path ~/src/mosaic-weather", "")
    }

    fn run(session: &Session, options: NewOptions) -> Result<i32> {
        let sdk_dir = match options.sdk_path {
            Some(dir) => dir,
            None => installed_sdk_dir()?,
        };
        let sdk = Sdk::find(&sdk_dir)?;
        let destination = options
            .path
            .unwrap_or_else(|| PathBuf::from(format!("mosaic-{}", options.name)));
        let plan = CratePlan::new(&options.name, &sdk)?;
        plan.write(&destination)?;
        let library = format!("libmosaic_{}.so", plan.ident);
        if session.json() {
            let document = serde_json::json!({
                "name": plan.name,
                "path": destination,
                "sdk": sdk.dir,
                "api_version": sdk.version,
                "library": format!("target/release/{library}"),
                "files": TEMPLATES.iter().map(|(path, _)| *path).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&document)?);
            return Ok(0);
        }
        println!(
            "created plugin `{}` in {} (mosaic-plugin-api {} from {})",
            plan.name,
            destination.display(),
            sdk.version,
            sdk.dir.display()
        );
        println!("next:");
        println!("  cd {}", destination.display());
        println!("  cargo test");
        println!("  cargo build --release");
        println!("  mosaic plugins install target/release/{library}");
        println!("  mosaic {} greet --help", plan.name);
        Ok(0)
    }
}

/// The SDK installed beside this binary: `PREFIX/share/mosaic/sdk/mosaic-plugin-api`.
fn installed_sdk_dir() -> Result<PathBuf> {
    let prefix = binary_dir()
        .and_then(|dir| dir.parent().map(Path::to_path_buf))
        .ok_or_else(|| {
            anyhow!("cannot tell where mosaic is installed; pass --sdk-path DIR (the mosaic-plugin-api crate)")
        })?;
    Ok(prefix.join("share/mosaic/sdk/mosaic-plugin-api"))
}

/// A plugin SDK crate found on disk.
#[derive(Debug)]
pub struct Sdk {
    /// Its directory, absolute.
    pub dir: PathBuf,
    /// Its `mosaic-plugin-api` version.
    pub version: semver::Version,
}

impl Sdk {
    /// Checks that `dir` holds a `mosaic-plugin-api` crate of this host's API series.
    pub fn find(dir: &Path) -> Result<Sdk> {
        let manifest_path = dir.join("Cargo.toml");
        let missing = || {
            anyhow!(
                "no mosaic plugin SDK at {} (no Cargo.toml there); install mosaic with \
                 scripts/install.sh, which puts it there, or pass --sdk-path DIR (or set \
                 {SDK_PATH_VARIABLE}) to a mosaic-plugin-api crate directory",
                dir.display()
            )
        };
        let text = fs::read_to_string(&manifest_path).map_err(|_| missing())?;
        let (name, version) = package_name_and_version(&text).ok_or_else(missing)?;
        if name != "mosaic-plugin-api" {
            bail!(
                "{} is the crate `{name}`, not mosaic-plugin-api; pass --sdk-path DIR to \
                 the mosaic-plugin-api crate",
                manifest_path.display()
            );
        }
        let version = semver::Version::parse(&version).map_err(|_| {
            anyhow!(
                "{}: version `{version}` is not semver",
                manifest_path.display()
            )
        })?;
        let host_api = semver::Version::parse(API_VERSION).expect("the API version is semver");
        if api_series(&version) != api_series(&host_api) {
            bail!(
                "the SDK at {} is mosaic-plugin-api {version}, but this mosaic loads plugins \
                 built against {}.x; pass --sdk-path DIR to a {} SDK",
                dir.display(),
                api_series(&host_api),
                api_series(&host_api)
            );
        }
        let dir = dir
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", dir.display()))?;
        Ok(Sdk { dir, version })
    }
}

/// `0.2` for 0.2.x, `1` for 1.x: the versions that share an ABI.
fn api_series(version: &semver::Version) -> String {
    if version.major == 0 {
        format!("0.{}", version.minor)
    } else {
        version.major.to_string()
    }
}

/// The `name` and `version` of the `[package]` table of a Cargo.toml (the plain
/// `key = "value"` lines `cargo package` writes).
fn package_name_and_version(text: &str) -> Option<(String, String)> {
    let mut in_package = false;
    let (mut name, mut version) = (None, None);
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value
            .trim()
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'));
        match (key.trim(), value) {
            ("name", Some(value)) => name = Some(value.to_string()),
            ("version", Some(value)) => version = Some(value.to_string()),
            _ => {}
        }
    }
    Some((name?, version?))
}

/// The values filled into the templates for one plugin.
#[derive(Debug)]
struct CratePlan {
    /// The plugin's name (`my-tool`).
    name: String,
    /// Its Rust identifier form (`my_tool`), as in `mosaic_my_tool`.
    ident: String,
    /// The filled placeholders.
    values: Vec<(&'static str, String)>,
}

impl CratePlan {
    fn new(name: &str, sdk: &Sdk) -> Result<CratePlan> {
        if !valid_word(name) {
            bail!(
                "plugin name `{name}` must be lowercase letters, digits, `-` or `_`, \
                 starting with a letter or digit (at most 64 characters)"
            );
        }
        if claimed_names(&table()).contains(Mount::Top, name) {
            bail!(
                "`{name}` is a built-in command of mosaic (`mosaic {name}`); choose another name"
            );
        }
        let sdk_path = sdk
            .dir
            .to_str()
            .ok_or_else(|| anyhow!("the SDK path {} is not UTF-8", sdk.dir.display()))?;
        let ident = name.replace('-', "_");
        let host = semver::Version::parse(HOST_VERSION).expect("the host version is semver");
        let values = vec![
            ("@NAME@", name.to_string()),
            ("@IDENT@", ident.clone()),
            ("@TYPE@", type_name(name)),
            ("@API_VERSION@", sdk.version.to_string()),
            ("@API_SERIES@", api_series(&sdk.version)),
            ("@SDK_PATH@", toml_escape(sdk_path)),
            ("@HOST_REQUIREMENT@", host_requirement(&host)),
        ];
        Ok(CratePlan {
            name: name.to_string(),
            ident,
            values,
        })
    }

    /// A template with every placeholder filled.
    fn fill(&self, template: &str) -> String {
        self.values
            .iter()
            .fold(template.to_string(), |text, (placeholder, value)| {
                text.replace(placeholder, value)
            })
    }

    /// Writes the crate to `destination` (which must not exist, or be an empty
    /// directory): into a temporary directory beside it first, renamed into place.
    fn write(&self, destination: &Path) -> Result<()> {
        match fs::read_dir(destination) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    bail!(
                        "{} exists and is not empty; choose another --path or remove it",
                        destination.display()
                    );
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(error).with_context(|| format!("cannot use {}", destination.display()))
            }
        }
        let file_name = destination
            .file_name()
            .ok_or_else(|| anyhow!("{} is not a directory name", destination.display()))?
            .to_string_lossy()
            .into_owned();
        let parent = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let staging = parent.join(format!(".{file_name}.new.{}", std::process::id()));
        let written = self.write_files(&staging).and_then(|()| {
            format_sources(&staging);
            fs::rename(&staging, destination)
                .with_context(|| format!("cannot create {}", destination.display()))
        });
        if written.is_err() {
            let _ = fs::remove_dir_all(&staging);
        }
        written
    }

    fn write_files(&self, root: &Path) -> Result<()> {
        fs::create_dir(root).with_context(|| format!("cannot create {}", root.display()))?;
        for (relative, template) in TEMPLATES {
            let path = root.join(relative);
            if let Some(directory) = path.parent() {
                fs::create_dir_all(directory)
                    .with_context(|| format!("cannot create {}", directory.display()))?;
            }
            atomic_write(&path, self.fill(template).as_bytes(), Some(0o644))?;
        }
        Ok(())
    }
}

/// Runs rustfmt, when there is one, on the new crate's Rust files: the templates
/// are formatted for a short name, and a long one may make rustfmt wrap lines
/// differently. Without rustfmt the files are left as they are (they compile
/// either way).
fn format_sources(root: &Path) {
    let files: Vec<PathBuf> = TEMPLATES
        .iter()
        .filter(|(relative, _)| relative.ends_with(".rs"))
        .map(|(relative, _)| root.join(relative))
        .collect();
    let _ = std::process::Command::new("rustfmt")
        .args(["--edition", "2021"])
        .args(&files)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// `my-tool` → `MyToolPlugin` (an identifier even for a name starting with a digit).
fn type_name(name: &str) -> String {
    let mut text: String = name
        .split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect();
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        text.insert_str(0, "Mosaic");
    }
    text.push_str("Plugin");
    text
}

/// `>=0.2.0, <0.3.0` for host 0.2.x; `>=1.4.0, <2.0.0` for host 1.4.x.
fn host_requirement(host: &semver::Version) -> String {
    if host.major == 0 {
        format!(">=0.{}.0, <0.{}.0", host.minor, host.minor + 1)
    } else {
        format!(">={}.{}.0, <{}.0.0", host.major, host.minor, host.major + 1)
    }
}

/// Text as the inside of a TOML basic string.
fn toml_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_sdk(dir: &Path, version: &str) -> Sdk {
        fs::create_dir_all(dir).unwrap();
        fs::write(
            dir.join("Cargo.toml"),
            format!("[package]\nname = \"mosaic-plugin-api\"\nversion = \"{version}\"\n\n[dependencies]\nversion = \"9\"\n"),
        )
        .unwrap();
        Sdk::find(dir).unwrap()
    }

    #[test]
    fn names_become_identifiers() {
        assert_eq!(type_name("demo"), "DemoPlugin");
        assert_eq!(type_name("my-tool_x"), "MyToolXPlugin");
        assert_eq!(type_name("2fa"), "Mosaic2faPlugin");
        assert_eq!(
            host_requirement(&semver::Version::new(0, 2, 7)),
            ">=0.2.0, <0.3.0"
        );
        assert_eq!(
            host_requirement(&semver::Version::new(1, 4, 0)),
            ">=1.4.0, <2.0.0"
        );
    }

    #[test]
    fn every_placeholder_is_filled() {
        let dir = tempfile::tempdir().unwrap();
        let sdk = fake_sdk(&dir.path().join("sdk"), API_VERSION);
        let plan = CratePlan::new("my-tool", &sdk).unwrap();
        for (path, template) in TEMPLATES {
            let text = plan.fill(template);
            for (placeholder, _) in &plan.values {
                assert!(!text.contains(placeholder), "{path}: {placeholder}");
            }
        }
        let cargo = plan.fill(TEMPLATES[0].1);
        assert!(cargo.contains("name = \"mosaic_my_tool\""), "{cargo}");
        assert!(cargo.contains(&format!("version = \"{API_VERSION}\"")));
    }

    #[test]
    fn bad_names_and_non_empty_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let sdk = fake_sdk(&dir.path().join("sdk"), API_VERSION);
        for name in ["Bad", "a b", "", "plugins", "config"] {
            assert!(CratePlan::new(name, &sdk).is_err(), "{name}");
        }
        let plan = CratePlan::new("demo", &sdk).unwrap();
        let taken = dir.path().join("taken");
        fs::create_dir(&taken).unwrap();
        fs::write(taken.join("keep.txt"), "mine").unwrap();
        let error = plan.write(&taken).unwrap_err().to_string();
        assert!(error.contains("is not empty"), "{error}");
        assert_eq!(fs::read_dir(&taken).unwrap().count(), 1);

        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        plan.write(&empty).unwrap();
        assert!(empty.join("src/commands/greet.rs").is_file());
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn an_sdk_of_another_api_series_or_none_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let error = Sdk::find(&dir.path().join("nowhere"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("--sdk-path"), "{error}");
        assert!(error.contains("nowhere"), "{error}");
        let other = dir.path().join("other");
        fs::create_dir_all(&other).unwrap();
        fs::write(
            other.join("Cargo.toml"),
            "[package]\nname = \"mosaic-plugin-api\"\nversion = \"9.0.0\"\n",
        )
        .unwrap();
        let error = Sdk::find(&other).unwrap_err().to_string();
        assert!(error.contains("9.0.0"), "{error}");
    }
}
