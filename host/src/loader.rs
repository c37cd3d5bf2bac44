//! Loading a plugin library and asking it for its manifest, with every way that can
//! fail turned into an explained [`Refusal`].
//!
//! Libraries are opened with `lib_header_from_path` + `init_root_module` (never
//! abi_stable's `load_from_file`, which caches the first module per type and would
//! hand every later caller the first plugin). `init_root_module` checks the
//! `mosaic-plugin-api` version and the type layouts; the manifest is checked with
//! the API's one validator (`validate::check_manifest`, the same one a plugin's own
//! tests run), and the plugin's declared host requirement here. Libraries are never
//! unloaded, and each is opened at most once per process.
//!
//! What is kept of a loaded plugin between runs is the cache's business
//! ([`crate::cache`], which keeps successes only); this module only says what one
//! load found.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use abi_stable::library::{lib_header_from_path, LibraryError};
use abi_stable::std_types::RResult;
use mosaic_plugin_api::validate::check_manifest;
use mosaic_plugin_api::{Manifest, Mount, PluginModRef, API_VERSION};
use serde::{Deserialize, Serialize};

use crate::discovery::FileStamp;

/// The version of this host binary.
pub const HOST_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Enough of a manifest to list a plugin and build the command tree without
/// parsing the whole manifest.
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

/// A plugin file that loaded and whose manifest passed every check.
#[derive(Debug, Clone)]
pub struct LoadedPlugin {
    /// The `mosaic-plugin-api` version it was built against.
    pub api_version: String,
    /// Its manifest's summary.
    pub summary: PluginSummary,
    /// Its whole (validated) manifest, as the JSON the plugin returned.
    pub manifest_json: String,
}

/// Why a file cannot be used as a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// A plugin this host cannot use: other ABI version, other layout, or a host
    /// requirement this version does not meet.
    Incompatible,
    /// Not a usable plugin: not a library, no root module, a panic or invalid JSON
    /// in its manifest, a manifest the validator refuses.
    Broken,
}

/// A file the loader refused, and why.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// Incompatible or broken.
    pub kind: RefusalKind,
    /// The API version it was built against, when known.
    pub api_version: Option<String>,
    /// Its manifest's summary, when the manifest could be read (a host requirement
    /// not met).
    pub summary: Option<Box<PluginSummary>>,
    /// One line: what is wrong and the fix.
    pub reason: String,
    /// The full explanation for `plugins doctor`.
    pub detail: String,
    /// What the user can do about it, for `plugins doctor`.
    pub fix: String,
}

/// The fix of a plugin file that is not a usable plugin.
const BROKEN_FIX: &str = "remove the file, or replace it with a working build of the plugin";

impl Refusal {
    fn broken(reason: String, detail: String) -> Refusal {
        Refusal {
            kind: RefusalKind::Broken,
            api_version: None,
            summary: None,
            reason,
            detail,
            fix: BROKEN_FIX.to_string(),
        }
    }

