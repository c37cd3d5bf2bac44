//! `mosaic config set KEY [VALUE]`: change one value in config.json, atomically and
//! under a lock. A secret is read from stdin, never taken from argv (other users can
//! read a process's arguments).

use std::io::Read;

use anyhow::{bail, Context as _, Result};
use mosaic_plugin_api::sdk::config;
use mosaic_plugin_api::{ArgSpec, CommandSpec, Example};
use serde::Deserialize;
use serde_json::Value;

use crate::builtins::config::{declared_keys, has_url_credentials, is_secret_key};
use crate::builtins::Builtin;
use crate::session::Session;

/// `mosaic config set`.
pub struct Set;

/// The options of `mosaic config set`.
#[derive(Debug, Deserialize)]
pub struct SetOptions {
    /// The dotted key.
    pub key: String,
    /// The value; `None` reads it from stdin.
    pub value: Option<String>,
}

impl Builtin for Set {
    type Options = SetOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("set", "Set a configuration value in config.json")
            .long_about(
                "Set KEY to VALUE in config.json. VALUE is read as JSON when it parses \
                 (15, true, [\"a\"]) and as text otherwise. Without VALUE, the value is read \
                 from stdin — required for secrets, which are never accepted as arguments. \
                 A config.json that is not valid JSON is never overwritten.",
            )
            .arg(
                ArgSpec::positional("key", "Dotted key, e.g. fleet.default_runtime")
                    .required()
                    .value_name("KEY"),
            )
            .arg(
                ArgSpec::positional("value", "The value; omit to read it from stdin")
                    .value_name("VALUE"),
            )
            .example("config set fleet.default_runtime codex", "")
            .example("config set fleet.heartbeat_interval 10", "")
            .with_example(Example::new(
                "config set gateway.anthropic_api_key",
                "A secret, read from stdin: printf %s \"$KEY\" | mosaic config set gateway.anthropic_api_key",
            ))
    }

    fn run(session: &Session, options: SetOptions) -> Result<i32> {
        set(session, options)
    }
}

/// Reads one line from the terminal with echo off (restored afterwards).
fn read_hidden_line() -> std::io::Result<String> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin).map_err(std::io::Error::from)?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet).map_err(std::io::Error::from)?;
    let mut line = String::new();
    let read = stdin.read_line(&mut line);
    let _ = tcsetattr(&stdin, SetArg::TCSANOW, &saved);
    eprintln!();
    read.map(|_| line)
}

/// Writes the value.
fn set(session: &Session, options: SetOptions) -> Result<i32> {
    let SetOptions { key, value } = options;
    let secret = is_secret_key(&declared_keys(session), &key);
    let value = match value {
        Some(_) if secret => bail!(
            "`{key}` is a secret: pass it on stdin, not as an argument \
             (e.g. `printf %s \"$VALUE\" | mosaic config set {key}`)"
        ),
        Some(text) if has_url_credentials(&Value::String(text.clone())) => bail!(
            "the value for `{key}` holds a password in a URL: pass it on stdin, not as an \
             argument (e.g. `printf %s \"$URL\" | mosaic config set {key}`)"
        ),
        Some(text) => config::parse_cli_value(&text),
        None => {
            let read = if mosaic_plugin_api::sdk::term::stdin_is_tty() {
                eprint!("Value for `{key}` (not shown; Enter to finish): ");
                read_hidden_line()
            } else {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text).map(|_| text)
            };
            let text = read.context("cannot read the value from stdin")?;
            let text = text.trim_end_matches(['\n', '\r']).to_string();
            if text.is_empty() {
                bail!("no value given for `{key}` (argument or stdin)");
            }
            if secret {
                Value::String(text)
            } else {
                config::parse_cli_value(&text)
            }
        }
    };
    config::update(&session.dirs.config, |root| config::set(root, &key, value))?;
    eprintln!(
        "set {key} in {}",
        config::config_path(&session.dirs.config).display()
    );
    Ok(0)
}
