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
///
/// A plugin builds it with [`Manifest::new`] and the builder methods; its `commands`
/// are filled in by the SDK from [`crate::Plugin::commands`].
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
    /// The commands this plugin provides (filled in from [`crate::Plugin::commands`]).
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

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            name: String::new(),
            version: String::new(),
            description: String::new(),
            host_requirement: any_version(),
            commands: Vec::new(),
            config: Vec::new(),
        }
    }
}

impl Manifest {
    /// A manifest with a name and version (usually `env!("CARGO_PKG_VERSION")`),
    /// accepting any host version.
    pub fn new(name: &str, version: &str) -> Self {
        Manifest {
            name: name.to_string(),
            version: version.to_string(),
            ..Manifest::default()
        }
    }

    /// Sets the one line shown by `mosaic plugins list`.
    pub fn description(mut self, description: &str) -> Self {
        self.description = description.to_string();
        self
    }

    /// Sets the `mosaic` versions the plugin works with, e.g. `">=0.2.0, <0.3.0"`.
    pub fn host_requirement(mut self, requirement: &str) -> Self {
        self.host_requirement = requirement.to_string();
        self
    }

    /// Declares a `config.json` key the plugin reads.
    pub fn config_key(mut self, key: ConfigKeySpec) -> Self {
        self.config.push(key);
        self
    }

    /// The declared config key named `key`.
    pub fn find_config_key(&self, key: &str) -> Option<&ConfigKeySpec> {
        self.config.iter().find(|spec| spec.key == key)
    }
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

impl Example {
    /// An example: the words after `mosaic` and what they do. By default the test
    /// harness expects it to exit 0.
    pub fn new(command: &str, description: &str) -> Self {
        Example {
            command: command.to_string(),
            description: description.to_string(),
            ..Example::default()
        }
    }

    /// Expects `text` in the example's stdout when the test harness runs it.
    pub fn expect_stdout_contains(mut self, text: &str) -> Self {
        self.expect_stdout_contains = Some(text.to_string());
        self
    }

    /// Expects this exit code when the test harness runs it (e.g. 1 for an example
    /// that needs something the harness does not have, such as tmux).
    pub fn expect_exit_code(mut self, code: i32) -> Self {
        self.expect_exit_code = code;
        self
    }
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

/// What values an option or positional accepts. The host checks it while parsing
/// (a bad value is a usage error, exit 2) and sends the value typed: a JSON number
/// for the numeric kinds, a string otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    /// Any text (also paths).
    #[default]
    Text,
    /// A whole number that may be negative (`i64`).
    Integer,
    /// A whole number from 0 (`u64`).
    Unsigned,
    /// A decimal number (`f64`).
    Number,
}

impl ValueType {
    /// How the value is described in errors: `an unsigned integer`, …
    pub fn description(self) -> &'static str {
        match self {
            ValueType::Text => "text",
            ValueType::Integer => "an integer",
            ValueType::Unsigned => "an unsigned integer",
            ValueType::Number => "a number",
        }
    }
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
    /// Takes every word after `--`, including ones that look like flags (and only
    /// those: a mistyped option before `--` stays a usage error).
    #[serde(default)]
    pub trailing: bool,
    /// Left out of help.
    #[serde(default)]
    pub hidden: bool,
    /// Names of other arguments that cannot be used together with this one.
    #[serde(default)]
    pub conflicts_with: Vec<String>,
    /// What values it accepts (options and positionals).
    #[serde(default)]
    pub value_type: ValueType,
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

    /// Takes every word after `--` (`-- COMMAND ARGS…`).
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

    /// Accepts only values of this type (checked by the parser, sent typed).
    pub fn value_type(mut self, value_type: ValueType) -> Self {
        self.value_type = value_type;
        self
    }

    /// Hides the argument from help.
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
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

    /// Adds an example (`command` is the words after `mosaic`) that the test harness
    /// expects to exit 0.
    pub fn example(self, command: &str, description: &str) -> Self {
        self.with_example(Example::new(command, description))
    }

