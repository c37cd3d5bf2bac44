//! The one clap command tree: the host's built-ins plus every mounted plugin
//! command, so help, usage errors, suggestions and completions are uniform.
//!
//! Built-ins arrive as their declarations (`CommandSpec`s from the built-in table)
//! and become clap commands exactly like plugin commands do; plugin commands mounted
//! at [`Mount::Config`] join the built-in `config` group.

use clap::Command;
use mosaic_plugin_api::cli::{command_from_spec, global_args};
use mosaic_plugin_api::{CommandSpec, Mount, API_VERSION};

use crate::known_plugins::KNOWN_COMMANDS;
use crate::loader::{CommandSummary, HOST_VERSION};
use crate::registry::Registry;

const ABOUT: &str = "Run and manage AI coding agents on your own machines";

const LONG_ABOUT: &str = "Run and manage AI coding agents on your own machines.\n\n\
Every feature of mosaic is a plugin: a library in the plugin search path that adds \
commands to this tree. `mosaic plugins list` shows what is installed and where.";

/// How much of the plugins' command specs the tree needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail<'a> {
    /// Every command in full (completion scripts).
    Full,
    /// The words typed name `[config] <name>`: when a plugin provides it, the tree
    /// holds that command in full and no other plugin command; otherwise (help, a
    /// built-in, a typo) every plugin command as a name and one line of help, which
    /// is all `mosaic --help` and clap's suggestions use. Either way no other
    /// plugin's manifest is parsed, so start-up stays flat as plugins are added.
    Target(Option<(Mount, &'a str)>),
}

/// A plugin command as the tree shows it when it is not the one being run.
fn summary_command(summary: &CommandSummary) -> Command {
    Command::new(summary.name.clone())
        .about(summary.about.clone())
        .visible_aliases(summary.aliases.clone())
        .hide(summary.hidden)
}

/// Builds the command tree for this run from the built-ins' declarations and the
/// plugins of `registry`.
pub fn build(registry: &Registry, builtins: &[CommandSpec], detail: Detail<'_>) -> Command {
    let mut root = Command::new("mosaic")
        .version(format!("{HOST_VERSION} (plugin API {API_VERSION})"))
        .about(ABOUT)
        .long_about(LONG_ABOUT)
        .subcommand_required(true)
        .arg_required_else_help(true)
        .args(global_args());
    let mut config_children = Vec::new();
    let mut add = |mount: Mount, command: Command| match mount {
        Mount::Top => root = std::mem::take(&mut root).subcommand(command),
        Mount::Config => config_children.push(command),
    };
    match detail {
        // Parsing a plugin command needs that command only: the others would cost
        // start-up time for every installed plugin and be thrown away.
        Detail::Target(Some((mount, word))) if registry.is_mounted(mount, word) => {
            if let Some((_, spec)) = registry.owner(mount, word) {
                add(mount, command_from_spec(spec));
            }
        }
        _ => {
            for (_, summary) in registry.mounted() {
                let full = (detail == Detail::Full)
                    .then(|| registry.owner(summary.mount, &summary.name))
                    .flatten();
                let command = match full {
                    Some((_, spec)) => command_from_spec(spec),
                    None => summary_command(summary),
                };
                add(summary.mount, command);
            }
        }
    }
    for spec in builtins {
        let mut command = command_from_spec(spec);
        if Mount::Config.prefix() == [spec.name.as_str()] {
            command = command.subcommands(std::mem::take(&mut config_children));
        }
        root = root.subcommand(command);
    }
    let missing = missing_first_party(registry);
    if !missing.is_empty() {
        root = root.after_help(format!(
            "Not installed: {} (install with `scripts/install.sh --plugins NAME` or \
             `mosaic plugins install FILE`).",
            missing.join(", ")
        ));
    }
    root
}

fn missing_first_party(registry: &Registry) -> Vec<String> {
    KNOWN_COMMANDS
        .iter()
        .filter(|(words, _)| {
            let (mount, name) = match words {
                [name] => (Mount::Top, *name),
                [_, name] => (Mount::Config, *name),
                _ => return false,
            };
            !registry.is_mounted(mount, name)
        })
        .map(|(words, plugin)| format!("`{}` ({plugin} plugin)", words.join(" ")))
        .collect()
}

/// Property tests of the tree against generated plugins: any argv either fails to
/// parse or is routed, the way `app` routes it, to a built-in or to the plugin that
/// owns the command, and the invocation made from the matches holds together. The
/// run's tree (`Detail::Target`) and the full tree agree on every argv.
#[cfg(test)]
mod properties {
    use std::path::Path;

    use clap::ArgMatches;
    use mosaic_plugin_api::cli::invocation_from_matches_with_env;
    use mosaic_plugin_api::spec::{ArgSpec, CommandSpec, Invocation, Manifest, Mount, ValueType};
    use mosaic_plugin_api::validate::check_manifest;
    use proptest::prelude::*;

    use super::{build, Detail};
    use crate::builtins::{claimed_names, table};
    use crate::cache::ManifestCache;
    use crate::discovery::FileStamp;
    use crate::globals::command_words;
    use crate::loader::{LoadedPlugin, PluginSummary};
    use crate::paths::{plugin_file_name, SearchDir};
    use crate::registry::Registry;

    /// Command names: free ones, ones the plugins may both declare, and built-in
    /// words (`config`, `plugins`, `show`, `help`) that the built-ins keep.
    const NAMES: &[&str] = &[
        "alpha", "beta", "gamma", "fleet", "hooks", "config", "plugins", "show", "help",
    ];

    /// Where a parse went.
    #[derive(Debug, PartialEq)]
    enum Route {
        /// A built-in, with its invocation.
        Builtin(Invocation),
        /// A plugin command: the plugin, the mount and the invocation.
        Plugin(String, Mount, Invocation),
    }

    fn command_spec() -> impl Strategy<Value = CommandSpec> {
        (
            prop::sample::select(NAMES),
            prop::option::of(prop::sample::select(NAMES)),
            any::<bool>(),
            any::<[bool; 4]>(),
        )
            .prop_map(|(name, alias, config, [flag, option, positional, sub])| {
                let mut spec = CommandSpec::new(name, "generated");
                if let Some(alias) = alias.filter(|alias| *alias != name) {
                    spec = spec.alias(alias);
                }
                if config {
                    spec = spec.mount(Mount::Config);
                }
                if flag {
                    spec = spec.arg(ArgSpec::flag("force", "f").short('f'));
                }
                if option {
                    spec = spec.arg(
                        ArgSpec::option("count", "n")
                            .value_type(ValueType::Unsigned)
                            .env("MOSAIC_TEST_COUNT"),
                    );
                }
                if sub {
                    spec.subcommand(
                        CommandSpec::new("sub", "generated")
                            .arg(ArgSpec::positional("item", "i").required())
                            .arg(ArgSpec::option("mode", "m").possible_values(&["a", "b"])),
                    )
                } else if positional {
                    spec.arg(ArgSpec::positional("target", "t").multiple())
                } else {
                    spec
                }
            })
    }

    /// A manifest the host's validator accepts: the generated commands it does not
    /// refuse (a repeated word, `help`) are left out.
    fn manifest(name: &'static str) -> impl Strategy<Value = Manifest> {
        prop::collection::vec(command_spec(), 0..4).prop_map(move |commands| {
            let mut manifest = Manifest::new(name, "1.0.0").host_requirement("*");
            for command in commands {
                manifest.commands.push(command);
                if check_manifest(&manifest).is_err() {
                    manifest.commands.pop();
                }
            }
            manifest
        })
    }

    /// Any word, mostly ones the tree knows.
    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::sample::select(NAMES).prop_map(String::from),
            4 => prop::sample::select(vec![
                "--json", "-v", "-vq", "--help", "-h", "--version", "--", "-f", "--force",
                "--force=1", "--count", "--count=7", "-1", "7", "x", "sub", "a", "list",
                "get", "--plugin-dir", "--no-color", "",
            ])
            .prop_map(String::from),
            1 => any::<String>(),
        ]
    }

    /// Mostly command lines that start like real ones (global flags, then a command
    /// path: one of `paths`, or built from any name), sometimes any words.
    fn argv(paths: Vec<Vec<String>>) -> impl Strategy<Value = Vec<String>> {
        let globals = prop::collection::vec(
            prop::sample::select(vec!["-v", "--json", "-q", "--no-color"]),
            0..2,
        );
        let name = prop::sample::select(NAMES).prop_map(String::from);
        let head = prop_oneof![
            4 => prop::sample::select(paths),
            1 => name.clone().prop_map(|name| vec![name]),
            1 => name.clone().prop_map(|name| vec!["config".to_string(), name]),
            1 => name.clone().prop_map(|name| vec!["help".to_string(), name]),
            1 => name.prop_map(|name| vec![name, "sub".to_string(), "x".to_string()]),
        ];
        let likely = prop::sample::select(vec!["-f", "--count", "7", "x", "sub", "--json", "-v"]);
        let tail = prop_oneof![
            2 => Just(Vec::new()),
            3 => prop::collection::vec(likely.prop_map(String::from), 1..4),
            1 => prop::collection::vec(word(), 1..4),
        ];
        let shaped = (globals, head, tail).prop_map(|(globals, head, tail)| {
            let mut argv: Vec<String> = globals.into_iter().map(String::from).collect();
            argv.extend(head);
            argv.extend(tail);
            argv
        });
        prop_oneof![3 => shaped, 1 => prop::collection::vec(word(), 0..6)]
    }

    /// Two generated plugins and command lines for them.
    fn plugins_and_argvs() -> impl Strategy<Value = ([Manifest; 2], Vec<Vec<String>>)> {
        (manifest("alpha"), manifest("beta")).prop_flat_map(|(alpha, beta)| {
            // The paths the plugins' commands are typed with (whether mounted or not).
            let mut paths = vec![vec!["alpha".to_string()]];
            for command in alpha.commands.iter().chain(&beta.commands) {
                for word in std::iter::once(&command.name).chain(&command.aliases) {
                    let mut path: Vec<String> = command
                        .mount
                        .prefix()
                        .iter()
                        .map(|w| w.to_string())
                        .collect();
                    path.push(word.clone());
                    if !command.subcommands.is_empty() {
                        path.extend(["sub".to_string(), "x".to_string()]);
                    }
                    paths.push(path);
                }
            }
            (
                Just([alpha, beta]),
                prop::collection::vec(argv(paths), 1..16),
            )
        })
    }

    /// Plugins `alpha` then `beta` (first on the search path wins) in a fresh
    /// directory, registered from the manifest cache as a warm run does.
    fn registry(root: &Path, manifests: &[Manifest]) -> Registry {
        let plugin_dir = root.join("plugins");
        let cache_dir = root.join("cache");
        std::fs::create_dir_all(&plugin_dir).unwrap();
        let mut cache = ManifestCache::load(&cache_dir);
        for manifest in manifests {
            let path = plugin_dir.join(plugin_file_name(&manifest.name));
            std::fs::write(&path, b"not loaded: the cache knows it").unwrap();
            let stamp = FileStamp::of(&std::fs::metadata(&path).unwrap());
            let loaded = LoadedPlugin {
                api_version: mosaic_plugin_api::API_VERSION.to_string(),
                summary: PluginSummary::of(manifest),
                manifest_json: serde_json::to_string(manifest).unwrap(),
            };
            cache.insert(&path, stamp, loaded);
        }
        cache.save(&[]);
        let search = [SearchDir {
            path: plugin_dir,
            origin: "--plugin-dir",
        }];
        Registry::build(
            &search,
            &mut ManifestCache::load(&cache_dir),
            claimed_names(&table()),
        )
    }

    /// The tree's target as `app` computes it from argv.
    fn target<'a>(words: &[&'a str]) -> Option<(Mount, &'a str)> {
        let words = match words.split_first() {
            Some((&"help", rest)) => rest,
            _ => words,
        };
        match words {
            [group, name, ..] if *group == "config" => Some((Mount::Config, *name)),
            [name, ..] => Some((Mount::Top, *name)),
            [] => None,
        }
    }

    fn invocation(spec: &CommandSpec, matches: &ArgMatches) -> Result<Invocation, TestCaseError> {
        let invocation = invocation_from_matches_with_env(spec, matches, &|_| None);
        prop_assert!(invocation.is_ok(), "{:?}", invocation);
        let invocation = invocation.unwrap();
        prop_assert_eq!(&invocation.command[0], &spec.name);
        Ok(invocation)
    }

    /// Parses `argv` with the tree of `detail` and routes it like `app` does: `None`
    /// for a clap error (usage, help, version).
    fn route(
        registry: &Registry,
        specs: &[CommandSpec],
        argv: &[String],
        detail: Detail<'_>,
    ) -> Result<Option<Route>, TestCaseError> {
        let tree = build(registry, specs, detail);
        let parsed = tree
            .try_get_matches_from(std::iter::once("mosaic").chain(argv.iter().map(String::as_str)));
        let Ok(matches) = parsed else {
            return Ok(None);
        };
        let subcommand = matches.subcommand();
        prop_assert!(subcommand.is_some(), "a parse without a command");
        let (name, sub_matches) = subcommand.unwrap();
        let mounted = |mount: Mount, word: &str, matches: &ArgMatches| {
            let owner = registry.owner(mount, word);
            prop_assert!(owner.is_some(), "`{}` parsed but nobody owns it", word);
            let (record, spec) = owner.unwrap();
            prop_assert_eq!(&spec.name, word);
            prop_assert_eq!(spec.mount, mount);
            let invocation = invocation(spec, matches)?;
            Ok(Some(Route::Plugin(record.name.clone(), mount, invocation)))
        };
        let Some(spec) = specs.iter().find(|spec| spec.name == name) else {
            return mounted(Mount::Top, name, sub_matches);
        };
        if let (true, Some((inner, inner_matches))) = (name == "config", sub_matches.subcommand()) {
            if !spec.subcommands.iter().any(|child| child.name == inner) {
                return mounted(Mount::Config, inner, inner_matches);
            }
        }
        Ok(Some(Route::Builtin(invocation(spec, sub_matches)?)))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_argv_errors_or_reaches_the_commands_owner(
            (manifests, argvs) in plugins_and_argvs(),
        ) {
            for manifest in &manifests {
                prop_assert_eq!(check_manifest(manifest), Ok(()));
            }
            let root = tempfile::tempdir().unwrap();
            let registry = registry(root.path(), &manifests);
            let specs = table().specs();
            for argv in &argvs {
                let words = command_words(argv);
                let targeted = route(&registry, &specs, argv, Detail::Target(target(&words)))?;
                let full = route(&registry, &specs, argv, Detail::Full)?;
                prop_assert_eq!(targeted, full, "argv {:?}", argv);
            }
        }
    }
}
