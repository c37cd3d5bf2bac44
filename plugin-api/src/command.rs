//! Commands as the unit of a plugin: each is declared once, with its spec, its
//! typed options and its `run`, and listed once in a [`CommandTable`] from which the
//! manifest and the dispatch are both derived.
//!
//! ```text
//! #[derive(Deserialize)]
//! pub struct AddOptions { pub title: String, pub priority: u64 }
//!
//! pub struct Add;
//! impl Command for Add {
//!     type Options = AddOptions;
//!     fn spec() -> CommandSpec {
//!         CommandSpec::new("add", "Add a todo")
//!             .arg(ArgSpec::positional("title", "What to do").required())
//!             .arg(ArgSpec::option("priority", "1 to 5").value_type(ValueType::Unsigned).default_value("3"))
//!     }
//!     fn run(context: &Context<'_>, options: AddOptions) -> Result<i32> { … }
//! }
//!
//! // In `Plugin::commands`:
//! CommandTable::new().group(CommandSpec::new("todo", "Keep todos"), CommandTable::new().command::<Add>())
//! ```
//!
//! The table is generic over its handler type so the host can list its built-ins
//! the same way (with handlers that take the host's own state).

use serde::de::DeserializeOwned;

use crate::sdk::context::Context;
use crate::spec::{CommandSpec, Invocation};

/// One command of a plugin: its declaration and what it does.
pub trait Command {
    /// The command's arguments as one typed struct, deserialized from the values
    /// the host parsed (field names are the [`crate::ArgSpec`] names). Commands
    /// without arguments use [`NoOptions`].
    type Options: DeserializeOwned;

    /// The command's declaration: name, help, arguments, examples. Its subcommands
    /// come from the table, not from here.
    fn spec() -> CommandSpec;

    /// Runs the command; returns the exit code. An `Err` is printed as `error: …`
    /// with its causes and exits 1.
    fn run(context: &Context<'_>, options: Self::Options) -> anyhow::Result<i32>;
}

/// The options of a command that takes no arguments.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
pub struct NoOptions {}

/// What a plugin's table dispatches to: decodes the options and runs the command.
pub type PluginHandler = fn(&Context<'_>, &Invocation) -> anyhow::Result<i32>;

/// A plugin's commands.
pub type Commands = CommandTable<PluginHandler>;

/// One entry: a command's spec, what runs it (none for a pure group) and its
/// subcommands.
#[derive(Clone)]
pub struct CommandEntry<H> {
    /// The declaration, without subcommands (they are in `children`).
    pub spec: CommandSpec,
    /// What runs it; `None` for a group that only holds subcommands.
    pub handler: Option<H>,
    /// Its subcommands.
    pub children: CommandTable<H>,
}

/// A tree of commands with their handlers, declared once.
#[derive(Clone)]
pub struct CommandTable<H> {
    entries: Vec<CommandEntry<H>>,
}

impl<H> Default for CommandTable<H> {
    fn default() -> Self {
        CommandTable {
            entries: Vec::new(),
        }
    }
}

impl<H: Copy> CommandTable<H> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry with a handler of the table's type and, optionally, children.
    pub fn entry(mut self, spec: CommandSpec, handler: Option<H>, children: Self) -> Self {
        self.entries.push(CommandEntry {
            spec,
            handler,
            children,
        });
        self
    }

    /// Adds a group: a command that only holds subcommands (one is required).
    pub fn group(self, spec: CommandSpec, children: Self) -> Self {
        self.entry(spec, None, children)
    }

    /// The entries at this level.
    pub fn entries(&self) -> &[CommandEntry<H>] {
        &self.entries
    }

    /// The full specs (subcommands filled in from the children), for a manifest or
    /// a clap tree.
    pub fn specs(&self) -> Vec<CommandSpec> {
        self.entries
            .iter()
            .map(|entry| {
                let mut spec = entry.spec.clone();
                spec.subcommands.extend(entry.children.specs());
                spec
            })
            .collect()
    }

    /// The entry a command path leads to (`["fleet", "launch"]`).
    pub fn find(&self, path: &[String]) -> Option<&CommandEntry<H>> {
        let (first, rest) = path.split_first()?;
        let entry = self
            .entries
            .iter()
            .find(|entry| entry.spec.name == *first)?;
        if rest.is_empty() {
            Some(entry)
        } else {
            entry.children.find(rest)
        }
    }

    /// The handler of the command an invocation names, or an error saying which
    /// command has none (a bug: the host only sends commands of the manifest).
    pub fn handler_for(&self, invocation: &Invocation) -> anyhow::Result<H> {
        match self.find(&invocation.command) {
            Some(CommandEntry {
                handler: Some(handler),
                ..
            }) => Ok(*handler),
            Some(_) => anyhow::bail!(
                "`{}` needs a subcommand (see `--help`)",
                invocation.command_line()
            ),
            None => anyhow::bail!("unknown command `{}`", invocation.command_line()),
        }
    }
}

impl Commands {
    /// Adds a command without subcommands.
    pub fn command<C: Command>(self) -> Self {
        self.entry(C::spec(), Some(run_command::<C>), Commands::new())
    }

