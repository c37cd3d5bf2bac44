//! The declarative description of a plugin (its [`Manifest`]) and of one call into it
//! (an [`Invocation`]).
//!
//! Both cross the ABI as JSON. Every field that is not essential has a serde default,
//! so a field added in a later version is simply absent (and defaulted) when an older
//! plugin or host reads the JSON. The host turns the command specs into one `clap`
//! tree; plugins never see `argv`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Everything the host needs to know about a plugin without running its commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Short lowercase name; the library file is `libmosaic_<name>.so`.
    pub name: String,
    /// The plugin's own version (semver).
    pub version: String,
    /// One line shown by `mosaic plugins list`.
    #[serde(default)]
    pub description: String,
    /// Which `mosaic` host versions this plugin works with, as a semver requirement
    /// such as `">=0.1, <0.2"`. Checked by the host on top of the ABI check.
    #[serde(default = "any_version")]
    pub host_requirement: String,
    /// The commands this plugin provides.
    #[serde(default)]
    pub commands: Vec<CommandSpec>,
    /// The `config.json` keys this plugin reads, so `mosaic config show` can print
    /// their effective values and sources.
    #[serde(default)]
    pub config: Vec<ConfigKeySpec>,
}

fn any_version() -> String {
    "*".to_string()
}

/// Where a top-level command of a plugin appears in the `mosaic` command tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mount {
    /// `mosaic <name> …`
    #[default]
    Top,
    /// `mosaic config <name> …`, beside the host's own `config` commands.
    Config,
}

impl Mount {
    /// The command words before the command's own name.
    pub fn prefix(self) -> &'static [&'static str] {
        match self {
            Mount::Top => &[],
            Mount::Config => &["config"],
        }
    }
}

/// One command (or subcommand) of a plugin.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommandSpec {
    /// The word typed to run it.
    pub name: String,
    /// One line for the command list.
    #[serde(default)]
    pub about: String,
    /// Several paragraphs for `--help`.
    #[serde(default)]
    pub long_about: Option<String>,
    /// Shown under "Examples" in `--help`; run by the SDK's test harness.
    #[serde(default)]
    pub examples: Vec<Example>,
    /// Other words that run the same command.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<ArgSpec>,
    /// Its subcommands; when present and `args` has no positionals, one is required.
    #[serde(default)]
    pub subcommands: Vec<CommandSpec>,
    /// Left out of help and completions (still runs).
    #[serde(default)]
    pub hidden: bool,
    /// Only meaningful on top-level commands: where the command is mounted.
    #[serde(default)]
    pub mount: Mount,
}

/// A usage example: the words after `mosaic` and what they do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// E.g. `hello world --shout`.
    pub command: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// The exit code the test harness expects when it runs the example.
    #[serde(default)]
    pub expect_exit_code: i32,
    /// Text the harness expects in the example's stdout, if any.
    #[serde(default)]
    pub expect_stdout_contains: Option<String>,
}

/// The kind of a command argument.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgKind {
    /// A bare value, by position.
    #[default]
    Positional,
    /// `--name VALUE` (or `-n VALUE`).
    Option,
    /// `--name`, present or not.
    Flag,
}

/// One argument of a command.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArgSpec {
    /// The key under which the value arrives in [`Invocation::args`].
    pub name: String,
    /// Positional, option or flag.
    #[serde(default)]
    pub kind: ArgKind,
    /// Help text.
    #[serde(default)]
    pub help: String,
    /// `-x` for options and flags.
    #[serde(default)]
    pub short: Option<char>,
    /// `--long-name` for options and flags; defaults to `name` with `_` as `-`.
    #[serde(default)]
    pub long: Option<String>,
    /// Placeholder in usage, e.g. `DIR`.
    #[serde(default)]
    pub value_name: Option<String>,
    /// The argument must be given.
    #[serde(default)]
    pub required: bool,
    /// More than one value may be given; the value arrives as an array.
    #[serde(default)]
    pub multiple: bool,
    /// Used when the argument is absent.
    #[serde(default)]
    pub default: Option<String>,
    /// An environment variable that supplies the value when the argument is absent.
    #[serde(default)]
    pub env: Option<String>,
    /// The only accepted values.
    #[serde(default)]
    pub possible_values: Vec<String>,
    /// Takes every remaining word, including ones that look like flags (after `--`).
    #[serde(default)]
    pub trailing: bool,
    /// Left out of help.
    #[serde(default)]
    pub hidden: bool,
    /// Names of other arguments that cannot be used together with this one.
    #[serde(default)]
    pub conflicts_with: Vec<String>,
}

impl ArgSpec {
    /// A positional argument.
    pub fn positional(name: &str, help: &str) -> Self {
        ArgSpec {
            name: name.to_string(),
            kind: ArgKind::Positional,
            help: help.to_string(),
            ..ArgSpec::default()
        }
    }

    /// An option taking a value, `--name VALUE`.
    pub fn option(name: &str, help: &str) -> Self {
        ArgSpec {
            name: name.to_string(),
            kind: ArgKind::Option,
            help: help.to_string(),
            ..ArgSpec::default()
        }
    }

    /// A boolean flag, `--name`.
    pub fn flag(name: &str, help: &str) -> Self {
        ArgSpec {
            name: name.to_string(),
            kind: ArgKind::Flag,
            help: help.to_string(),
            ..ArgSpec::default()
        }
    }

    /// Sets the short form.
    pub fn short(mut self, short: char) -> Self {
        self.short = Some(short);
        self
    }

