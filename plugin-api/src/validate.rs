//! The one manifest validator: what the host checks before it mounts a plugin's
//! commands, and what `TestHost` (feature `testing`) checks before it runs them, so a
//! plugin that passes its own tests is never refused as broken by the host.
//!
//! [`validate_manifest`] checks the rules the host relies on: plain lowercase names,
//! a semver version and host requirement, no argument reusing a global flag, no
//! repeated names, no default outside its possible values. With the `cli` feature,
//! `check_clap_tree` also builds each command under `mosaic` with the global flags
//! and runs clap's own assertions (which clap otherwise makes only in debug builds,
//! by panicking), turning any of them into an error message.

use std::collections::HashSet;

use crate::spec::{ArgKind, CommandSpec, Manifest, CLAP_FLAGS, GLOBAL_FLAGS};

/// Whether `word` is a plain lowercase command or plugin name: letters, digits, `-`
/// and `_`, starting with a letter or digit, at most 64 characters.
pub fn valid_word(word: &str) -> bool {
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

/// Short flags no plugin argument may use: the global ones and clap's `-h`, `-V`.
pub fn reserved_short_flags() -> impl Iterator<Item = char> {
    GLOBAL_FLAGS
        .iter()
        .filter_map(|flag| flag.short)
        .chain(CLAP_FLAGS.iter().map(|(short, _)| *short))
}

/// Long flags no plugin argument may use: the global ones and `--help`, `--version`.
pub fn reserved_long_flags() -> impl Iterator<Item = &'static str> {
    GLOBAL_FLAGS
        .iter()
        .map(|flag| flag.long)
        .chain(CLAP_FLAGS.iter().map(|(_, long)| *long))
}

/// Checks everything the host relies on in a manifest. The error is one line that
/// names the command and argument at fault.
pub fn validate_manifest(manifest: &Manifest) -> Result<(), String> {
    if !valid_word(&manifest.name) {
        return Err(format!(
            "plugin name `{}` must be lowercase letters, digits, `-` or `_`",
            manifest.name
        ));
    }
    semver::Version::parse(&manifest.version)
        .map_err(|error| format!("version `{}` is not semver: {error}", manifest.version))?;
    semver::VersionReq::parse(&manifest.host_requirement).map_err(|error| {
        format!(
            "host requirement `{}` is not a semver requirement: {error}",
            manifest.host_requirement
        )
    })?;
    for key in &manifest.config {
        let valid_key = !key.key.is_empty()
            && key.key.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            });
        if !valid_key {
            return Err(format!(
                "config key `{}` must be dotted words of letters, digits, `_` and `-`",
                key.key
            ));
        }
        if let Err(error) = crate::sdk::config::check_key_limits(&key.key) {
            return Err(error.to_string());
        }
        if let Some(check) = &key.check {
            crate::sdk::config_check::check_is_sane(check, key.default.as_ref()).map_err(
                |error| {
                    format!(
                        "config key `{}`: its value check is wrong: {error}",
                        key.key
                    )
                },
            )?;
        }
    }
    let mut top_level = HashSet::new();
    for command in &manifest.commands {
        for word in std::iter::once(&command.name).chain(&command.aliases) {
            if !top_level.insert((command.mount, word.as_str())) {
                let prefix: String = command
                    .mount
                    .prefix()
                    .iter()
                    .map(|part| format!("{part} "))
                    .collect();
                return Err(format!("command `{prefix}{word}` is defined twice"));
            }
        }
    }
    manifest
        .commands
        .iter()
        .try_for_each(|command| check_command(command, "", &HashSet::new()))
}

