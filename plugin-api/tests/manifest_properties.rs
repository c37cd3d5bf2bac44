//! Property tests of the manifest validator: any bytes or JSON offered as a manifest
//! are refused with one line or accepted, never a panic; generated valid manifests
//! validate, and each kind of known-invalid change to one is refused.

mod support;

use mosaic_plugin_api::spec::{ArgSpec, CommandSpec, Manifest, GLOBAL_FLAGS};
use mosaic_plugin_api::validate::validate_manifest;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Every check the host makes on a manifest it reads.
fn check(manifest: &Manifest) -> Result<(), String> {
    #[cfg(feature = "cli")]
    {
        mosaic_plugin_api::validate::check_manifest(manifest)
    }
    #[cfg(not(feature = "cli"))]
    {
        validate_manifest(manifest)
    }
}

/// Checks `manifest` and, when it is refused, that the reason is one line.
fn one_line_outcome(manifest: &Manifest) -> Result<(), String> {
    let outcome = check(manifest);
    if let Err(error) = &outcome {
        assert!(!error.trim().is_empty(), "empty error");
        assert!(!error.contains('\n'), "error of several lines: {error:?}");
    }
    outcome
}

/// JSON values whose object keys are often manifest field names, so that many of
/// them deserialize into a manifest with odd contents.
fn manifest_like_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        prop::sample::select(vec![
            "name",
            "version",
            "description",
            "host_requirement",
            "commands",
            "config",
            "about",
            "args",
            "subcommands",
            "aliases",
            "kind",
            "short",
            "long",
            "required",
            "multiple",
            "default",
            "possible_values",
            "trailing",
            "conflicts_with",
            "value_type",
            "mount",
            "key",
            "secret",
            "env",
            "hidden",
            "examples",
            "command",
        ])
        .prop_map(str::to_string),
        "[a-z_]{1,6}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|number| json!(number)),
        prop::sample::select(vec![
            "x",
            "1.0.0",
            "*",
            "Bad Name",
            "-",
            "help",
            "json",
            "v",
            "option",
            "flag",
            "positional",
            "config",
            "top",
            "integer",
            "",
            "é",
            "a b",
            "0.2",
            ">=0.2, <0.3",
        ])
        .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        any::<char>().prop_map(|c| Value::from(c.to_string())),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Arbitrary text in every string field: names, shorts, longs, defaults, …
fn arbitrary_arg() -> impl Strategy<Value = ArgSpec> {
    (
        (
            any::<String>(),
            prop::sample::select(vec![
                mosaic_plugin_api::spec::ArgKind::Positional,
                mosaic_plugin_api::spec::ArgKind::Option,
                mosaic_plugin_api::spec::ArgKind::Flag,
            ]),
            any::<Option<char>>(),
            any::<Option<String>>(),
            any::<Option<String>>(),
            any::<(bool, bool, bool, bool)>(),
        ),
        (
            any::<Option<String>>(),
            prop::collection::vec(any::<String>(), 0..3),
            prop::collection::vec(any::<String>(), 0..2),
        ),
    )
        .prop_map(
            |(
                (name, kind, short, long, value_name, (required, multiple, trailing, hidden)),
                (default, possible_values, conflicts_with),
            )| ArgSpec {
                name,
                kind,
                short,
                long,
                value_name,
                required,
                multiple,
                trailing,
                hidden,
                default,
                possible_values,
                conflicts_with,
                ..ArgSpec::default()
            },
        )
}

fn arbitrary_command() -> impl Strategy<Value = CommandSpec> {
    let leaf = (
        prop_oneof![any::<String>(), support::word()],
        prop::collection::vec(arbitrary_arg(), 0..4),
        prop::collection::vec(any::<String>(), 0..2),
    )
        .prop_map(|(name, args, aliases)| CommandSpec {
            name,
            args,
            aliases,
            ..CommandSpec::default()
        });
    leaf.prop_recursive(2, 8, 3, |inner| {
        (inner.clone(), prop::collection::vec(inner, 0..3)).prop_map(|(command, subcommands)| {
            CommandSpec {
                subcommands,
                ..command
            }
        })
    })
}

