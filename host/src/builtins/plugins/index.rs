//! `mosaic plugins index add INDEX.json FILE.so --url URL --key SECRET_KEY_FILE`:
//! publish a release of a plugin by adding it, signed, to an index file.
//!
//! Everything the release says is read from the library itself after vetting it
//! exactly as `mosaic plugins install FILE` would (it loads, its manifest is valid,
//! this host meets its host requirement, its commands collide with nothing): name,
//! version, description, host requirement, plugin-API version, commands. Size and
//! sha256 come from its bytes, the target is this host's. So a publisher cannot
//! publish a broken or mislabelled plugin by mistake.
//!
//! The index is edited under a lock (two publishers adding at once both land) and
//! replaced atomically; it is read as JSON and only the one plugin entry is
//! changed, so other entries, including fields this version does not know, stay as
//! they were. The result is checked with the same parser users run before it is
//! written.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use mosaic_plugin_api::sdk::fs::{write_json_file, FileLock};
use mosaic_plugin_api::{ArgSpec, CommandSpec};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::builtins::plugins::vetting::vet_library;
use crate::builtins::Builtin;
use crate::distribution::index::{host_target, Index, Release, INDEX_SCHEMA};
use crate::distribution::signing::SecretKey;
use crate::session::Session;

/// Declares the `plugins index` group.
pub fn group_spec() -> CommandSpec {
    CommandSpec::new("index", "Publish plugin releases in a signed index file")
        .long_about(
            "Publish plugins: an index is one JSON file (schema mosaic-plugin-index/1) \
             listing plugins and their releases, each signed with a publisher key \
             (`mosaic plugins keygen`). Host it, with the libraries, on any web server \
             or file share; users add its URL with `mosaic plugins index-source add` and \
             install with `mosaic plugins install NAME`.",
        )
        .example(
            "plugins index add index.json target/release/libmosaic_hello.so \
             --url libmosaic_hello-0.1.0.so --key mosaic-signing.key",
            "",
        )
}

/// `mosaic plugins index add`.
pub struct Add;

/// The options of `mosaic plugins index add`.
#[derive(Debug, Deserialize)]
pub struct AddOptions {
    /// The index file (created if missing).
    pub index: PathBuf,
    /// The plugin library to publish.
    pub file: PathBuf,
    /// Where users download it from.
    pub url: String,
    /// The publisher's secret key file.
    pub key: PathBuf,
    /// Overrides the manifest's description for the plugin's entry.
    pub description: Option<String>,
    /// Replace a release of the same version and target.
    pub replace: bool,
    /// Publish even if a command collides with a built-in or an installed plugin.
    pub force: bool,
}