    /// A plugin built against another `mosaic-plugin-api`: only a build of the plugin
    /// against this host's API series helps.
    fn incompatible_api(api_version: Option<String>, reason: String, detail: String) -> Refusal {
        Refusal {
            kind: RefusalKind::Incompatible,
            api_version,
            summary: None,
            reason,
            detail,
            fix: format!(
                "install a build of the plugin made for mosaic-plugin-api {} (its author \
                 rebuilds it against mosaic-plugin-api {}), or remove the file",
                api_series(API_VERSION),
                api_series(API_VERSION)
            ),
        }
    }
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

/// Opens the library (once per process) and returns its root module and the API
/// version it was built against.
///
/// `verified` is the stamp of the file as it was when an earlier run loaded it and
/// abi_stable checked its type layouts (a manifest-cache hit). If the file still has
/// that stamp after opening it, the layout check — about 0.4 ms, most of the time of
/// a plugin command — is skipped; the version check is always done.
pub fn open_module(
    path: &Path,
    verified: Option<&FileStamp>,
) -> Result<(PluginModRef, String), Refusal> {
    let header = lib_header_from_path(path).map_err(|error| classify(path, error, None))?;
    let parsed_version = header.version_strings().parsed().ok().map(version_text);
    // abi_stable's own version check lets a plugin built against a *newer* 0.N pass
    // and then fails it in the layout check, whose message names neither version.
    if let Some(version) = &parsed_version {
        if !loads_api_version(version) {
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

/// Whether this host loads plugins built against mosaic-plugin-api `version`: the
/// same series (`0.2.x` for a 0.2 host, older or newer patch alike; after 1.0 the
/// same major), as plugin-api/README.md's versioning policy says. Plugin
/// distribution asks this of a release before downloading it.
pub fn loads_api_version(version: &str) -> bool {
    api_series(version) == api_series(API_VERSION)
}

/// The series of this host's plugin API, as people write it: `0.2.x`.
pub fn host_api_series() -> String {
    format!("{}.x", api_series(API_VERSION))
}

/// The refusal of a plugin built against `actual`, not compatible with `expected`.
fn incompatible_api_version(path: &Path, actual: &str, expected: &str) -> Refusal {
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
    Refusal::incompatible_api(Some(actual.to_string()), reason, detail)
}

fn classify(path: &Path, error: LibraryError, api_version: Option<String>) -> Refusal {
    let file = path.display();
    match error {
        LibraryError::OpenError { err, .. } => Refusal::broken(
            "not a loadable library".to_string(),
            format!("{file} could not be opened as a shared library: {err}"),
        ),
        LibraryError::GetSymbolError { err, .. } => Refusal::broken(
            "not a mosaic plugin (no plugin root module exported)".to_string(),
            format!(
                "{file} is a shared library but does not export a mosaic plugin ({err}); \
                 a plugin calls `mosaic_plugin_api::export_plugin!(YourPlugin)`"
            ),
        ),
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
            let detail = format!("{file}: {reason}\n{error}");
            Refusal::incompatible_api(api_version, reason, detail)
        }
        LibraryError::InvalidAbiHeader(_) | LibraryError::InvalidCAbi { .. } => {
            let reason = format!(
                "built with an incompatible abi_stable; rebuild it against mosaic-plugin-api {}",
                api_series(API_VERSION)
            );
            let detail = format!("{file}: {reason}\n{error}");
            Refusal::incompatible_api(api_version, reason, detail)
        }
        other => {
            let text = other.to_string();
            Refusal::broken(first_line(&text), format!("{file}: {text}"))
        }
    }
}

/// Loads a plugin file and reads, parses and checks its manifest.
pub fn probe(path: &Path) -> Result<LoadedPlugin, Refusal> {
    let (module, api_version) = open_module(path, None)?;
    let manifest_fn = module.manifest();
    let json = match manifest_fn() {
        RResult::ROk(json) => json.into_string(),
        RResult::RErr(message) => {
            return Err(Refusal::broken(
                format!("manifest failed: {}", first_line(message.as_str())),
                format!("{}: manifest failed: {}", path.display(), message.as_str()),
            ))
        }
    };
    let manifest: Manifest = serde_json::from_str(&json).map_err(|error| {
        Refusal::broken(
            format!("invalid manifest JSON: {error}"),
            format!(
                "{}: the manifest is not valid JSON for mosaic-plugin-api {API_VERSION}: {error}\n\
                 manifest text: {}",
                path.display(),
                json.chars().take(400).collect::<String>()
            ),
        )
    })?;
    if let Err(problem) = check_manifest(&manifest) {
        return Err(Refusal::broken(
            format!("invalid manifest: {problem}"),
            format!("{}: invalid manifest: {problem}", path.display()),
        ));
    }
    let summary = PluginSummary::of(&manifest);
    if let Err(mismatch) = check_host_requirement(&manifest) {
        return Err(Refusal {
            kind: RefusalKind::Incompatible,
            api_version: Some(api_version),
            summary: Some(Box::new(summary)),
            detail: format!(
                "{}: the plugin declares that it works with mosaic {}; this is mosaic \
                 {HOST_VERSION}.",
                path.display(),
                manifest.host_requirement
            ),
            reason: mismatch.reason,
            fix: mismatch.fix,
        });
    }
    Ok(LoadedPlugin {
        api_version,
        summary,
        manifest_json: json,
    })
}

/// Why a plugin's declared host requirement excludes this host, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostMismatch {
    /// One line: the requirement, this version, and the fix.
    pub reason: String,
    /// The fix alone.
    pub fix: String,
}

/// Whether this host's version meets the plugin's declared requirement.
pub fn check_host_requirement(manifest: &Manifest) -> Result<(), HostMismatch> {
    let host = semver::Version::parse(HOST_VERSION).expect("the host version is semver");
    let requirement = match semver::VersionReq::parse(&manifest.host_requirement) {
        Ok(requirement) => requirement,
        Err(error) => {
            let fix = format!(
                "install a version of the `{}` plugin whose manifest declares a valid host \
                 requirement (e.g. \">={}\")",
                manifest.name,
                api_series(HOST_VERSION)
            );
            return Err(HostMismatch {
                reason: format!(
                    "host requirement `{}` is not a semver requirement: {error}; {fix}",
                    manifest.host_requirement
                ),
                fix,
            });
        }
    };
    if requirement.matches(&host) {
        return Ok(());
    }
    let plugin_for_this_host = format!(
        "install a version of the `{}` plugin made for mosaic {}",
        manifest.name,
        api_series(HOST_VERSION)
    );
    let fix = if needs_newer_host(&requirement, &host) {
        format!("upgrade mosaic, or {plugin_for_this_host}")
    } else {
        format!("{plugin_for_this_host}, or use an older mosaic")
    };
    Err(HostMismatch {
        reason: format!(
            "needs mosaic {}, this is mosaic {HOST_VERSION}: {fix}",
            manifest.host_requirement
        ),
        fix,
    })
}

/// Whether `host`, which does not meet `requirement`, fails it for being too old
/// (some lower bound is above it) rather than too new.
fn needs_newer_host(requirement: &semver::VersionReq, host: &semver::Version) -> bool {
    use semver::Op;
    requirement.comparators.iter().any(|comparator| {
        if comparator.matches(host) {
            return false;
        }
        let bound = semver::Version {
            major: comparator.major,
            minor: comparator.minor.unwrap_or(0),
            patch: comparator.patch.unwrap_or(0),
            pre: comparator.pre.clone(),
            build: semver::BuildMetadata::EMPTY,
        };
        match comparator.op {
            Op::Greater | Op::GreaterEq => true,
            Op::Less | Op::LessEq => false,
            // Exact, tilde, caret, wildcard: a range around `bound`.
            _ => *host < bound,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_api_version_is_refused_with_the_fix() {
        let refusal =
            incompatible_api_version(Path::new("/p/libmosaic_old.so"), "0.1.0", API_VERSION);
        assert_eq!(refusal.kind, RefusalKind::Incompatible);
        assert_eq!(
            refusal.reason,
            format!(
                "built against mosaic-plugin-api 0.1.0, this host uses {API_VERSION}; \
                 rebuild it against mosaic-plugin-api {}",
                api_series(API_VERSION)
            )
        );
    }

    #[test]
    fn host_requirement_is_checked_against_this_version() {
        let ours = Manifest::new("x", "1.0.0").host_requirement(">=0.2.0, <0.3.0");
        assert_eq!(check_host_requirement(&ours), Ok(()));
        let series = api_series(HOST_VERSION);
        let future = Manifest::new("x", "1.0.0").host_requirement(">=9");
        let mismatch = check_host_requirement(&future).unwrap_err();
        assert_eq!(
            mismatch.reason,
            format!(
                "needs mosaic >=9, this is mosaic {HOST_VERSION}: upgrade mosaic, or install \
                 a version of the `x` plugin made for mosaic {series}"
            )
        );
        assert!(!mismatch.reason.contains("rebuild"), "{mismatch:?}");
        for newer in ["^9", "~9.1", "=9.0.0", "9.*", ">=0.0.1, >=9"] {
            let manifest = Manifest::new("x", "1.0.0").host_requirement(newer);
            let fix = check_host_requirement(&manifest).unwrap_err().fix;
            assert!(fix.starts_with("upgrade mosaic"), "{newer}: {fix}");
        }
        for older in ["<0.1", "^0.0.1", "=0.0.1", "<=0.0.9, >=0.0.1"] {
            let manifest = Manifest::new("x", "1.0.0").host_requirement(older);
            let fix = check_host_requirement(&manifest).unwrap_err().fix;
            assert!(fix.ends_with("or use an older mosaic"), "{older}: {fix}");
        }
    }

    #[test]
    fn a_file_that_is_not_a_library_is_broken() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("libmosaic_notes.so");
        std::fs::write(&file, b"notes").unwrap();
        let refusal = probe(&file).unwrap_err();
        assert_eq!(refusal.kind, RefusalKind::Broken);
        assert_eq!(refusal.reason, "not a loadable library");
    }
}
