//! Strategies shared by the property tests: manifests and command specs that the
//! validator must accept, built the way a careful plugin author would write them.

#![allow(dead_code)]

use std::collections::HashSet;

use mosaic_plugin_api::spec::{
    ArgKind, ArgSpec, CommandSpec, Manifest, Mount, ValueType, CLAP_FLAGS, GLOBAL_FLAGS,
};
use proptest::prelude::*;

/// A plain lowercase command or plugin name (`help` excluded: it is reserved for
/// subcommands).
pub fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{0,7}".prop_filter("reserved", |word| word != "help")
}

/// A value of `value_type` as typed on a command line.
pub fn typed_value(value_type: ValueType) -> BoxedStrategy<String> {
    match value_type {
        ValueType::Text => "[a-zA-Z0-9_.,/:@ %+=é-]{0,10}"
            .prop_filter("looks like a flag", |text| !text.starts_with('-'))
            .boxed(),
        ValueType::Integer => any::<i64>().prop_map(|number| number.to_string()).boxed(),
        ValueType::Unsigned => any::<u64>().prop_map(|number| number.to_string()).boxed(),
        ValueType::Number => prop_oneof![
            any::<f64>()
                .prop_filter("finite", |number| number.is_finite())
                .prop_map(|number| number.to_string()),
            (-1000i32..1000).prop_map(|number| format!("{number}.5")),
        ]
        .boxed(),
    }
}

fn value_type() -> impl Strategy<Value = ValueType> {
    prop::sample::select(vec![
        ValueType::Text,
        ValueType::Integer,
        ValueType::Unsigned,
        ValueType::Number,
    ])
}

/// An option or positional: its type, possible values and default fit each other.
fn valued_arg(kind: ArgKind) -> impl Strategy<Value = ArgSpec> {
    (
        "[a-z][a-z0-9_]{0,7}",
        value_type(),
        prop::collection::vec(word(), 0..4),
        any::<bool>(),
        any::<bool>(),
        any::<Option<prop::sample::Index>>(),
    )
        .prop_flat_map(
            move |(name, value_type, choices, multiple, required, default_pick)| {
                let mut choices: Vec<String> = choices;
                choices.dedup();
                let choices: Vec<String> = {
                    let mut seen = HashSet::new();
                    choices
                        .into_iter()
                        .filter(|choice| seen.insert(choice.clone()))
                        .collect()
                };
                let use_choices = value_type == ValueType::Text && !choices.is_empty();
                let default: BoxedStrategy<Option<String>> = match default_pick {
                    Some(pick) if use_choices => Just(Some(pick.get(&choices).clone())).boxed(),
                    Some(_) => typed_value(value_type).prop_map(Some).boxed(),
                    None => Just(None).boxed(),
                };
                (
                    Just((name, value_type, choices, multiple, required, use_choices)),
                    default,
                )
            },
        )
        .prop_map(
            move |((name, value_type, choices, multiple, required, use_choices), default)| {
                ArgSpec {
                    name,
                    kind,
                    multiple,
                    required: required && default.is_none(),
                    default,
                    possible_values: if use_choices { choices } else { Vec::new() },
                    value_type,
                    ..ArgSpec::default()
                }
            },
        )
}

fn flag() -> impl Strategy<Value = ArgSpec> {
    "[a-z][a-z0-9_]{0,7}".prop_map(|name| ArgSpec::flag(&name, "a flag"))
}

