//! Property tests of invocation parsing (`cli::command_from_spec` and
//! `cli::invocation_from_matches`): for generated valid specs and any argv, clap
//! refuses or the invocation names a command path of the spec, holds exactly the
//! arguments of that path, each typed as declared; and an invocation written out as
//! argv parses back to itself.

#![cfg(feature = "cli")]

mod support;

use clap::parser::ValueSource;
use mosaic_plugin_api::cli::{command_from_spec, invocation_from_matches};
use mosaic_plugin_api::spec::{ArgKind, ArgSpec, CommandSpec, Invocation, ValueType};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// The specs along `path` (the first is `root` itself), if the path exists.
fn specs_on_path<'a>(root: &'a CommandSpec, path: &[String]) -> Option<Vec<&'a CommandSpec>> {
    let (first, rest) = path.split_first()?;
    if *first != root.name {
        return None;
    }
    let mut specs = vec![root];
    for word in rest {
        let next = specs
            .last()?
            .subcommands
            .iter()
            .find(|sub| sub.name == *word)?;
        specs.push(next);
    }
    Some(specs)
}

/// Whether `value` is one value of `arg`'s type.
fn one_typed(arg: &ArgSpec, value: &Value) -> bool {
    if !arg.possible_values.is_empty() {
        return value
            .as_str()
            .is_some_and(|text| arg.possible_values.iter().any(|choice| choice == text));
    }
    match arg.value_type {
        ValueType::Text => value.is_string(),
        ValueType::Integer => value.is_i64(),
        ValueType::Unsigned => value.is_u64(),
        ValueType::Number => value.is_f64() || value.is_i64() || value.is_u64(),
    }
}

/// Checks the invocation clap's matches gave against the spec.
fn check_invocation(spec: &CommandSpec, invocation: &Invocation) -> Result<(), TestCaseError> {
    let path = specs_on_path(spec, &invocation.command);
    prop_assert!(path.is_some(), "no such command: {:?}", invocation.command);
    let path = path.unwrap();
    let mut expected_keys: Vec<&str> = path
        .iter()
        .flat_map(|command| command.args.iter().map(|arg| arg.name.as_str()))
        .collect();
    expected_keys.sort_unstable();
    expected_keys.dedup();
    let mut keys: Vec<&str> = invocation.args.keys().map(String::as_str).collect();
    keys.sort_unstable();
    prop_assert_eq!(keys, expected_keys);
    for arg in path.iter().flat_map(|command| &command.args) {
        let value = &invocation.args[&arg.name];
        match arg.kind {
            ArgKind::Flag => prop_assert!(value.is_boolean(), "{}: {}", arg.name, value),
            _ if arg.multiple || arg.trailing => {
                let values = value.as_array();
                prop_assert!(values.is_some(), "{}: {}", arg.name, value);
                for item in values.unwrap() {
                    prop_assert!(one_typed(arg, item), "{}: {}", arg.name, item);
                }
            }
            _ => prop_assert!(
                value.is_null() || one_typed(arg, value),
                "{}: {}",
                arg.name,
                value
            ),
        }
    }
    Ok(())
}

/// Words likely to matter to the parser of `spec`: its command names, flags and
/// values of every type, plus arbitrary text.
fn argv_for(spec: &CommandSpec) -> impl Strategy<Value = Vec<String>> {
    fn collect(command: &CommandSpec, words: &mut Vec<String>) {
        words.push(command.name.clone());
        words.extend(command.aliases.iter().cloned());
        for arg in &command.args {
            if arg.kind != ArgKind::Positional {
                words.push(format!("--{}", arg.long_name()));
                words.push(format!("--{}=", arg.long_name()));
                if let Some(short) = arg.short {
                    words.push(format!("-{short}"));
                }
            }
            words.extend(arg.possible_values.iter().cloned());
        }
        for sub in &command.subcommands {
            collect(sub, words);
        }
    }
    let mut words = vec![
        "--".to_string(),
        "-".to_string(),
        "--json".into(),
        "-v".into(),
        "--help".into(),
        "inf".into(),
        "NaN".into(),
        "-1".into(),
        "1e400".into(),
        "18446744073709551616".into(),
        "-0".into(),
        " 7".into(),
        "".into(),
    ];
    collect(spec, &mut words);
    let word = prop_oneof![
        4 => prop::sample::select(words),
        1 => any::<String>(),
        1 => any::<i64>().prop_map(|number| number.to_string()),
        1 => any::<f64>().prop_map(|number| number.to_string()),
    ];
    prop::collection::vec(word, 0..10)
}

fn spec_and_argv() -> impl Strategy<Value = (CommandSpec, Vec<String>)> {
    support::command(2).prop_flat_map(|spec| {
        let argv = argv_for(&spec);
        (Just(spec), argv)
    })
}