impl Builtin for Add {
    type Options = AddOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "add",
            "Vet a plugin library, sign it and add it to an index file",
        )
        .long_about(
            "Add a release of a plugin to INDEX (created if missing). FILE is vetted \
                 first exactly as `mosaic plugins install FILE` would vet it: it must load \
                 in this mosaic, have a valid manifest, accept this mosaic's version and \
                 declare no command a built-in or an installed plugin has (--force \
                 publishes anyway). The release's name, version, description, host \
                 requirement, plugin-API version and commands are read from the library; \
                 its size and sha256 from its bytes; its target is this host's (build and \
                 publish on each platform you support). The signature, made with --key, \
                 covers all of that but not the URL, so the files may be mirrored.\n\n\
                 --url is where users download FILE from: absolute (https://, http://, \
                 file://) or relative to the index's own URL, e.g. just the file name \
                 when the library is served beside the index. Uploading FILE there is up \
                 to you. A release of the same version and target is refused unless \
                 --replace is given. Other entries of INDEX are kept as they are.",
        )
        .arg(
            ArgSpec::positional("index", "The index file to add to (created if missing)")
                .required()
                .value_name("INDEX.json"),
        )
        .arg(
            ArgSpec::positional("file", "The plugin library to publish")
                .required()
                .value_name("FILE.so"),
        )
        .arg(
            ArgSpec::option(
                "url",
                "Where users download FILE: absolute, or relative to the index's URL",
            )
            .required()
            .value_name("URL"),
        )
        .arg(
            ArgSpec::option("key", "Your secret key file (from `mosaic plugins keygen`)")
                .required()
                .value_name("SECRET_KEY_FILE"),
        )
        .arg(
            ArgSpec::option(
                "description",
                "The plugin's one-line description [default: the manifest's]",
            )
            .value_name("TEXT"),
        )
        .arg(ArgSpec::flag(
            "replace",
            "Replace a release of the same version and target already in INDEX",
        ))
        .arg(
            ArgSpec::flag(
                "force",
                "Publish even if a command collides with a built-in or an installed plugin",
            )
            .short('f'),
        )
        .example(
            "plugins index add index.json target/release/libmosaic_hello.so \
                 --url libmosaic_hello-0.1.0.so --key mosaic-signing.key",
            "",
        )
        .example(
            "plugins index add site/index.json libmosaic_hello.so \
                 --url https://plugins.example.com/hello/0.1.0/libmosaic_hello.so \
                 --key ~/keys/acme.key --replace",
            "",
        )
    }

    fn run(session: &Session, options: AddOptions) -> Result<i32> {
        let added = add_release(session, &options)?;
        if session.json() {
            let document = json!({
                "index": options.index,
                "name": added.name,
                "release": added.release,
                "replaced": added.replaced,
                "signer": added.signer,
            });
            println!("{}", serde_json::to_string_pretty(&document)?);
            return Ok(0);
        }
        let release = &added.release;
        println!(
            "{} {} {} for {} to {}: {} bytes, sha256 {}, signed by {}",
            if added.replaced { "replaced" } else { "added" },
            added.name,
            release.version,
            release.target,
            options.index.display(),
            release.size,
            release.sha256,
            added.signer
        );
        if release.url.contains("://") {
            eprintln!(
                "now upload {} so that it is served at {}",
                options.file.display(),
                release.url
            );
        } else {
            eprintln!(
                "now serve {} as {} relative to the index's URL (e.g. beside {})",
                options.file.display(),
                release.url,
                options.index.display()
            );
        }
        for warning in &added.warnings {
            eprintln!("warning: {warning}");
        }
        Ok(0)
    }
}

/// What `index add` put into the index.
#[derive(Debug)]
pub struct AddedRelease {
    /// The plugin's name.
    pub name: String,
    /// The signed release.
    pub release: Release,
    /// Whether it replaced a release of the same version and target.
    pub replaced: bool,
    /// The fingerprint of the signing key.
    pub signer: String,
    /// Things the publisher should know (e.g. a change of signing key).
    pub warnings: Vec<String>,
}

/// Vets, signs and adds the release of `options.file` to `options.index`.
fn add_release(session: &Session, options: &AddOptions) -> Result<AddedRelease> {
    let index_path = &options.index;
    let unchanged = format!("{} is unchanged", index_path.display());
    check_url(&options.url)?;
    let key = SecretKey::read(&options.key)?;
    if !options.file.is_file() {
        bail!("{}: no such file", options.file.display());
    }
    let label = options.file.display().to_string();
    let waiting = session.progress.spinner(&format!("Checking {label}"));
    let vetted = vet_library(session, &options.file, &label)
        .map_err(|error| anyhow!("{error:#}; {unchanged}"))?;
    if let Some(refusal) = vetted.collision_refusal(&label, options.force) {
        bail!("{refusal}; {unchanged}");
    }
    let summary = &vetted.loaded.summary;
    let api_version = semver::Version::parse(&vetted.loaded.api_version).map_err(|_| {
        anyhow!(
            "{label}: its plugin-API version `{}` cannot be read; {unchanged}",
            vetted.loaded.api_version
        )
    })?;
    let version = semver::Version::parse(&summary.version)
        .with_context(|| format!("{label}: version `{}` is not semver", summary.version))?;
    waiting.set_message(&format!("Hashing {label}"));
    let (size, sha256) = hash_file(&options.file)?;
    drop(waiting);

    let mut release = Release {
        version,
        host_requirement: summary.host_requirement.clone(),
        api_version,
        target: host_target().to_string(),
        url: options.url.clone(),
        size,
        sha256,
        publisher_key: key.public().to_text(),
        signature: String::new(),
        commands: vetted.command_words(),
    };
    release.signature = key.sign(&release.signed_message(&summary.name));
    let signer = release.verify_signature(&summary.name)?.fingerprint();
    let description = options
        .description
        .clone()
        .unwrap_or_else(|| summary.description.clone());

    let index_dir = match index_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !index_dir.is_dir() {
        bail!(
            "{}: directory {} does not exist; create it first",
            index_path.display(),
            index_dir.display()
        );
    }
    let _lock = FileLock::exclusive(index_path)
        .with_context(|| format!("cannot lock {}", index_path.display()))?;
    let mut document = read_index(index_path)?;
    let change = insert_release(
        &mut document,
        &summary.name,
        &description,
        options.description.is_some(),
        &release,
        options.replace,
    )
    .map_err(|error| anyhow!("{}: {error}", index_path.display()))?;
    // Never write an index users could not read.
    Index::parse(
        &serde_json::to_string(&document)?,
        &index_path.display().to_string(),
    )
    .context("the updated index does not pass its own checks (a bug)")?;
    write_json_file(index_path, &document, None)?;
    Ok(AddedRelease {
        name: summary.name.clone(),
        release,
        replaced: change.replaced,
        signer,
        warnings: change.warnings,
    })
}