/// The arguments of one command, made valid: unique names, long names and shorts,
/// none reserved, positionals ordered the way clap requires.
fn args() -> impl Strategy<Value = Vec<ArgSpec>> {
    (
        prop::collection::vec(valued_arg(ArgKind::Positional), 0..3),
        prop::collection::vec(valued_arg(ArgKind::Option), 0..3),
        prop::collection::vec(flag(), 0..3),
        prop::collection::vec(any::<Option<char>>(), 6),
        any::<bool>(),
        any::<Option<(prop::sample::Index, prop::sample::Index)>>(),
    )
        .prop_map(
            |(positionals, options, flags, shorts, trailing, conflict)| {
                let reserved_names: HashSet<&str> =
                    GLOBAL_FLAGS.iter().map(|flag| flag.name).collect();
                let reserved_longs: HashSet<String> = GLOBAL_FLAGS
                    .iter()
                    .map(|flag| flag.long.to_string())
                    .chain(CLAP_FLAGS.iter().map(|(_, long)| long.to_string()))
                    .collect();
                let mut names = HashSet::new();
                let mut longs = HashSet::new();
                let mut keep = |arg: &ArgSpec| {
                    !reserved_names.contains(arg.name.as_str())
                        && !reserved_longs.contains(&arg.long_name())
                        && names.insert(arg.name.clone())
                        && longs.insert(arg.long_name())
                };
                // Required positionals first; at most one taking many values, last.
                let mut positionals: Vec<ArgSpec> =
                    positionals.into_iter().filter(|arg| keep(arg)).collect();
                positionals.sort_by_key(|arg| !arg.required);
                let count = positionals.len();
                for (index, arg) in positionals.iter_mut().enumerate() {
                    if index + 1 < count {
                        arg.multiple = false;
                    } else if trailing && arg.possible_values.is_empty() {
                        arg.trailing = true;
                        arg.multiple = true;
                        arg.value_type = ValueType::Text;
                        arg.default = None;
                    }
                }
                let mut pool: Vec<char> = ('a'..='z')
                    .chain('A'..='Z')
                    .chain('0'..='9')
                    .filter(|c| !matches!(c, 'v' | 'q' | 'h' | 'V'))
                    .collect();
                let mut named: Vec<ArgSpec> = options
                    .into_iter()
                    .chain(flags)
                    .filter(|arg| keep(arg))
                    .collect();
                for (arg, short) in named.iter_mut().zip(shorts) {
                    if let Some(short) = short {
                        let index = u32::from(short) as usize % pool.len();
                        arg.short = Some(pool.remove(index));
                    }
                }
                if let Some((first, second)) = conflict {
                    let optional: Vec<usize> = (0..named.len())
                        .filter(|&index| !named[index].required)
                        .collect();
                    if optional.len() >= 2 {
                        let a = optional[first.index(optional.len())];
                        let b = optional[second.index(optional.len())];
                        if a != b {
                            let other = named[b].name.clone();
                            named[a].conflicts_with.push(other);
                        }
                    }
                }
                positionals.into_iter().chain(named).collect()
            },
        )
}

/// A command the validator must accept, with subcommands `depth` levels down.
pub fn command(depth: u32) -> BoxedStrategy<CommandSpec> {
    let leaf = (word(), args()).prop_map(|(name, args)| CommandSpec {
        name,
        about: "a command".into(),
        args,
        ..CommandSpec::default()
    });
    if depth == 0 {
        return leaf.boxed();
    }
    (leaf, prop::collection::vec(command(depth - 1), 0..3))
        .prop_map(|(mut command, subcommands)| {
            let mut seen = HashSet::new();
            let names: HashSet<String> = command.args.iter().map(|arg| arg.name.clone()).collect();
            command.subcommands = subcommands
                .into_iter()
                .filter(|sub| seen.insert(sub.name.clone()))
                .map(|mut sub| {
                    drop_names(&mut sub, &names);
                    sub
                })
                .collect();
            // A subcommand word would be read as a value of a positional that
            // takes many; keep the tree unambiguous as real plugins do.
            if !command.subcommands.is_empty() {
                for arg in &mut command.args {
                    if arg.kind == ArgKind::Positional {
                        arg.trailing = false;
                        arg.multiple = false;
                    }
                }
            }
            command
        })
        .boxed()
}

/// Removes the arguments named in `names` from `command` and its subcommands (an
/// argument name may appear once on a command path).
fn drop_names(command: &mut CommandSpec, names: &HashSet<String>) {
    command.args.retain(|arg| !names.contains(&arg.name));
    let kept: HashSet<String> = command.args.iter().map(|arg| arg.name.clone()).collect();
    for arg in &mut command.args {
        arg.conflicts_with.retain(|other| kept.contains(other));
    }
    for sub in &mut command.subcommands {
        drop_names(sub, names);
    }
}

/// A manifest the validator must accept.
pub fn manifest() -> impl Strategy<Value = Manifest> {
    (
        word(),
        (0u16..100, 0u16..100, 0u16..100),
        prop::sample::select(vec!["*", ">=0.2.0, <0.3.0", "^0.2", "~0.2.1"]),
        prop::collection::vec((command(2), any::<bool>()), 1..4),
    )
        .prop_map(|(name, (major, minor, patch), requirement, commands)| {
            let mut manifest = Manifest::new(&name, &format!("{major}.{minor}.{patch}"))
                .host_requirement(requirement);
            let mut seen = HashSet::new();
            manifest.commands = commands
                .into_iter()
                .filter(|(command, _)| seen.insert(command.name.clone()))
                .map(|(command, in_config)| CommandSpec {
                    mount: if in_config { Mount::Config } else { Mount::Top },
                    ..command
                })
                .collect();
            manifest
        })
}