/// `above`: the argument names of the commands above this one. An invocation holds
/// one value per name for the whole command path, so a name may not repeat on it.
fn check_command(command: &CommandSpec, path: &str, above: &HashSet<&str>) -> Result<(), String> {
    let here = format!("{path}{}", command.name);
    if let Some(arg) = command
        .args
        .iter()
        .find(|arg| above.contains(arg.name.as_str()))
    {
        return Err(format!(
            "command `{here}`: argument name `{}` is also used by a command above it \
             (the plugin receives one value per name)",
            arg.name
        ));
    }
    if !valid_word(&command.name) {
        return Err(format!(
            "command name `{here}` is not a plain lowercase word"
        ));
    }
    let reserved_names: Vec<&str> = GLOBAL_FLAGS.iter().map(|flag| flag.name).collect();
    let mut names = HashSet::new();
    let mut shorts: HashSet<char> = reserved_short_flags().collect();
    let mut longs: HashSet<String> = reserved_long_flags().map(str::to_string).collect();
    for arg in &command.args {
        if arg.name.is_empty() || !names.insert(arg.name.as_str()) {
            return Err(format!(
                "command `{here}` has an empty or repeated argument name `{}`",
                arg.name
            ));
        }
        if reserved_names.contains(&arg.name.as_str()) {
            return Err(format!(
                "command `{here}`: argument name `{}` is reserved for mosaic's global flags",
                arg.name
            ));
        }
        if arg.kind != ArgKind::Positional {
            if let Some(short) = arg.short {
                if !shorts.insert(short) {
                    let taken: Vec<String> = reserved_short_flags()
                        .map(|short| format!("-{short}"))
                        .collect();
                    return Err(format!(
                        "command `{here}`: `-{short}` is already taken (by another argument or \
                         a global flag: {})",
                        taken.join(" ")
                    ));
                }
            }
            let long = arg.long_name();
            if !longs.insert(long.clone()) {
                let taken: Vec<String> = reserved_long_flags()
                    .map(|long| format!("--{long}"))
                    .collect();
                return Err(format!(
                    "command `{here}`: `--{long}` is already taken (by another argument or a \
                     global flag: {})",
                    taken.join(" ")
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
    let mut names_on_path = above.clone();
    names_on_path.extend(command.args.iter().map(|arg| arg.name.as_str()));
    command
        .subcommands
        .iter()
        .try_for_each(|sub| check_command(sub, &nested, &names_on_path))
}

/// Builds each command of the manifest under `mosaic` (with the global flags, and
/// under `mosaic config` for config-mounted ones) and runs clap's assertions, which
/// catch what [`validate_manifest`] does not spell out. A panic of clap's becomes the
/// error message.
#[cfg(feature = "cli")]
pub fn check_clap_tree(manifest: &Manifest) -> Result<(), String> {
    use crate::cli::{command_from_spec, global_args};
    use crate::spec::Mount;

    for spec in &manifest.commands {
        // Built inside the catch: clap's builder asserts too (a short flag `-`).
        let build_and_assert = || {
            let command = command_from_spec(spec);
            let root = clap::Command::new("mosaic").args(global_args());
            let root = match spec.mount {
                Mount::Top => root.subcommand(command),
                Mount::Config => root.subcommand(clap::Command::new("config").subcommand(command)),
            };
            root.debug_assert();
        };
        let previous_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(build_and_assert));
        std::panic::set_hook(previous_hook);
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|text| text.to_string()))
                .unwrap_or_else(|| "invalid command definition".to_string());
            return Err(format!("command `{}`: {}", spec.name, message.trim()));
        }
    }
    Ok(())
}

/// Both checks: what the host runs on every manifest it reads.
#[cfg(feature = "cli")]
pub fn check_manifest(manifest: &Manifest) -> Result<(), String> {
    validate_manifest(manifest).and_then(|()| check_clap_tree(manifest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ArgSpec;

    fn manifest_with(command: CommandSpec) -> Manifest {
        let mut manifest = Manifest::new("x", "1.0.0");
        manifest.commands = vec![command];
        manifest
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
            CommandSpec::new("Bad Name", ""),
        ];
        for command in cases {
            assert!(validate_manifest(&manifest_with(command)).is_err());
        }
        let mut twice = manifest_with(CommandSpec::new("x", ""));
        twice.commands.push(CommandSpec::new("y", "").alias("x"));
        assert_eq!(
            validate_manifest(&twice),
            Err("command `x` is defined twice".to_string())
        );
        let mut bad_requirement = Manifest::new("x", "1.0.0");
        bad_requirement.host_requirement = "soon".into();
        assert!(validate_manifest(&bad_requirement)
            .unwrap_err()
            .contains("host requirement `soon`"));
    }

    #[test]
    fn config_key_checks_must_be_sane() {
        use crate::spec::{ConfigKeySpec, ValueCheck};
        let with_key = |key: ConfigKeySpec| Manifest::new("x", "1.0.0").config_key(key);
        let error = validate_manifest(&with_key(
            ConfigKeySpec::new("x.port", "").check(ValueCheck::integer(10, 1)),
        ))
        .unwrap_err();
        assert!(
            error.contains("config key `x.port`: its value check is wrong"),
            "{error}"
        );
        let error = validate_manifest(&with_key(
            ConfigKeySpec::new("x.tier", "")
                .default_value("cloud")
                .check(ValueCheck::choice(&["local"])),
        ))
        .unwrap_err();
        assert!(error.contains("its default fails it"), "{error}");
        assert!(validate_manifest(&with_key(
            ConfigKeySpec::new("x.tier", "").check(ValueCheck::Choice { choices: vec![] })
        ))
        .is_err());
        assert!(validate_manifest(&with_key(ConfigKeySpec::new("a.b.c.d.e.f.g.h.i", ""))).is_err());
        assert_eq!(
            validate_manifest(&with_key(
                ConfigKeySpec::new("x.port", "")
                    .default_value(5)
                    .check(ValueCheck::integer(1, 9))
            )),
            Ok(())
        );
        assert_eq!(
            validate_manifest(&with_key(
                ConfigKeySpec::new("x.new", "").check(ValueCheck::Unknown)
            )),
            Ok(())
        );
    }

    #[test]
    fn a_manifest_with_a_check_kind_from_the_future_loads() {
        let manifest: Manifest = serde_json::from_value(serde_json::json!({
            "name": "x",
            "version": "1.0.0",
            "config": [
                {"key": "x.a", "check": {"kind": "regex", "pattern": "^a$"}},
                {"key": "x.b", "check": {"kind": "integer", "max": 3}},
                {"key": "x.c"}
            ]
        }))
        .unwrap();
        assert_eq!(validate_manifest(&manifest), Ok(()));
        assert_eq!(
            manifest.config[0].check,
            Some(crate::spec::ValueCheck::Unknown)
        );
        assert_eq!(manifest.config[2].check, None);
    }

    #[test]
    fn a_plain_command_is_valid() {
        let command = CommandSpec::new("x", "")
            .arg(ArgSpec::positional("name", ""))
            .arg(ArgSpec::flag("shout", "").short('s'))
            .subcommand(CommandSpec::new("run", ""));
        assert_eq!(validate_manifest(&manifest_with(command)), Ok(()));
    }

    #[cfg(feature = "cli")]
    #[test]
    fn clap_assertions_become_errors() {
        // Two positionals where the first takes many values and the second is
        // required: clap asserts against that; the validator above does not know it.
        let command = CommandSpec::new("x", "")
            .arg(ArgSpec::positional("many", "").multiple())
            .arg(ArgSpec::positional("last", "").required());
        let error = check_clap_tree(&manifest_with(command)).unwrap_err();
        assert!(error.starts_with("command `x`:"), "{error}");
    }
}