/// One way of breaking a valid manifest, and the words its error must contain.
#[derive(Debug, Clone)]
enum Breakage {
    DuplicateCommand,
    DuplicateAlias,
    ReservedArgName(usize),
    ReservedShort(char),
    ReservedLong(usize),
    RepeatedArgName,
    BadPluginName(String),
    BadCommandName(String),
    HelpSubcommand,
    DefaultOutsideChoices,
    BadVersion(String),
    DanglingConflict,
    NameRepeatedBelow,
}

fn breakage() -> impl Strategy<Value = Breakage> {
    prop_oneof![
        Just(Breakage::DuplicateCommand),
        Just(Breakage::DuplicateAlias),
        (0..GLOBAL_FLAGS.len()).prop_map(Breakage::ReservedArgName),
        prop::sample::select(vec!['v', 'q', 'h', 'V']).prop_map(Breakage::ReservedShort),
        (0..GLOBAL_FLAGS.len() + 2).prop_map(Breakage::ReservedLong),
        Just(Breakage::RepeatedArgName),
        prop_oneof![
            "[A-Z][a-z]{0,4}",
            "[a-z]{0,3}[ .!/][a-z]{0,3}",
            "-[a-z]{1,3}",
            Just(String::new()),
            "[a-z]{65}"
        ]
        .prop_map(Breakage::BadPluginName),
        prop_oneof![
            "[A-Z][a-z]{0,4}",
            "[a-z]{0,3}[ .!/][a-z]{0,3}",
            "_[a-z]{1,3}",
            Just(String::new())
        ]
        .prop_map(Breakage::BadCommandName),
        Just(Breakage::HelpSubcommand),
        Just(Breakage::DefaultOutsideChoices),
        prop_oneof![
            Just("1".to_string()),
            Just("one".to_string()),
            "[0-9]\\.[0-9]"
        ]
        .prop_map(Breakage::BadVersion),
        Just(Breakage::DanglingConflict),
        Just(Breakage::NameRepeatedBelow),
    ]
}

