//! From declarative [`CommandSpec`]s to `clap` commands, and from parsed `clap`
//! matches back to an [`Invocation`].
//!
//! The host uses this to build its one command tree; the test harness uses the same
//! code, so a plugin tested in-process parses exactly as it will under `mosaic`.

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use serde_json::{Map, Value};

use crate::spec::{
    ArgKind, ArgSpec, CommandSpec, GlobalFlagKind, Invocation, ValueType, GLOBAL_FLAGS,
};

/// The clap arguments of [`GLOBAL_FLAGS`], global so they may appear anywhere.
pub fn global_args() -> Vec<Arg> {
    GLOBAL_FLAGS
        .iter()
        .map(|flag| {
            let mut arg = Arg::new(flag.name)
                .long(flag.long)
                .global(true)
                .help(flag.help);
            if let Some(short) = flag.short {
                arg = arg.short(short);
            }
            if let Some(value_name) = flag.value_name {
                arg = arg.value_name(value_name);
            }
            arg = match flag.kind {
                GlobalFlagKind::Count => arg.action(ArgAction::Count),
                GlobalFlagKind::Switch => arg.action(ArgAction::SetTrue),
                GlobalFlagKind::Values => arg.action(ArgAction::Append),
            };
            if flag.name == "quiet" {
                arg = arg.conflicts_with("verbose");
            }
            arg
        })
        .collect()
}

/// Builds the clap command for a spec (recursively).
pub fn command_from_spec(spec: &CommandSpec) -> Command {
    let mut command = Command::new(spec.name.clone())
        .about(spec.about.clone())
        .hide(spec.hidden);
    if let Some(long_about) = &spec.long_about {
        command = command.long_about(long_about.clone());
    }
    if !spec.aliases.is_empty() {
        command = command.visible_aliases(spec.aliases.clone());
    }
    if !spec.examples.is_empty() {
        command = command.after_help(examples_help(spec));
    }
    let has_positionals = spec.args.iter().any(|arg| arg.kind == ArgKind::Positional);
    for arg in &spec.args {
        command = command.arg(arg_from_spec(arg));
    }
    if !spec.subcommands.is_empty() {
        command = command.subcommands(spec.subcommands.iter().map(command_from_spec));
        if has_positionals {
            // `hello NAME` and `hello dirs` side by side: a subcommand wins and the
            // command's own arguments are then not required.
            command = command
                .args_conflicts_with_subcommands(true)
                .subcommand_negates_reqs(true);
        } else {
            command = command
                .subcommand_required(true)
                .arg_required_else_help(true);
        }
    }
    command
}

fn examples_help(spec: &CommandSpec) -> String {
    let mut text = String::from("Examples:\n");
    for example in &spec.examples {
        if example.description.is_empty() {
            text.push_str(&format!("  mosaic {}\n", example.command));
        } else {
            text.push_str(&format!(
                "  # {}\n  mosaic {}\n",
                example.description, example.command
            ));
        }
    }
    text.trim_end().to_string()
}

fn arg_from_spec(spec: &ArgSpec) -> Arg {
    let mut arg = Arg::new(spec.name.clone())
        .help(spec.help.clone())
        .hide(spec.hidden);
    match &spec.value_name {
        Some(value_name) => arg = arg.value_name(value_name.clone()),
        None if spec.kind != ArgKind::Flag => {
            arg = arg.value_name(spec.name.to_uppercase().replace('-', "_"))
        }
        None => {}
    }
    match spec.kind {
        ArgKind::Flag => {
            arg = arg.long(spec.long_name()).action(ArgAction::SetTrue);
            if let Some(short) = spec.short {
                arg = arg.short(short);
            }
        }
        ArgKind::Option => {
            arg = arg.long(spec.long_name());
            if let Some(short) = spec.short {
                arg = arg.short(short);
            }
            arg = if spec.multiple {
                arg.action(ArgAction::Append)
            } else {
                arg.action(ArgAction::Set)
            };
        }
        ArgKind::Positional => {
            arg = if spec.multiple || spec.trailing {
                arg.num_args(1..).action(ArgAction::Append)
            } else {
                arg.action(ArgAction::Set)
            };
            if spec.trailing {
                // Only after `--`: a mistyped option (`--detatch`) is then a usage
                // error with clap's suggestion, never the first word of a command.
                arg = arg.last(true);
            }
        }
    }
    if spec.required {
        arg = arg.required(true);
    }
    if let Some(default) = &spec.default {
        arg = arg.default_value(default.clone());
    }
    if let Some(env) = &spec.env {
        arg = arg.env(env.clone());
    }
    if !spec.possible_values.is_empty() {
        arg = arg.value_parser(spec.possible_values.clone());
    } else if spec.kind != ArgKind::Flag {
        arg = match spec.value_type {
            ValueType::Text => arg,
            ValueType::Integer => arg
                .value_parser(clap::value_parser!(i64))
                .allow_negative_numbers(true),
            ValueType::Unsigned => arg.value_parser(clap::value_parser!(u64)),
            ValueType::Number => arg.value_parser(finite_number).allow_negative_numbers(true),
        };
    }
    for other in &spec.conflicts_with {
        arg = arg.conflicts_with(other.clone());
    }
    arg
}

