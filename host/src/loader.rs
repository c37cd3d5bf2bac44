//! Loading a plugin library and asking it for its manifest, with every way that can
//! fail turned into a classified, explained outcome.
//!
//! Libraries are opened with `lib_header_from_path` + `init_root_module` (never
//! abi_stable's `load_from_file`, which caches the first module per type and would
//! hand every later caller the first plugin). `init_root_module` checks the
//! `mosaic-plugin-api` version and the type layouts; on top of that the plugin's
//! declared host requirement is checked here. Libraries are never unloaded, and each
//! is opened at most once per process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use abi_stable::library::{lib_header_from_path, LibraryError};
use abi_stable::std_types::RResult;
use std::collections::HashSet;

use mosaic_plugin_api::{ArgKind, Manifest, Mount, PluginModRef, API_VERSION};
use serde::{Deserialize, Serialize};

use crate::cache::FileStamp;

/// The version of this host binary.
pub const HOST_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Enough of a manifest to list a plugin and build the command tree without
/// parsing the whole manifest: what the cache keeps parsed for every plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginSummary {
    /// The plugin's name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// One line for `plugins list`.
    pub description: String,
    /// The host versions it supports.
    pub host_requirement: String,
    /// Its top-level commands, in manifest order.
    pub commands: Vec<CommandSummary>,
}

/// A top-level command as the tree needs it when it is not the one being run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandSummary {
    /// The word typed.
    pub name: String,
    /// One line for help.
    pub about: String,
    /// Other words for it.
    pub aliases: Vec<String>,
    /// Where it is mounted.
    pub mount: Mount,
    /// Left out of help.
    pub hidden: bool,
}

impl PluginSummary {
    /// The summary of a manifest.
    pub fn of(manifest: &Manifest) -> PluginSummary {
        PluginSummary {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            description: manifest.description.clone(),
            host_requirement: manifest.host_requirement.clone(),
            commands: manifest
                .commands
                .iter()
                .map(|command| CommandSummary {
                    name: command.name.clone(),
                    about: command.about.clone(),
                    aliases: command.aliases.clone(),
                    mount: command.mount,
                    hidden: command.hidden,
                })
                .collect(),
        }
    }
}

/// Where a plugin's full manifest JSON is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManifestJson {
    /// In memory, as read from the library (or inline in the cache index when its
    /// own file could not be written).
    Text(String),
    /// In a file of the cache (see [`crate::cache`]).
    CacheFile(std::path::PathBuf),
}

impl ManifestJson {
    /// The JSON text.
    pub fn read(&self) -> std::io::Result<String> {
        match self {
            ManifestJson::Text(text) => Ok(text.clone()),
            ManifestJson::CacheFile(path) => std::fs::read_to_string(path),
        }
    }
}

/// What loading a plugin file found out. Cached by file (see [`crate::cache`]).
///
/// The full manifest is kept apart from the summary: a run parses only the
/// summaries, plus the manifest of the plugin it runs, so start-up does not grow
/// with every command of every installed plugin.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadOutcome {
    /// A valid plugin.
    Loaded {
        /// The `mosaic-plugin-api` version it was built against.
        api_version: String,
        /// Its manifest's summary.
        summary: Box<PluginSummary>,
        /// Its whole manifest (validated), as JSON.
        manifest: ManifestJson,
    },
    /// A plugin this host cannot use: other ABI version, other layout, or a host
    /// requirement this version does not meet.
    Incompatible {
        /// The API version it was built against, when known.
        api_version: Option<String>,
        /// Its manifest's summary, when it could be read (a host requirement not met).
        summary: Option<Box<PluginSummary>>,
        /// One line: what is wrong and the fix.
        reason: String,
        /// The full explanation for `plugins doctor`.
        detail: String,
    },
    /// Not a usable plugin: not a library, no root module, a panic or invalid JSON in
    /// its manifest.
    Broken {
        /// One line.
        reason: String,
        /// The full explanation for `plugins doctor`.
        detail: String,
    },
}

static OPENED: Mutex<Option<HashMap<PathBuf, PluginModRef>>> = Mutex::new(None);

fn remember(path: &Path, module: PluginModRef) {
    let mut opened = OPENED.lock().unwrap_or_else(|poison| poison.into_inner());
    opened
        .get_or_insert_with(HashMap::new)
        .insert(path.to_path_buf(), module);
}

fn already_opened(path: &Path) -> Option<PluginModRef> {
    let opened = OPENED.lock().unwrap_or_else(|poison| poison.into_inner());
    opened.as_ref().and_then(|map| map.get(path).copied())
}