/// Applies `breakage` to `manifest`; returns what the error must mention.
fn break_manifest(manifest: &mut Manifest, breakage: &Breakage) -> String {
    let first = &mut manifest.commands[0];
    match breakage {
        Breakage::DuplicateCommand => {
            let copy = first.clone();
            manifest.commands.push(copy);
            "defined twice".into()
        }
        Breakage::DuplicateAlias => {
            let mut other = CommandSpec::new("zz-other", "");
            other.mount = first.mount;
            other.aliases.push(first.name.clone());
            manifest.commands.push(other);
            "defined twice".into()
        }
        Breakage::ReservedArgName(index) => {
            let name = GLOBAL_FLAGS[*index].name;
            first
                .args
                .push(ArgSpec::option(name, "").long_named("zz-unused"));
            "reserved".into()
        }
        Breakage::ReservedShort(short) => {
            first
                .args
                .push(ArgSpec::flag("zz_unused", "").short(*short));
            format!("`-{short}` is already taken")
        }
        Breakage::ReservedLong(index) => {
            let long = GLOBAL_FLAGS
                .iter()
                .map(|flag| flag.long)
                .chain(["help", "version"])
                .nth(*index)
                .unwrap();
            first
                .args
                .push(ArgSpec::flag("zz_unused", "").long_named(long));
            format!("`--{long}` is already taken")
        }
        Breakage::RepeatedArgName => {
            first.args.push(ArgSpec::positional("zz_twice", ""));
            first
                .args
                .push(ArgSpec::option("zz_twice", "").long_named("zz-other"));
            "repeated argument name".into()
        }
        Breakage::BadPluginName(name) => {
            manifest.name = name.clone();
            "plugin name".into()
        }
        Breakage::BadCommandName(name) => {
            first.name = name.clone();
            "command name".into()
        }
        Breakage::HelpSubcommand => {
            first.subcommands.push(CommandSpec::new("help", ""));
            "`help` is reserved".into()
        }
        Breakage::DefaultOutsideChoices => {
            first.args.push(
                ArgSpec::option("zz_tier", "")
                    .possible_values(&["local", "team"])
                    .default_value("cloud"),
            );
            "not one of its possible values".into()
        }
        Breakage::BadVersion(version) => {
            manifest.version = version.clone();
            "not semver".into()
        }
        Breakage::NameRepeatedBelow => {
            first.args.push(ArgSpec::flag("zz_shared", ""));
            first
                .subcommands
                .push(CommandSpec::new("zz-below", "").arg(ArgSpec::positional("zz_shared", "")));
            "also used by a command above it".into()
        }
        Breakage::DanglingConflict => {
            first
                .args
                .push(ArgSpec::flag("zz_lonely", "").conflicts_with("zz_nobody"));
            "not an argument".into()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_are_refused_or_accepted_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(manifest) = serde_json::from_slice::<Manifest>(&bytes) {
            let _ = one_line_outcome(&manifest);
        }
    }

    #[test]
    fn any_json_is_refused_or_accepted_without_panic(value in manifest_like_json()) {
        if let Ok(manifest) = serde_json::from_value::<Manifest>(value) {
            let _ = one_line_outcome(&manifest);
        }
    }

    #[test]
    fn arbitrary_specs_are_refused_or_accepted_without_panic(
        name in prop_oneof![any::<String>(), support::word()],
        version in prop_oneof![any::<String>(), Just("1.0.0".to_string())],
        commands in prop::collection::vec(arbitrary_command(), 0..3),
    ) {
        let mut manifest = Manifest::new(&name, &version);
        manifest.commands = commands;
        let _ = one_line_outcome(&manifest);
    }

    #[test]
    fn odd_flag_spellings_in_a_valid_manifest_are_refused_or_accepted_without_panic(
        manifest in support::manifest(),
        short in prop_oneof![
            prop::sample::select(vec!['-', ' ', '=', '\0', 'é', '𝄞', '\n']),
            any::<char>(),
        ],
        long in prop_oneof![
            prop::sample::select(vec!["-x", "", "a b", "a=b", "é", "--", "-"]).prop_map(str::to_string),
            any::<String>(),
        ],
        value_name in prop_oneof![Just(String::new()), any::<String>()],
        default in prop_oneof![Just(String::new()), any::<String>()],
    ) {
        let mut with_short = manifest.clone();
        with_short.commands[0].args.push(ArgSpec::flag("zz_odd", "").short(short));
        let _ = one_line_outcome(&with_short);
        let mut with_long = manifest.clone();
        with_long.commands[0].args.push(ArgSpec::flag("zz_odd", "").long_named(&long));
        let _ = one_line_outcome(&with_long);
        let mut with_value = manifest;
        with_value.commands[0].args.push(
            ArgSpec::option("zz_odd", "")
                .value_name(&value_name)
                .default_value(&default)
                .value_type(mosaic_plugin_api::spec::ValueType::Integer),
        );
        let _ = one_line_outcome(&with_value);
    }

    #[test]
    fn generated_valid_manifests_validate(manifest in support::manifest()) {
        prop_assert_eq!(one_line_outcome(&manifest), Ok(()));
        // What crosses the ABI is JSON: the round trip must not change the verdict.
        let text = serde_json::to_string(&manifest).unwrap();
        let read: Manifest = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&read, &manifest);
    }

    #[test]
    fn known_invalid_changes_are_refused(manifest in support::manifest(), breakage in breakage()) {
        let mut broken = manifest;
        let expected = break_manifest(&mut broken, &breakage);
        let error = one_line_outcome(&broken).unwrap_err();
        prop_assert!(error.contains(&expected), "{:?}: {}", breakage, error);
        prop_assert_eq!(validate_manifest(&broken).unwrap_err(), error);
    }
}

/// clap's builder asserts on some spellings (a short flag `-`) while the command is
/// built, before `debug_assert` runs; building outside the catch let that panic
/// escape `check_manifest` and take the host down with the plugin's manifest.
#[cfg(feature = "cli")]
#[test]
fn a_short_flag_clap_refuses_is_an_error_not_a_panic() {
    let mut manifest = Manifest::new("x", "1.0.0");
    manifest.commands = vec![CommandSpec::new("x", "").arg(ArgSpec::flag("dash", "").short('-'))];
    let error = mosaic_plugin_api::validate::check_manifest(&manifest).unwrap_err();
    assert!(error.starts_with("command `x`:"), "{error}");
    assert!(!error.contains('\n'), "{error}");
}