/// A decimal number JSON can carry: `inf`, `NaN` and `1e400` parse as `f64` but have
/// no JSON number, so they would reach the plugin as `null`.
fn finite_number(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(number),
        Ok(_) => Err(format!("`{text}` is not a finite number")),
        Err(error) => Err(error.to_string()),
    }
}

/// Collects the invocation for `spec`, whose matches are `matches` (the matches of
/// the command named `spec.name`), descending into the chosen subcommand.
pub fn invocation_from_matches(spec: &CommandSpec, matches: &ArgMatches) -> Invocation {
    invocation_from_matches_with_env(spec, matches, &|_| None)
        .expect("without overrides every value comes from clap, which checked it")
}

/// Like [`invocation_from_matches`], but an argument with an `env` variable that was
/// not given on the command line takes its value from `env_overrides` when that has
/// the variable. clap itself only sees the process environment; this is how the
/// overrides of a host `invoke` reach arguments. An override that is not a value of
/// the argument's type is an error naming the variable.
pub fn invocation_from_matches_with_env(
    spec: &CommandSpec,
    matches: &ArgMatches,
    env_overrides: &dyn Fn(&str) -> Option<String>,
) -> Result<Invocation, String> {
    let mut command = vec![spec.name.clone()];
    let mut args = Map::new();
    let mut current_spec = spec;
    let mut current_matches = matches;
    loop {
        for arg in &current_spec.args {
            let mut value = arg_value(arg, current_matches);
            let from_command_line =
                current_matches.value_source(&arg.name) == Some(ValueSource::CommandLine);
            if let (Some(variable), false) = (&arg.env, from_command_line) {
                if let Some(overridden) = env_overrides(variable) {
                    value = match arg.kind {
                        ArgKind::Flag => Value::Bool(crate::sdk::term::is_truthy(&overridden)),
                        _ => {
                            let typed =
                                typed_text(arg.value_type, &overridden).ok_or_else(|| {
                                    format!(
                                        "{variable}={overridden}: `{}` takes {}",
                                        arg.name,
                                        arg.value_type.description()
                                    )
                                })?;
                            if arg.multiple {
                                Value::Array(vec![typed])
                            } else {
                                typed
                            }
                        }
                    };
                }
            }
            args.insert(arg.name.clone(), value);
        }
        let Some((name, sub_matches)) = current_matches.subcommand() else {
            break;
        };
        let Some(sub_spec) = current_spec
            .subcommands
            .iter()
            .find(|candidate| candidate.name == name)
        else {
            break;
        };
        command.push(sub_spec.name.clone());
        current_spec = sub_spec;
        current_matches = sub_matches;
    }
    Ok(Invocation { command, args })
}

/// `text` as a JSON value of `value_type`, if it is one.
fn typed_text(value_type: ValueType, text: &str) -> Option<Value> {
    match value_type {
        ValueType::Text => Some(Value::from(text)),
        ValueType::Integer => text.trim().parse::<i64>().ok().map(Value::from),
        ValueType::Unsigned => text.trim().parse::<u64>().ok().map(Value::from),
        ValueType::Number => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
    }
}

fn many<T: Clone + Into<Value> + Send + Sync + 'static>(
    values: Option<clap::parser::ValuesRef<'_, T>>,
) -> Option<Vec<Value>> {
    values.map(|values| values.cloned().map(Into::into).collect())
}

fn one_value(spec: &ArgSpec, matches: &ArgMatches) -> Option<Vec<Value>> {
    if !spec.possible_values.is_empty() {
        return many(matches.get_many::<String>(&spec.name));
    }
    match spec.value_type {
        ValueType::Text => many(matches.get_many::<String>(&spec.name)),
        ValueType::Integer => many(matches.get_many::<i64>(&spec.name)),
        ValueType::Unsigned => many(matches.get_many::<u64>(&spec.name)),
        ValueType::Number => matches.get_many::<f64>(&spec.name).map(|values| {
            values
                .filter_map(|value| serde_json::Number::from_f64(*value).map(Value::Number))
                .collect()
        }),
    }
}