    /// Adds an example with expectations ([`Example::expect_stdout_contains`], …).
    pub fn with_example(mut self, example: Example) -> Self {
        self.examples.push(example);
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
    /// What a value must look like; `mosaic config set` refuses a value that fails it
    /// (see `sdk::config_check`). Since 0.2.2; absent (no check) in older plugins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<ValueCheck>,
}

/// A declarative check of a config value, carried in the manifest so the host can
/// refuse a bad value at `mosaic config set` time, and applied with the same
/// functions (`sdk::config_check`) by the plugin when it reads the value. Since
/// 0.2.2.
///
/// A kind added by a later version reads as [`ValueCheck::Unknown`] in an older
/// host, which then sets the value without checking it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ValueCheck {
    /// A whole number (a JSON integer, or text of digits), within the bounds given.
    Integer {
        /// The smallest value accepted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<i64>,
        /// The largest value accepted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<i64>,
    },
    /// A number (a JSON number, or text of one), within the bounds given.
    Number {
        /// The smallest value accepted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        /// The largest value accepted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    /// `true` or `false`.
    Boolean,
    /// A JSON string.
    Text {
        /// The most characters accepted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_len: Option<u64>,
        /// Whether text that is empty or only spaces is refused.
        #[serde(default)]
        non_blank: bool,
    },
    /// One of a fixed set of strings.
    Choice {
        /// The accepted strings.
        choices: Vec<String>,
    },
    /// A URL with one of the given schemes and a host (`postgres://user@db:5432/x`).
    Url {
        /// The accepted schemes, lower case (`["postgres", "postgresql"]`).
        schemes: Vec<String>,
    },
    /// An HTTP origin: `http` or `https`, a host, an optional port, nothing else (no
    /// `*`, no path).
    Origin,
    /// An IPv4 or IPv6 address (`127.0.0.1`, `::1`).
    IpAddress,
    /// A JSON array; each item passes `item` when it is given.
    List {
        /// The check of each item.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        item: Option<Box<ValueCheck>>,
    },
    /// A kind this version does not know (declared by a newer plugin): not checked.
    #[serde(other)]
    Unknown,
}

impl ValueCheck {
    /// A whole number from `min` to `max` (inclusive).
    pub fn integer(min: i64, max: i64) -> Self {
        ValueCheck::Integer {
            min: Some(min),
            max: Some(max),
        }
    }

    /// A whole number of at least `min`.
    pub fn integer_at_least(min: i64) -> Self {
        ValueCheck::Integer {
            min: Some(min),
            max: None,
        }
    }

    /// A number from `min` to `max` (inclusive).
    pub fn number(min: f64, max: f64) -> Self {
        ValueCheck::Number {
            min: Some(min),
            max: Some(max),
        }
    }

    /// `true` or `false`.
    pub fn boolean() -> Self {
        ValueCheck::Boolean
    }

    /// Any string of at most `max_len` characters.
    pub fn text(max_len: u64) -> Self {
        ValueCheck::Text {
            max_len: Some(max_len),
            non_blank: false,
        }
    }

    /// A string that is not blank, of at most `max_len` characters.
    pub fn non_blank_text(max_len: u64) -> Self {
        ValueCheck::Text {
            max_len: Some(max_len),
            non_blank: true,
        }
    }

    /// One of `choices`.
    pub fn choice<S: AsRef<str>>(choices: &[S]) -> Self {
        ValueCheck::Choice {
            choices: choices
                .iter()
                .map(|choice| choice.as_ref().to_string())
                .collect(),
        }
    }

    /// A URL with one of `schemes` and a host.
    pub fn url<S: AsRef<str>>(schemes: &[S]) -> Self {
        ValueCheck::Url {
            schemes: schemes
                .iter()
                .map(|scheme| scheme.as_ref().to_ascii_lowercase())
                .collect(),
        }
    }

    /// An HTTP origin (`https://app.example.com:8443`).
    pub fn origin() -> Self {
        ValueCheck::Origin
    }

    /// An IP address.
    pub fn ip_address() -> Self {
        ValueCheck::IpAddress
    }

    /// A JSON array of anything.
    pub fn list() -> Self {
        ValueCheck::List { item: None }
    }

