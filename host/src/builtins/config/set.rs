//! `mosaic config set KEY [VALUE]`: change one value in config.json, atomically and
//! under a lock. A secret is read from stdin, never taken from argv (other users can
//! read a process's arguments).

use std::io::Read;

use clap::{Arg, ArgMatches, Command};
use mosaic_plugin_api::sdk::config;
use serde_json::Value;

use crate::app::App;
use crate::builtins::config::{declared_keys, has_url_credentials, is_secret_key};
use crate::builtins::fail;

/// Declares the command.
pub fn command() -> Command {
    Command::new("set")
        .about("Set a configuration value in config.json")
        .long_about(
            "Set KEY to VALUE in config.json. VALUE is read as JSON when it parses \
             (15, true, [\"a\"]) and as text otherwise. Without VALUE, the value is read \
             from stdin — required for secrets, which are never accepted as arguments. \
             A config.json that is not valid JSON is never overwritten.",
        )
        .arg(
            Arg::new("key")
                .required(true)
                .value_name("KEY")
                .help("Dotted key, e.g. fleet.default_runtime"),
        )
        .arg(
            Arg::new("value")
                .value_name("VALUE")
                .help("The value; omit to read it from stdin"),
        )
        .after_help(
            "Examples:\n  mosaic config set fleet.default_runtime codex\n  \
             mosaic config set fleet.heartbeat_interval 10\n  \
             printf %s \"$KEY\" | mosaic config set gateway.anthropic_api_key",
        )
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
pub fn run(app: &App, matches: &ArgMatches) -> i32 {
    let key = matches
        .get_one::<String>("key")
        .cloned()
        .unwrap_or_default();
    let secret = is_secret_key(&declared_keys(app), &key);
    let value = match matches.get_one::<String>("value") {
        Some(_) if secret => {
            return fail(format!(
                "`{key}` is a secret: pass it on stdin, not as an argument \
                 (e.g. `printf %s \"$VALUE\" | mosaic config set {key}`)"
            ))
        }
        Some(text) if has_url_credentials(&Value::String(text.clone())) => {
            return fail(format!(
                "the value for `{key}` holds a password in a URL: pass it on stdin, not as an \
                 argument (e.g. `printf %s \"$URL\" | mosaic config set {key}`)"
            ))
        }
        Some(text) => config::parse_cli_value(text),
        None => {
            let read = if mosaic_plugin_api::sdk::term::stdin_is_tty() {
                eprint!("Value for `{key}` (not shown; Enter to finish): ");
                read_hidden_line()
            } else {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text).map(|_| text)
            };
            let text = match read {
                Ok(text) => text,
                Err(error) => return fail(format!("cannot read the value from stdin: {error}")),
            };
            let text = text.trim_end_matches(['\n', '\r']).to_string();
            if text.is_empty() {
                return fail(format!("no value given for `{key}` (argument or stdin)"));
            }
            if secret {
                Value::String(text)
            } else {
                config::parse_cli_value(&text)
            }
        }
    };
    match config::update(&app.dirs.config, |root| config::set(root, &key, value)) {
        Ok(()) => {
            eprintln!(
                "set {key} in {}",
                config::config_path(&app.dirs.config).display()
            );
            0
        }
        Err(error) => fail(format!("{error:#}")),
    }
}