fn version_text(version: abi_stable::sabi_types::VersionNumber) -> String {
    format!("{}.{}.{}", version.major, version.minor, version.patch)
}

fn api_series(version: &str) -> String {
    let parts: Vec<&str> = version.split('.').collect();
    if parts.first() == Some(&"0") && parts.len() > 1 {
        format!("0.{}", parts[1])
    } else {
        parts.first().copied().unwrap_or(version).to_string()
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_string()
}

/// Opens the library (once per process) and returns its root module.
///
/// `verified` is the stamp of the file as it was when an earlier run loaded it and
/// abi_stable checked its type layouts (a manifest-cache hit). If the file still has
/// that stamp after opening it, the layout check — about 0.4 ms, most of the time of
/// a plugin command — is skipped; the version check is always done.
pub fn open_module(
    path: &Path,
    verified: Option<&FileStamp>,
) -> Result<(PluginModRef, String), LoadOutcome> {
    let header = lib_header_from_path(path).map_err(|error| classify(path, error, None))?;
    let parsed_version = header.version_strings().parsed().ok().map(version_text);
    // abi_stable's own version check lets a plugin built against a *newer* 0.N pass
    // and then fails it in the layout check, whose message names neither version.
    if let Some(version) = &parsed_version {
        if api_series(version) != api_series(API_VERSION) {
            return Err(incompatible_api_version(path, version, API_VERSION));
        }
    }
    let api_version = parsed_version.unwrap_or_else(|| "unknown".to_string());
    if let Some(module) = already_opened(path) {
        return Ok((module, api_version));
    }
    // Stat after opening: a file swapped in between shows a new stamp and is checked.
    let unchanged = verified.is_some_and(|stamp| {
        std::fs::metadata(path).is_ok_and(|metadata| FileStamp::of(&metadata) == *stamp)
    });
    let module = if unchanged {
        // SAFETY: this exact file (same size, mtime, ctime and inode) passed
        // abi_stable's layout check against this host version in an earlier run.
        unsafe { header.init_root_module_with_unchecked_layout::<PluginModRef>() }
    } else {
        header.init_root_module::<PluginModRef>()
    }
    .map_err(|error| classify(path, error, Some(api_version.clone())))?;
    remember(path, module);
    Ok((module, api_version))
}

/// The refusal of a plugin built against `actual`, not compatible with `expected`.
fn incompatible_api_version(path: &Path, actual: &str, expected: &str) -> LoadOutcome {
    let reason = format!(
        "built against mosaic-plugin-api {actual}, this host uses {expected}; \
         rebuild it against mosaic-plugin-api {}",
        api_series(expected)
    );
    let detail = format!(
        "{}: {reason}.\nThis host loads plugins built against a semver-compatible \
         mosaic-plugin-api, i.e. {}.x.",
        path.display(),
        api_series(expected)
    );
    LoadOutcome::Incompatible {
        api_version: Some(actual.to_string()),
        summary: None,
        detail,
        reason,
    }
}

fn classify(path: &Path, error: LibraryError, api_version: Option<String>) -> LoadOutcome {
    let file = path.display();
    match error {
        LibraryError::OpenError { err, .. } => LoadOutcome::Broken {
            reason: "not a loadable library".to_string(),
            detail: format!("{file} could not be opened as a shared library: {err}"),
        },
        LibraryError::GetSymbolError { err, .. } => LoadOutcome::Broken {
            reason: "not a mosaic plugin (no plugin root module exported)".to_string(),
            detail: format!(
                "{file} is a shared library but does not export a mosaic plugin ({err}); \
                 a plugin calls `mosaic_plugin_api::export_plugin!(YourPlugin)`"
            ),
        },
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => incompatible_api_version(
            path,
            &version_text(actual_version),
            &version_text(expected_version),
        ),
        LibraryError::AbiInstability(error) => {
            let reason = format!(
                "its mosaic-plugin-api types differ from this host's {API_VERSION} \
                 (layout check failed); rebuild it against mosaic-plugin-api {}",
                api_series(API_VERSION)
            );
            LoadOutcome::Incompatible {
                api_version,
                summary: None,
                detail: format!("{file}: {reason}\n{error}"),
                reason,
            }
        }
        LibraryError::InvalidAbiHeader(_) | LibraryError::InvalidCAbi { .. } => {
            let reason = format!(
                "built with an incompatible abi_stable; rebuild it against mosaic-plugin-api {}",
                api_series(API_VERSION)
            );
            LoadOutcome::Incompatible {
                api_version,
                summary: None,
                detail: format!("{file}: {reason}\n{error}"),
                reason,
            }
        }
        other => {
            let text = other.to_string();
            LoadOutcome::Broken {
                reason: first_line(&text),
                detail: format!("{file}: {text}"),
            }
        }
    }
}

/// Loads a plugin file and reads, parses and checks its manifest.
pub fn probe(path: &Path) -> LoadOutcome {
    let (module, api_version) = match open_module(path, None) {
        Ok(opened) => opened,
        Err(outcome) => return outcome,
    };
    let manifest_fn = module.manifest();
    let json = match manifest_fn() {
        RResult::ROk(json) => json.into_string(),
        RResult::RErr(message) => {
            return LoadOutcome::Broken {
                reason: format!("manifest failed: {}", first_line(message.as_str())),
                detail: format!("{}: manifest failed: {}", path.display(), message.as_str()),
            }
        }
    };
    let manifest: Manifest = match serde_json::from_str(&json) {
        Ok(manifest) => manifest,
        Err(error) => {
            return LoadOutcome::Broken {
                reason: format!("invalid manifest JSON: {error}"),
                detail: format!(
                "{}: the manifest is not valid JSON for mosaic-plugin-api {API_VERSION}: {error}\n\
                     manifest text: {}",
                path.display(),
                json.chars().take(400).collect::<String>()
            ),
            }
        }
    };
    if let Err(problem) =
        validate_manifest(&manifest).and_then(|()| crate::tree::check_plugin_commands(&manifest))
    {
        return LoadOutcome::Broken {
            reason: format!("invalid manifest: {problem}"),
            detail: format!("{}: invalid manifest: {problem}", path.display()),
        };
    }
    if let Err(reason) = check_host_requirement(&manifest) {
        return LoadOutcome::Incompatible {
            api_version: Some(api_version),
            detail: format!("{}: {reason}", path.display()),
            reason,
            summary: Some(Box::new(PluginSummary::of(&manifest))),
        };
    }
    LoadOutcome::Loaded {
        api_version,
        summary: Box::new(PluginSummary::of(&manifest)),
        manifest: ManifestJson::Text(json),
    }
}

/// Whether this host's version meets the plugin's declared requirement.
pub fn check_host_requirement(manifest: &Manifest) -> Result<(), String> {
    let requirement = semver::VersionReq::parse(&manifest.host_requirement).map_err(|error| {
        format!(
            "host requirement `{}` is not a semver requirement: {error}",
            manifest.host_requirement
        )
    })?;
    let host = semver::Version::parse(HOST_VERSION).expect("the host version is semver");
    if requirement.matches(&host) {
        Ok(())
    } else {
        Err(format!(
            "requires mosaic {}, this is mosaic {HOST_VERSION}; install a version of the \
             `{}` plugin built for mosaic {HOST_VERSION}, or a mosaic that matches",
            manifest.host_requirement, manifest.name
        ))
    }
}

fn valid_word(word: &str) -> bool {
    !word.is_empty()
        && word.len() <= 64
        && word
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Global flags (`tree::global_args`) a plugin argument must not reuse.
const RESERVED_SHORT_FLAGS: [char; 4] = ['v', 'q', 'h', 'V'];
const RESERVED_LONG_FLAGS: [&str; 7] = [
    "verbose",
    "quiet",
    "json",
    "no-color",
    "plugin-dir",
    "help",
    "version",
];
const RESERVED_ARG_NAMES: [&str; 5] = ["verbose", "quiet", "json", "no_color", "plugin_dir"];

/// Checks what the host relies on: names are plain lowercase words, the version is
/// semver, and every command makes a valid command line next to mosaic's global
/// flags (clap only asserts that in debug builds, by panicking).
pub fn validate_manifest(manifest: &Manifest) -> Result<(), String> {
    if !valid_word(&manifest.name) {
        return Err(format!(
            "plugin name `{}` must be lowercase letters, digits, `-` or `_`",
            manifest.name
        ));
    }
    semver::Version::parse(&manifest.version)
        .map_err(|error| format!("version `{}` is not semver: {error}", manifest.version))?;
    fn check_command(command: &mosaic_plugin_api::CommandSpec, path: &str) -> Result<(), String> {
        let here = format!("{path}{}", command.name);
        if !valid_word(&command.name) {
            return Err(format!(
                "command name `{here}` is not a plain lowercase word"
            ));
        }
        let mut names = HashSet::new();
        let mut shorts: HashSet<char> = RESERVED_SHORT_FLAGS.iter().copied().collect();
        let mut longs: HashSet<String> = RESERVED_LONG_FLAGS
            .iter()
            .map(|name| name.to_string())
            .collect();
        for arg in &command.args {
            if arg.name.is_empty() || !names.insert(arg.name.as_str()) {
                return Err(format!(
                    "command `{here}` has an empty or repeated argument name `{}`",
                    arg.name
                ));
            }
            if RESERVED_ARG_NAMES.contains(&arg.name.as_str()) {
                return Err(format!(
                    "command `{here}`: argument name `{}` is reserved for mosaic's global flags",
                    arg.name
                ));
            }
            if arg.kind != ArgKind::Positional {
                if let Some(short) = arg.short {
                    if !shorts.insert(short) {
                        return Err(format!(
                            "command `{here}`: `-{short}` is already taken (by another argument or \
                             a global flag: -v -q -h -V)"
                        ));
                    }
                }
                let long = arg.long_name();
                if !longs.insert(long.clone()) {
                    return Err(format!(
                        "command `{here}`: `--{long}` is already taken (by another argument or a \
                         global flag: {})",
                        RESERVED_LONG_FLAGS
                            .map(|name| format!("--{name}"))
                            .join(" ")
                    ));
                }
            }
            if let Some(default) = &arg.default {
                if !arg.possible_values.is_empty() && !arg.possible_values.contains(default) {
                    return Err(format!(
                        "command `{here}`: the default `{default}` of `{}` is not one of its \
                         possible values",
                        arg.name
                    ));
                }
            }
        }
        for arg in &command.args {
            if let Some(other) = arg
                .conflicts_with
                .iter()
                .find(|other| !names.contains(other.as_str()))
            {
                return Err(format!(
                    "command `{here}`: `{}` conflicts with `{other}`, which is not an argument",
                    arg.name
                ));
            }
        }
        let mut subcommands = HashSet::new();
        for sub in &command.subcommands {
            for word in std::iter::once(&sub.name).chain(&sub.aliases) {
                if word == "help" {
                    return Err(format!("command `{here}`: subcommand `help` is reserved"));
                }
                if !subcommands.insert(word.as_str()) {
                    return Err(format!(
                        "command `{here}`: subcommand `{word}` is defined twice"
                    ));
                }
            }
        }
        let nested = format!("{here} ");
        command
            .subcommands
            .iter()
            .try_for_each(|sub| check_command(sub, &nested))
    }
    manifest
        .commands
        .iter()
        .try_for_each(|command| check_command(command, ""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mosaic_plugin_api::{ArgSpec, CommandSpec};

    fn manifest_with(command: CommandSpec) -> Manifest {
        Manifest {
            name: "x".into(),
            version: "1.0.0".into(),
            description: String::new(),
            host_requirement: "*".into(),
            commands: vec![command],
            config: Vec::new(),
        }
    }

    #[test]
    fn global_flags_cannot_be_reused() {
        for (arg, expected) in [
            (
                ArgSpec::flag("shout", "").short('v'),
                "`-v` is already taken",
            ),
            (
                ArgSpec::flag("as_json", "").long_named("json"),
                "`--json` is already taken",
            ),
            (ArgSpec::flag("quiet", ""), "`quiet` is reserved"),
        ] {
            let error =
                validate_manifest(&manifest_with(CommandSpec::new("x", "").arg(arg))).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn repeated_names_dangling_conflicts_and_bad_defaults_are_refused() {
        let cases = [
            CommandSpec::new("x", "")
                .arg(ArgSpec::flag("a", "").short('a'))
                .arg(ArgSpec::flag("b", "").short('a')),
            CommandSpec::new("x", "").arg(ArgSpec::flag("a", "").conflicts_with("nope")),
            CommandSpec::new("x", "").arg(
                ArgSpec::option("tier", "")
                    .possible_values(&["local", "team"])
                    .default_value("cloud"),
            ),
            CommandSpec::new("x", "").subcommand(CommandSpec::new("help", "")),
        ];
        for command in cases {
            assert!(validate_manifest(&manifest_with(command)).is_err());
        }
    }

    #[test]
    fn a_plain_command_is_valid() {
        let command = CommandSpec::new("x", "")
            .arg(ArgSpec::positional("name", ""))
            .arg(ArgSpec::flag("shout", "").short('s'))
            .subcommand(CommandSpec::new("run", ""));
        assert_eq!(validate_manifest(&manifest_with(command)), Ok(()));
        crate::tree::check_plugin_commands(&manifest_with(
            CommandSpec::new("x", "").arg(ArgSpec::flag("shout", "").short('s')),
        ))
        .unwrap();
    }
}
