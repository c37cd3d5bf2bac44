//! Which release of a plugin to install: the newest one this host can load (or
//! exactly the version asked for), over every configured index.
//!
//! A release is loadable here when it was built for this host's target triple, for
//! a plugin API series this host loads (the loader's own rule,
//! [`loads_api_version`]), and its host requirement admits this host's version.
//! Releases left out for those reasons are kept, so the user is told what was
//! skipped and why ("skipped 0.3.0: built for plugin API 0.3.0; this mosaic loads
//! 0.2.x").

use anyhow::{bail, Result};

use crate::distribution::index::{host_target, IndexPlugin, Release};
use crate::distribution::sources::FetchedIndex;
use crate::loader::{host_api_series, loads_api_version, HOST_VERSION};

/// Why this host cannot use a release, in words (`built for plugin API 0.3.0; this
/// mosaic loads 0.2.x`), or `None` when it can.
pub fn unloadable_reason(release: &Release) -> Option<String> {
    if release.target != host_target() {
        return Some(format!(
            "built for {}; this is {}",
            release.target,
            host_target()
        ));
    }
    if !loads_api_version(&release.api_version.to_string()) {
        return Some(format!(
            "built for plugin API {}; this mosaic loads {}",
            release.api_version,
            host_api_series()
        ));
    }
    let host = semver::Version::parse(HOST_VERSION).expect("the host version is semver");
    match semver::VersionReq::parse(&release.host_requirement) {
        Ok(requirement) if requirement.matches(&host) => None,
        Ok(_) => Some(format!(
            "needs mosaic {}; this is mosaic {HOST_VERSION}",
            release.host_requirement
        )),
        Err(_) => Some(format!(
            "its host requirement `{}` is not a semver requirement",
            release.host_requirement
        )),
    }
}

/// A release and where it was found.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The index that lists it.
    pub index: &'a FetchedIndex,
    /// The plugin entry.
    pub plugin: &'a IndexPlugin,
    /// The release.
    pub release: &'a Release,
}

/// A release that was passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its version.
    pub version: semver::Version,
    /// Why (see [`unloadable_reason`]).
    pub reason: String,
}

impl Skipped {
    /// `skipped 0.3.0: built for plugin API 0.3.0; this mosaic loads 0.2.x`.
    pub fn describe(&self) -> String {
        format!("skipped {}: {}", self.version, self.reason)
    }
}

/// The outcome of choosing a release of one plugin.
#[derive(Debug)]
pub struct Selection<'a> {
    /// The release to install.
    pub chosen: Candidate<'a>,
    /// The releases newer than it (or of the version asked for) that this host
    /// cannot load, each version and reason once.
    pub skipped: Vec<Skipped>,
}

/// Every release of `name` in `indexes`, in index order.
pub fn candidates<'a>(indexes: &'a [FetchedIndex], name: &str) -> Vec<Candidate<'a>> {
    indexes
        .iter()
        .flat_map(|index| {
            index
                .index
                .plugin(name)
                .into_iter()
                .flat_map(move |plugin| {
                    plugin.releases.iter().map(move |release| Candidate {
                        index,
                        plugin,
                        release,
                    })
                })
        })
        .collect()
}