    /// A JSON array whose items each pass `item`.
    pub fn list_of(item: ValueCheck) -> Self {
        ValueCheck::List {
            item: Some(Box::new(item)),
        }
    }
}

impl ConfigKeySpec {
    /// A key (dotted, e.g. `todo.max_items`) and what it controls.
    pub fn new(key: &str, description: &str) -> Self {
        ConfigKeySpec {
            key: key.to_string(),
            description: description.to_string(),
            ..ConfigKeySpec::default()
        }
    }

    /// The value used when neither the environment nor config.json sets it.
    pub fn default_value(mut self, value: impl Into<Value>) -> Self {
        self.default = Some(value.into());
        self
    }

    /// An environment variable that takes precedence over config.json.
    pub fn env(mut self, variable: &str) -> Self {
        self.env = Some(variable.to_string());
        self
    }

    /// Marks the value as a secret: redacted by `config show`, refused as an argument
    /// by `config set`.
    pub fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    /// What a value must look like: `mosaic config set` refuses a value that fails
    /// `check` (since 0.2.2). Read the value with the same check
    /// (`sdk::config_check::check_value`) so the two agree.
    pub fn check(mut self, check: ValueCheck) -> Self {
        self.check = Some(check);
        self
    }
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
}

/// How a global flag takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalFlagKind {
    /// Counted: `-v`, `-vv`.
    Count,
    /// Present or not.
    Switch,
    /// Takes a value, repeatable.
    Values,
}

/// A flag every `mosaic` command accepts, anywhere on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalFlag {
    /// Its argument name (reserved: no plugin argument may use it).
    pub name: &'static str,
    /// `--long` (reserved).
    pub long: &'static str,
    /// `-s` (reserved).
    pub short: Option<char>,
    /// How it takes its value.
    pub kind: GlobalFlagKind,
    /// Placeholder for a value.
    pub value_name: Option<&'static str>,
    /// Help text.
    pub help: &'static str,
}

/// The global flags, declared once: the host's parser, its reading of argv before
/// the tree exists, the manifest validator and the test harness all use this list.
pub const GLOBAL_FLAGS: &[GlobalFlag] = &[
    GlobalFlag {
        name: "verbose",
        long: "verbose",
        short: Some('v'),
        kind: GlobalFlagKind::Count,
        value_name: None,
        help: "More output on stderr (-vv for debug); MOSAIC_LOG=debug also works",
    },
    GlobalFlag {
        name: "quiet",
        long: "quiet",
        short: Some('q'),
        kind: GlobalFlagKind::Switch,
        value_name: None,
        help: "Only errors on stderr",
    },
    GlobalFlag {
        name: "json",
        long: "json",
        short: None,
        kind: GlobalFlagKind::Switch,
        value_name: None,
        help: "Print one JSON document on stdout (list and status commands)",
    },
    GlobalFlag {
        name: "no_color",
        long: "no-color",
        short: None,
        kind: GlobalFlagKind::Switch,
        value_name: None,
        help: "No colour (also NO_COLOR=1)",
    },
    GlobalFlag {
        name: "plugin_dir",
        long: "plugin-dir",
        short: None,
        kind: GlobalFlagKind::Values,
        value_name: Some("DIR"),
        help: "Search DIR for plugins first (repeatable)",
    },
];

/// Flags clap adds to every command (`-h/--help`) and to the root (`-V/--version`).
pub const CLAP_FLAGS: &[(char, &str)] = &[('h', "help"), ('V', "version")];

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
    fn builders_fill_what_authors_used_struct_literals_for() {
        let manifest = Manifest::new("todo", "1.0.0")
            .description("Todos")
            .config_key(
                ConfigKeySpec::new("todo.max_items", "Cap")
                    .default_value(10)
                    .env("TODO_MAX"),
            );
        assert_eq!(manifest.host_requirement, "*");
        let key = manifest.find_config_key("todo.max_items").unwrap();
        assert_eq!(key.default, Some(serde_json::json!(10)));
        let example = Example::new("todo list", "List")
            .expect_stdout_contains("x")
            .expect_exit_code(1);
        assert_eq!(example.expect_exit_code, 1);
    }
}