    /// Sets the `--long` name (default: `name` with `_` as `-`).
    pub fn long_named(mut self, long: &str) -> Self {
        self.long = Some(long.to_string());
        self
    }

    /// Sets the value placeholder.
    pub fn value_name(mut self, value_name: &str) -> Self {
        self.value_name = Some(value_name.to_string());
        self
    }

    /// Makes the argument required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Accepts several values.
    pub fn multiple(mut self) -> Self {
        self.multiple = true;
        self
    }

    /// Sets the default value.
    pub fn default_value(mut self, default: &str) -> Self {
        self.default = Some(default.to_string());
        self
    }

    /// Reads the value from an environment variable when absent.
    pub fn env(mut self, variable: &str) -> Self {
        self.env = Some(variable.to_string());
        self
    }

    /// Restricts the accepted values.
    pub fn possible_values(mut self, values: &[&str]) -> Self {
        self.possible_values = values.iter().map(|value| value.to_string()).collect();
        self
    }

    /// Takes every remaining word (`-- COMMAND ARGS…`).
    pub fn trailing(mut self) -> Self {
        self.trailing = true;
        self.multiple = true;
        self
    }

    /// Cannot be combined with the named argument.
    pub fn conflicts_with(mut self, other: &str) -> Self {
        self.conflicts_with.push(other.to_string());
        self
    }

    /// The `--long` name used on the command line.
    pub fn long_name(&self) -> String {
        self.long
            .clone()
            .unwrap_or_else(|| self.name.replace('_', "-"))
    }
}

impl CommandSpec {
    /// A command with a name and a one-line description.
    pub fn new(name: &str, about: &str) -> Self {
        CommandSpec {
            name: name.to_string(),
            about: about.to_string(),
            ..CommandSpec::default()
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: ArgSpec) -> Self {
        self.args.push(arg);
        self
    }

    /// Adds a subcommand.
    pub fn subcommand(mut self, command: CommandSpec) -> Self {
        self.subcommands.push(command);
        self
    }

    /// Adds an example (`command` is the words after `mosaic`).
    pub fn example(mut self, command: &str, description: &str) -> Self {
        self.examples.push(Example {
            command: command.to_string(),
            description: description.to_string(),
            ..Example::default()
        });
        self
    }

    /// Sets the long help.
    pub fn long_about(mut self, text: &str) -> Self {
        self.long_about = Some(text.to_string());
        self
    }

    /// Adds an alias.
    pub fn alias(mut self, alias: &str) -> Self {
        self.aliases.push(alias.to_string());
        self
    }

    /// Mounts the command under `mosaic config`.
    pub fn mount(mut self, mount: Mount) -> Self {
        self.mount = mount;
        self
    }

    /// Hides the command from help and completions.
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }

    /// Every example of this command and its subcommands, depth first.
    pub fn all_examples(&self) -> Vec<&Example> {
        let mut examples: Vec<&Example> = self.examples.iter().collect();
        for subcommand in &self.subcommands {
            examples.extend(subcommand.all_examples());
        }
        examples
    }
}

/// A `config.json` key a plugin reads, for `mosaic config show`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigKeySpec {
    /// Dotted key, e.g. `fleet.default_runtime`.
    pub key: String,
    /// What it controls.
    #[serde(default)]
    pub description: String,
    /// The value used when neither the environment nor the file sets it.
    #[serde(default)]
    pub default: Option<Value>,
    /// An environment variable that takes precedence over the file.
    #[serde(default)]
    pub env: Option<String>,
    /// Redacted by `config show` and `config get`.
    #[serde(default)]
    pub secret: bool,
}

/// One call of a plugin command, after the host parsed the command line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    /// The command words from the plugin's top-level command down, without the mount
    /// prefix: `["hooks", "disable"]` for `mosaic config hooks disable`.
    pub command: Vec<String>,
    /// Argument values by [`ArgSpec::name`]: a string, `true`/`false` for flags, an
    /// array of strings for `multiple`, or `null` when absent without a default.
    #[serde(default)]
    pub args: Map<String, Value>,
}

impl Invocation {
    /// The command path joined with spaces, e.g. `hooks disable`.
    pub fn command_line(&self) -> String {
        self.command.join(" ")
    }

    /// The value of a single-valued argument, if given.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.args.get(name).and_then(Value::as_str)
    }

    /// The values of a multi-valued argument (empty if absent).
    pub fn values(&self, name: &str) -> Vec<String> {
        match self.args.get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect(),
            Some(Value::String(single)) => vec![single.clone()],
            _ => Vec::new(),
        }
    }

    /// Whether a flag was given.
    pub fn flag(&self, name: &str) -> bool {
        self.args
            .get(name)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_manifest_json_without_new_fields_still_parses() {
        let manifest: Manifest = serde_json::from_str(r#"{"name":"x","version":"1.0.0"}"#).unwrap();
        assert_eq!(manifest.host_requirement, "*");
        assert!(manifest.commands.is_empty());
    }

    #[test]
    fn invocation_accessors_read_typed_values() {
        let invocation: Invocation = serde_json::from_str(
            r#"{"command":["a"],"args":{"n":"x","many":["1","2"],"f":true,"none":null}}"#,
        )
        .unwrap();
        assert_eq!(invocation.value("n"), Some("x"));
        assert_eq!(invocation.values("many"), vec!["1", "2"]);
        assert!(invocation.flag("f"));
        assert_eq!(invocation.value("none"), None);
        assert!(invocation.values("absent").is_empty());
    }
}