/// The newest loadable release of `name` (exactly `version` when given); the first
/// index wins a tie. The error says which indexes were searched, or why each
/// release of the plugin cannot be used here.
pub fn select<'a>(
    indexes: &'a [FetchedIndex],
    name: &str,
    version: Option<&semver::Version>,
) -> Result<Selection<'a>> {
    let all = candidates(indexes, name);
    if all.is_empty() {
        let searched = indexes
            .iter()
            .map(|index| index.url.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        bail!(
            "no plugin named `{name}` in the plugin indexes ({searched}); \
             `mosaic plugins search` lists what they have"
        );
    }
    let wanted: Vec<Candidate<'a>> = all
        .into_iter()
        .filter(|candidate| version.is_none_or(|version| candidate.release.version == *version))
        .collect();
    if wanted.is_empty() {
        let version = version.expect("only a version filter can empty the list");
        let mut listed: Vec<String> = candidates(indexes, name)
            .iter()
            .map(|candidate| candidate.release.version.to_string())
            .collect();
        listed.sort();
        listed.dedup();
        bail!(
            "`{name}` has no release {version} in the plugin indexes (listed: {})",
            listed.join(", ")
        );
    }
    let mut chosen: Option<Candidate<'a>> = None;
    for candidate in &wanted {
        if unloadable_reason(candidate.release).is_some() {
            continue;
        }
        if chosen.is_none_or(|best| candidate.release.version > best.release.version) {
            chosen = Some(*candidate);
        }
    }
    let mut skipped: Vec<Skipped> = Vec::new();
    for candidate in &wanted {
        let Some(reason) = unloadable_reason(candidate.release) else {
            continue;
        };
        let newer = chosen.is_none_or(|best| candidate.release.version > best.release.version);
        // Another target's build of a version this host has a build of is no news.
        let built_here = wanted.iter().any(|other| {
            other.release.version == candidate.release.version
                && unloadable_reason(other.release).is_none()
        });
        let entry = Skipped {
            version: candidate.release.version.clone(),
            reason,
        };
        if newer && !built_here && !skipped.contains(&entry) {
            skipped.push(entry);
        }
    }
    skipped.sort_by(|a, b| b.version.cmp(&a.version));
    match chosen {
        Some(chosen) => Ok(Selection { chosen, skipped }),
        None => {
            bail!(
            "`{name}`{} has no release this mosaic {HOST_VERSION} ({}, plugin API {}) can load: {}",
            version.map(|version| format!(" {version}")).unwrap_or_default(),
            host_target(),
            host_api_series(),
            skipped
                .iter()
                .map(Skipped::describe)
                .collect::<Vec<_>>()
                .join("; ")
        )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::index::{Index, IndexPlugin, INDEX_SCHEMA};
    use mosaic_plugin_api::API_VERSION;

    fn release(version: &str, api: &str, target: &str, requirement: &str) -> Release {
        Release {
            version: version.parse().unwrap(),
            host_requirement: requirement.to_string(),
            api_version: api.parse().unwrap(),
            target: target.to_string(),
            url: format!("libmosaic_x-{version}.so"),
            size: 1,
            sha256: "0".repeat(64),
            publisher_key: String::new(),
            signature: String::new(),
            commands: vec!["x".to_string()],
        }
    }

    fn indexes(releases: Vec<Release>) -> Vec<FetchedIndex> {
        vec![FetchedIndex {
            url: "file:///srv/index.json".to_string(),
            index: Index {
                schema: INDEX_SCHEMA.to_string(),
                plugins: vec![IndexPlugin {
                    name: "x".to_string(),
                    description: "an x".to_string(),
                    releases,
                }],
            },
        }]
    }

    fn next_series() -> String {
        let current: semver::Version = API_VERSION.parse().unwrap();
        if current.major == 0 {
            format!("0.{}.0", current.minor + 1)
        } else {
            format!("{}.0.0", current.major + 1)
        }
    }

    #[test]
    fn the_newest_loadable_release_wins_and_newer_ones_are_said() {
        let here = host_target();
        let future = next_series();
        let list = indexes(vec![
            release("0.1.0", API_VERSION, here, "*"),
            release("0.2.0", API_VERSION, here, "*"),
            release("0.3.0", &future, here, "*"),
            release("0.4.0", API_VERSION, "sparc-unknown-none", "*"),
            release("0.5.0", API_VERSION, here, ">=99"),
            release("0.2.0", API_VERSION, "sparc-unknown-none", "*"),
        ]);
        let selection = select(&list, "x", None).unwrap();
        assert_eq!(selection.chosen.release.version.to_string(), "0.2.0");
        let lines: Vec<String> = selection.skipped.iter().map(Skipped::describe).collect();
        assert_eq!(
            lines,
            vec![
                format!("skipped 0.5.0: needs mosaic >=99; this is mosaic {HOST_VERSION}"),
                format!("skipped 0.4.0: built for sparc-unknown-none; this is {here}"),
                format!(
                    "skipped 0.3.0: built for plugin API {future}; this mosaic loads {}",
                    host_api_series()
                ),
            ]
        );
        let exact = select(&list, "x", Some(&"0.1.0".parse().unwrap())).unwrap();
        assert_eq!(exact.chosen.release.version.to_string(), "0.1.0");
    }

    #[test]
    fn nothing_loadable_is_one_line_naming_each_reason() {
        let future = next_series();
        let list = indexes(vec![release("0.3.0", &future, host_target(), "*")]);
        let error = select(&list, "x", None).unwrap_err().to_string();
        assert!(error.contains("has no release this mosaic"), "{error}");
        assert!(
            error.contains(&format!("built for plugin API {future}")),
            "{error}"
        );
        assert!(!error.contains('\n'));
        let error = select(&list, "y", None).unwrap_err().to_string();
        assert!(error.contains("no plugin named `y`"), "{error}");
        let error = select(&list, "x", Some(&"9.9.9".parse().unwrap()))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("no release 9.9.9") && error.contains("0.3.0"),
            "{error}"
        );
    }
}
