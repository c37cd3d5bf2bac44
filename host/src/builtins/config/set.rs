//! `mosaic config set KEY [VALUE]`: change one value in config.json, atomically and
//! under a lock. A secret is read from stdin, never taken from argv (other users can
//! read a process's arguments).

use std::io::Read;

use anyhow::{bail, Context as _, Result};
use mosaic_plugin_api::sdk::{config, config_check};
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
    /// Allow replacing a whole section (an object) with a value that is not one.
    #[serde(default)]
    pub replace: bool,
}

impl Builtin for Set {
    type Options = SetOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("set", "Set a configuration value in config.json")
            .long_about(
                "Set KEY to VALUE in config.json. VALUE is read as JSON when it parses \
                 (15, true, [\"a\"]) and as text otherwise. Without VALUE, the value is read \
                 from stdin — required for secrets, which are never accepted as arguments. \
                 A value a plugin declares a check for (a port range, a set of choices, an \
                 origin, …) is refused when it fails the check. A section (such as \
                 `gateway`) is never replaced by a plain value unless --replace is given. \
                 Keys have at most 8 dotted parts and 128 bytes; values nest at most 32 \
                 levels. A config.json that is not valid JSON is never overwritten, and \
                 sections other than KEY's are written back as they were.",
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
            .arg(ArgSpec::flag(
                "replace",
                "Replace a whole section (e.g. `gateway`) with a value that is not one; \
                 every key in it is lost",
            ))
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
    let SetOptions {
        key,
        value,
        replace,
    } = options;
    config::check_key_limits(&key)?;
    let declared = declared_keys(session);
    let secret = is_secret_key(&declared, &key);
    let value = match value {
        Some(_) if secret => bail!(
            "`{key}` is a secret: pass it on stdin, not as an argument \
             (e.g. `printf %s \"$VALUE\" | mosaic config set {key}`)"
        ),
        Some(text) if has_url_credentials(&Value::String(text.clone())) => bail!(
            "the value for `{key}` holds a password in a URL: pass it on stdin, not as an \
             argument (e.g. `printf %s \"$URL\" | mosaic config set {key}`)"
        ),
        Some(text) => config::parse_set_value(&key, &text)?,
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
                config::parse_set_value(&key, &text)?
            }
        }
    };
    if let Some(check) = declared
        .iter()
        .find(|spec| spec.key == key)
        .and_then(|spec| spec.check.as_ref())
    {
        if let Err(reason) = config_check::check_value(check, &value) {
            if secret || has_url_credentials(&value) {
                bail!("cannot set `{key}`: the value given is not valid: {reason}");
            }
            bail!(
                "cannot set `{key}` to {}: {reason}",
                shown_for_error(&value)
            );
        }
    }
    let section = key.split('.').next().unwrap_or(&key);
    config::update_sections(&session.dirs.config, &[section], |root| {
        if let Some(Value::Object(existing)) = config::get(root, &key) {
            if !value.is_object() && !replace {
                bail!(
                    "`{key}` is a section holding {} key(s); setting it to a plain value would \
                     remove them all. Set a key inside it (`mosaic config set {key}.NAME \
                     VALUE`), or pass --replace to replace the whole section",
                    existing.len()
                );
            }
        }
        config::set(root, &key, value)
    })?;
    eprintln!(
        "set {key} in {}",
        config::config_path(&session.dirs.config).display()
    );
    Ok(0)
}

/// A refused value as an error shows it: JSON, cut after 60 characters.
fn shown_for_error(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((index, _)) => format!("{}…", &text[..index]),
        None => text,
    }
}