/// A command path of `spec` and, for each argument on it, the values to type
/// (`None`: leave it out).
#[derive(Debug, Clone)]
struct Typed {
    path: Vec<String>,
    /// Per command on the path, per argument: the words of its values.
    values: Vec<Vec<Option<Vec<String>>>>,
}

fn typed_for(spec: &CommandSpec) -> BoxedStrategy<Typed> {
    fn values_for(command: &CommandSpec) -> BoxedStrategy<Vec<Option<Vec<String>>>> {
        let has_subcommands = !command.subcommands.is_empty();
        let has_positionals = command
            .args
            .iter()
            .any(|arg| arg.kind == ArgKind::Positional);
        let strategies: Vec<BoxedStrategy<Option<Vec<String>>>> = command
            .args
            .iter()
            .map(|arg| {
                let one = if !arg.possible_values.is_empty() {
                    prop::sample::select(arg.possible_values.clone()).boxed()
                } else {
                    support::typed_value(arg.value_type)
                };
                // No positional value can be taken for a subcommand name: on a command
                // with subcommands one is always chosen, which excludes positionals.
                let count = if arg.kind == ArgKind::Flag {
                    0..=0
                } else if arg.multiple || arg.trailing {
                    1..=3
                } else {
                    1..=1
                };
                // With positionals, a subcommand excludes the command's own arguments
                // and negates their requirements; without, they still hold.
                let required = arg.required && !(has_subcommands && has_positionals);
                let values = prop::collection::vec(one, count);
                if required {
                    values.prop_map(Some).boxed()
                } else {
                    prop::option::of(values).boxed()
                }
            })
            .collect();
        strategies.boxed()
    }
    let here = values_for(spec);
    if spec.subcommands.is_empty() {
        let name = spec.name.clone();
        return here
            .prop_map(move |values| Typed {
                path: vec![name.clone()],
                values: vec![values],
            })
            .boxed();
    }
    // A command with subcommands: one of them is chosen (they negate its own
    // requirements; with positionals, a subcommand excludes them).
    let subs: Vec<BoxedStrategy<Typed>> = spec.subcommands.iter().map(typed_for).collect();
    let name = spec.name.clone();
    let has_positionals = spec.args.iter().any(|arg| arg.kind == ArgKind::Positional);
    (
        here,
        prop::sample::select((0..subs.len()).collect::<Vec<_>>()),
    )
        .prop_flat_map(move |(values, index)| (Just(values), subs[index].clone()))
        .prop_map(move |(mut values, below)| {
            if has_positionals {
                values.iter_mut().for_each(|value| *value = None);
            }
            let mut path = vec![name.clone()];
            path.extend(below.path);
            let mut all = vec![values];
            all.extend(below.values);
            Typed { path, values: all }
        })
        .boxed()
}

/// The argv that types `typed`, and the invocation it must give.
fn argv_and_expected(spec: &CommandSpec, typed: &Typed) -> (Vec<String>, Invocation) {
    let specs = specs_on_path(spec, &typed.path).expect("generated path exists");
    let mut argv = Vec::new();
    let mut args = Map::new();
    for (index, (command, values)) in specs.iter().zip(&typed.values).enumerate() {
        if index > 0 {
            argv.push(command.name.clone());
        }
        let mut trailing = Vec::new();
        // Of two arguments that conflict, only the first given is typed.
        let mut given: Vec<&ArgSpec> = Vec::new();
        let mut positional_skipped = false;
        for (arg, value) in command.args.iter().zip(values) {
            let conflicts = given.iter().any(|other| {
                other.conflicts_with.contains(&arg.name) || arg.conflicts_with.contains(&other.name)
            });
            // Positionals fill up in order: after one left out, none can be given.
            let unreachable = arg.kind == ArgKind::Positional && positional_skipped;
            let value = if conflicts || unreachable {
                &None
            } else {
                value
            };
            positional_skipped |= arg.kind == ArgKind::Positional && value.is_none();
            if value.is_some() {
                given.push(arg);
            }
            let expected = match (arg.kind, value) {
                (ArgKind::Flag, Some(_)) => {
                    argv.push(format!("--{}", arg.long_name()));
                    Value::Bool(true)
                }
                (ArgKind::Flag, None) => Value::Bool(false),
                (ArgKind::Option, Some(words)) => {
                    for word in words {
                        argv.push(format!("--{}={word}", arg.long_name()));
                    }
                    typed_values(arg, words)
                }
                (ArgKind::Positional, Some(words)) => {
                    if arg.trailing {
                        trailing.extend(words.iter().cloned());
                    } else {
                        argv.extend(words.iter().cloned());
                    }
                    typed_values(arg, words)
                }
                (_, None) => match &arg.default {
                    Some(default) => typed_values(arg, std::slice::from_ref(default)),
                    None if arg.multiple || arg.trailing => Value::Array(Vec::new()),
                    None => Value::Null,
                },
            };
            args.insert(arg.name.clone(), expected);
        }
        if !trailing.is_empty() {
            argv.push("--".into());
            argv.extend(trailing);
        }
    }
    let invocation = Invocation {
        command: typed.path.clone(),
        args,
    };
    (argv, invocation)
}