/// Refuses a URL users could not download from: empty, with whitespace, or with
/// a scheme other than https, http and file.
fn check_url(url: &str) -> Result<()> {
    if url.trim().is_empty() || url.chars().any(char::is_whitespace) {
        bail!("--url `{url}` must be a URL or a relative path without spaces");
    }
    if let Some((scheme, _)) = url.split_once("://") {
        if !matches!(scheme, "https" | "http" | "file") {
            bail!("--url `{url}`: scheme `{scheme}` is not supported (use https://, http:// or file://, or a path relative to the index)");
        }
    }
    Ok(())
}

/// The size and lowercase-hex sha256 of a file, read once.
fn hash_file(path: &Path) -> Result<(u64, String)> {
    let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let read = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                return Err(error).with_context(|| format!("cannot read {}", path.display()))
            }
        };
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok((size, crate::distribution::hex(&hasher.finalize())))
}

/// The index as JSON: checked with [`Index::parse`] (a broken index is never
/// added to), a new empty one when the file does not exist.
fn read_index(path: &Path) -> Result<Value> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Ok(serde_json::to_value(Index::empty())?)
        }
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    let origin = path.display().to_string();
    Index::parse(&text, &origin)
        .map_err(|error| anyhow!("{error:#}; fix or move it, then add again"))?;
    // Parsed again as plain JSON so unknown fields survive the rewrite.
    Ok(serde_json::from_str(&text)?)
}

/// What [`insert_release`] did.
#[derive(Debug, Default)]
struct Change {
    replaced: bool,
    warnings: Vec<String>,
}