    /// Adds a command that runs on its own and also has subcommands
    /// (`hello [NAME]` and `hello dirs`).
    pub fn command_with<C: Command>(self, children: Commands) -> Self {
        self.entry(C::spec(), Some(run_command::<C>), children)
    }
}

fn run_command<C: Command>(context: &Context<'_>, invocation: &Invocation) -> anyhow::Result<i32> {
    let options = decode_options::<C::Options>(invocation).map_err(anyhow::Error::msg)?;
    C::run(context, options)
}

/// Deserializes a command's typed options from an invocation's values. A missing
/// or mistyped option is a bug in the command's declaration (the spec and the
/// options struct disagree); the error says so, naming the command and the option.
pub fn decode_options<T: DeserializeOwned>(invocation: &Invocation) -> Result<T, String> {
    let value = serde_json::Value::Object(invocation.args.clone());
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let option = if path == "." {
            // serde names a missing field only in its message.
            missing_field_name(&error.inner().to_string()).unwrap_or_else(|| "?".to_string())
        } else {
            path
        };
        format!(
            "bug in command `{}`: its option `{option}` does not match its declaration: {}",
            invocation.command_line(),
            error.inner()
        )
    })
}

fn missing_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ArgSpec;
    use serde_json::json;

    #[derive(Debug, serde::Deserialize)]
    struct AddOptions {
        title: String,
        priority: u64,
        #[serde(default)]
        tags: Vec<String>,
    }

    fn invocation(args: serde_json::Value) -> Invocation {
        Invocation {
            command: vec!["todo".into(), "add".into()],
            args: args.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn options_decode_typed() {
        let options: AddOptions = decode_options(&invocation(
            json!({"title": "x", "priority": 3, "tags": ["a"]}),
        ))
        .unwrap();
        assert_eq!(options.title, "x");
        assert_eq!(options.priority, 3);
        assert_eq!(options.tags, vec!["a"]);
    }

    #[test]
    fn a_mismatch_names_the_command_and_the_option() {
        let missing =
            decode_options::<AddOptions>(&invocation(json!({"priority": 3}))).unwrap_err();
        assert!(
            missing.starts_with("bug in command `todo add`: its option `title`"),
            "{missing}"
        );
        let mistyped =
            decode_options::<AddOptions>(&invocation(json!({"title": "x", "priority": "3"})))
                .unwrap_err();
        assert!(mistyped.contains("option `priority`"), "{mistyped}");
    }

    #[test]
    fn table_derives_specs_and_finds_handlers() {
        let table: CommandTable<u8> = CommandTable::new().group(
            CommandSpec::new("todo", "Todos"),
            CommandTable::new()
                .entry(
                    CommandSpec::new("add", "Add").arg(ArgSpec::positional("title", "")),
                    Some(1),
                    CommandTable::new(),
                )
                .entry(
                    CommandSpec::new("done", "Done"),
                    Some(2),
                    CommandTable::new(),
                ),
        );
        let specs = table.specs();
        assert_eq!(specs[0].subcommands.len(), 2);
        assert_eq!(specs[0].subcommands[1].name, "done");
        let done = Invocation {
            command: vec!["todo".into(), "done".into()],
            ..Invocation::default()
        };
        assert_eq!(table.handler_for(&done).unwrap(), 2);
        let group = Invocation {
            command: vec!["todo".into()],
            ..Invocation::default()
        };
        assert!(table.handler_for(&group).is_err());
    }
}