fn typed_values(arg: &ArgSpec, words: &[String]) -> Value {
    let typed: Vec<Value> = words
        .iter()
        .map(|word| {
            if !arg.possible_values.is_empty() {
                return Value::from(word.as_str());
            }
            match arg.value_type {
                ValueType::Text => Value::from(word.as_str()),
                ValueType::Integer => Value::from(word.parse::<i64>().unwrap()),
                ValueType::Unsigned => Value::from(word.parse::<u64>().unwrap()),
                ValueType::Number => Value::from(word.parse::<f64>().unwrap()),
            }
        })
        .collect();
    if arg.multiple || arg.trailing {
        Value::Array(typed)
    } else {
        typed.into_iter().next().unwrap_or(Value::Null)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_argv_is_refused_or_parsed_into_a_typed_invocation((spec, argv) in spec_and_argv()) {
        let command = command_from_spec(&spec);
        let words = std::iter::once(spec.name.clone()).chain(argv);
        if let Ok(matches) = command.try_get_matches_from(words) {
            let invocation = invocation_from_matches(&spec, &matches);
            check_invocation(&spec, &invocation)?;
            // Every value typed on the command line arrives: none is lost on the way
            // to JSON.
            let mut level = (&spec, &matches);
            loop {
                let (command, matches) = level;
                for arg in command.args.iter().filter(|arg| arg.kind != ArgKind::Flag) {
                    if matches.value_source(&arg.name) != Some(ValueSource::CommandLine) {
                        continue;
                    }
                    let typed = matches.get_raw(&arg.name).map_or(0, |raw| raw.len());
                    let value = &invocation.args[&arg.name];
                    let arrived = value.as_array().map_or(usize::from(!value.is_null()), Vec::len);
                    prop_assert_eq!(arrived, typed, "{}: {}", arg.name, value);
                }
                let Some((name, sub_matches)) = matches.subcommand() else { break };
                let Some(sub) = command.subcommands.iter().find(|sub| sub.name == name) else {
                    break;
                };
                level = (sub, sub_matches);
            }
        }
    }

    #[test]
    fn a_typed_invocation_parses_back_to_itself(
        (spec, typed) in support::command(2).prop_flat_map(|spec| {
            let typed = typed_for(&spec);
            (Just(spec), typed)
        })
    ) {
        let (argv, expected) = argv_and_expected(&spec, &typed);
        let words = std::iter::once(spec.name.clone()).chain(argv.clone());
        let matches = command_from_spec(&spec).try_get_matches_from(words);
        prop_assert!(matches.is_ok(), "argv {:?}: {}", argv, matches.unwrap_err());
        let invocation = invocation_from_matches(&spec, &matches.unwrap());
        prop_assert_eq!(&invocation, &expected, "argv {:?}", argv);
        check_invocation(&spec, &invocation)?;
    }
}

/// `--ratio inf` passed clap's `f64` parser and then had no JSON number: the
/// argument arrived as `null` (or vanished from a list), as if it were not given.
#[test]
fn a_number_that_json_cannot_hold_is_a_usage_error() {
    let spec = CommandSpec::new("x", "")
        .arg(ArgSpec::option("ratio", "").value_type(ValueType::Number))
        .arg(
            ArgSpec::option("many", "")
                .value_type(ValueType::Number)
                .multiple(),
        );
    for argv in [
        ["x", "--ratio", "inf"],
        ["x", "--ratio", "NaN"],
        ["x", "--many=-inf", "--many=1"],
        ["x", "--ratio", "1e400"],
    ] {
        let error = command_from_spec(&spec)
            .try_get_matches_from(argv)
            .unwrap_err();
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::ValueValidation,
            "{argv:?}"
        );
    }
}

/// A parent and a subcommand both declaring `x`: the invocation held one of the two
/// values and silently dropped the other. The validator now refuses such a tree.
#[test]
fn an_argument_name_repeated_down_a_command_path_is_refused() {
    let mut manifest = mosaic_plugin_api::spec::Manifest::new("p", "1.0.0");
    manifest.commands = vec![CommandSpec::new("a", "")
        .arg(ArgSpec::flag("x", ""))
        .subcommand(CommandSpec::new("b", "").arg(ArgSpec::option("x", "")))];
    let error = mosaic_plugin_api::validate::validate_manifest(&manifest).unwrap_err();
    assert!(
        error.contains("command `a b`: argument name `x` is also used"),
        "{error}"
    );
}