fn arg_value(spec: &ArgSpec, matches: &ArgMatches) -> Value {
    if spec.kind == ArgKind::Flag {
        return Value::Bool(matches.get_flag(&spec.name));
    }
    let values = one_value(spec, matches);
    if spec.multiple || spec.trailing {
        Value::Array(values.unwrap_or_default())
    } else {
        values
            .and_then(|values| values.into_iter().next())
            .unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CommandSpec {
        CommandSpec::new("hello", "Say hello")
            .arg(ArgSpec::positional("name", "Who").required())
            .arg(
                ArgSpec::option("greeting", "Word")
                    .short('g')
                    .default_value("Hello"),
            )
            .arg(ArgSpec::flag("shout", "Upper case"))
            .subcommand(
                CommandSpec::new("run", "Run something")
                    .arg(ArgSpec::positional("command", "Command").trailing()),
            )
            .example("hello world --shout", "Shout")
    }

    #[test]
    fn parses_positional_option_flag() {
        let spec = sample();
        let matches = command_from_spec(&spec)
            .try_get_matches_from(["hello", "world", "--shout"])
            .unwrap();
        let invocation = invocation_from_matches(&spec, &matches);
        assert_eq!(invocation.command, vec!["hello"]);
        assert_eq!(invocation.args["name"], "world");
        assert_eq!(invocation.args["greeting"], "Hello");
        assert_eq!(invocation.args["shout"], true);
    }

    #[test]
    fn trailing_args_keep_hyphens() {
        let spec = sample();
        let matches = command_from_spec(&spec)
            .try_get_matches_from(["hello", "run", "--", "ls", "-la"])
            .unwrap();
        let invocation = invocation_from_matches(&spec, &matches);
        assert_eq!(invocation.command, vec!["hello", "run"]);
        assert_eq!(invocation.args["command"], serde_json::json!(["ls", "-la"]));
    }

    #[test]
    fn trailing_args_come_only_after_the_separator() {
        let spec = CommandSpec::new("launch", "")
            .arg(ArgSpec::positional("agent", "Agent").required())
            .arg(ArgSpec::flag("detach", "Detach"))
            .arg(ArgSpec::positional("command", "Command").trailing());
        let mistyped = command_from_spec(&spec)
            .try_get_matches_from(["launch", "a1", "--detatch"])
            .unwrap_err();
        assert_eq!(mistyped.kind(), clap::error::ErrorKind::UnknownArgument);
        assert!(
            mistyped.to_string().contains("--detach"),
            "clap suggests the flag: {mistyped}"
        );
        let bare = command_from_spec(&spec)
            .try_get_matches_from(["launch", "a1", "python"])
            .unwrap_err();
        assert_eq!(bare.kind(), clap::error::ErrorKind::UnknownArgument);
        let matches = command_from_spec(&spec)
            .try_get_matches_from(["launch", "a1", "--detach", "--", "python", "--detatch"])
            .unwrap();
        let invocation = invocation_from_matches(&spec, &matches);
        assert_eq!(
            invocation.args["command"],
            serde_json::json!(["python", "--detatch"])
        );
        assert_eq!(invocation.args["detach"], true);
    }

    #[test]
    fn examples_appear_in_help() {
        let help = command_from_spec(&sample()).render_help().to_string();
        assert!(help.contains("mosaic hello world --shout"), "{help}");
    }

    #[test]
    fn possible_values_are_enforced() {
        let spec = CommandSpec::new("x", "")
            .arg(ArgSpec::option("tier", "").possible_values(&["local", "team"]));
        let error = command_from_spec(&spec)
            .try_get_matches_from(["x", "--tier", "nope"])
            .unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::InvalidValue);
    }

    #[test]
    fn typed_values_are_checked_and_sent_as_numbers() {
        let spec = CommandSpec::new("x", "")
            .arg(ArgSpec::option("count", "").value_type(ValueType::Unsigned))
            .arg(
                ArgSpec::option("ids", "")
                    .value_type(ValueType::Integer)
                    .multiple(),
            )
            .arg(
                ArgSpec::option("ratio", "")
                    .value_type(ValueType::Number)
                    .env("X_RATIO"),
            );
        let matches = command_from_spec(&spec)
            .try_get_matches_from(["x", "--count", "3", "--ids", "-1", "--ids", "2"])
            .unwrap();
        let invocation = invocation_from_matches(&spec, &matches);
        assert_eq!(invocation.args["count"], 3);
        assert_eq!(invocation.args["ids"], serde_json::json!([-1, 2]));
        assert_eq!(invocation.args["ratio"], Value::Null);
        let error = command_from_spec(&spec)
            .try_get_matches_from(["x", "--count", "many"])
            .unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
        let bad_override =
            invocation_from_matches_with_env(&spec, &matches, &|_| Some("lots".into()));
        assert_eq!(
            bad_override.unwrap_err(),
            "X_RATIO=lots: `ratio` takes a number"
        );
    }
}