/// Puts `release` of plugin `name` into the index `document`, which passed
/// [`Index::parse`]. The plugin's description becomes `description` when the
/// plugin is new, when it was given explicitly, or when this is its newest version.
fn insert_release(
    document: &mut Value,
    name: &str,
    description: &str,
    description_given: bool,
    release: &Release,
    replace: bool,
) -> Result<Change> {
    let shape = || anyhow!("not a {INDEX_SCHEMA} document");
    let plugins = document
        .get_mut("plugins")
        .and_then(Value::as_array_mut)
        .ok_or_else(shape)?;
    let position = plugins
        .iter()
        .position(|plugin| plugin.get("name").and_then(Value::as_str) == Some(name));
    let plugin = match position {
        Some(position) => &mut plugins[position],
        None => {
            plugins.push(json!({ "name": name, "description": description, "releases": [] }));
            plugins.last_mut().ok_or_else(shape)?
        }
    };
    let entry = plugin.as_object_mut().ok_or_else(shape)?;
    let existing: Vec<Release> = serde_json::from_value(
        entry
            .get("releases")
            .cloned()
            .unwrap_or(Value::Array(Vec::new())),
    )?;
    let mut change = Change::default();
    let newest = existing
        .iter()
        .all(|other| other.version <= release.version);
    if description_given || newest {
        entry.insert(
            "description".to_string(),
            Value::String(description.to_string()),
        );
    }
    let signers: Vec<&str> = existing
        .iter()
        .map(|other| other.publisher_key.as_str())
        .filter(|key| *key != release.publisher_key)
        .collect();
    if !signers.is_empty() {
        change.warnings.push(format!(
            "other releases of {name} are signed with another key; users who trust only \
             that key must also trust this one before installing this release"
        ));
    }
    let releases = entry
        .entry("releases")
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or_else(shape)?;
    let same = existing
        .iter()
        .position(|other| other.version == release.version && other.target == release.target);
    let value = serde_json::to_value(release)?;
    match same {
        Some(_) if !replace => bail!(
            "{name} {} for {} is already listed; use --replace to replace it",
            release.version,
            release.target
        ),
        Some(position) => {
            releases[position] = value;
            change.replaced = true;
        }
        None => releases.push(value),
    }
    Ok(change)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(version: &str, key: &SecretKey) -> Release {
        let mut release = Release {
            version: semver::Version::parse(version).unwrap(),
            host_requirement: ">=0.2".to_string(),
            api_version: semver::Version::new(0, 2, 2),
            target: host_target().to_string(),
            url: format!("hello-{version}.so"),
            size: 10,
            sha256: "0".repeat(64),
            publisher_key: key.public().to_text(),
            signature: String::new(),
            commands: vec!["hello".to_string()],
        };
        release.signature = key.sign(&release.signed_message("hello"));
        release
    }

    #[test]
    fn adds_replaces_and_keeps_other_entries() {
        let key = SecretKey::generate();
        let mut document = json!({
            "schema": INDEX_SCHEMA,
            "publisher": "kept as it was",
            "plugins": [{ "name": "other", "description": "x", "releases": [], "extra": 1 }]
        });
        let first = release("0.1.0", &key);
        insert_release(&mut document, "hello", "Says hello", false, &first, false).unwrap();
        let error = insert_release(&mut document, "hello", "Says hello", false, &first, false)
            .unwrap_err()
            .to_string();
        assert!(error.contains("use --replace"), "{error}");
        let change =
            insert_release(&mut document, "hello", "Says hi", false, &first, true).unwrap();
        assert!(change.replaced);
        insert_release(
            &mut document,
            "hello",
            "Old text",
            false,
            &release("0.0.9", &key),
            false,
        )
        .unwrap();
        assert_eq!(document["publisher"], "kept as it was");
        assert_eq!(document["plugins"][0]["extra"], 1);
        assert_eq!(document["plugins"][1]["description"], "Says hi");
        assert_eq!(
            document["plugins"][1]["releases"].as_array().unwrap().len(),
            2
        );
        let index = Index::parse(&document.to_string(), "test").unwrap();
        for release in &index.plugins[1].releases {
            release.verify_signature("hello").unwrap();
        }
    }

    #[test]
    fn a_new_signing_key_is_pointed_out() {
        let mut document = serde_json::to_value(Index::empty()).unwrap();
        let one = release("0.1.0", &SecretKey::generate());
        let two = release("0.2.0", &SecretKey::generate());
        insert_release(&mut document, "hello", "", false, &one, false).unwrap();
        let change = insert_release(&mut document, "hello", "", false, &two, false).unwrap();
        assert_eq!(change.warnings.len(), 1);
    }

    #[test]
    fn urls_users_cannot_fetch_are_refused() {
        for bad in ["", "a b", "ftp://x/y.so", "s3://bucket/y.so"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        for good in [
            "y.so",
            "https://x/y.so",
            "http://127.0.0.1:1/y.so",
            "file:///y.so",
        ] {
            check_url(good).unwrap();
        }
    }

    #[test]
    fn hashes_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            hash_file(&path).unwrap(),
            (
                3,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string()
            )
        );
    }
}
