//! `mosaic fleet send <AGENT> [TEXT]…`: type a message into an agent's pane and
//! press Enter, as if the user had typed it there.
//!
//! The text is pasted literally (see [`Tmux::paste_text`]): quotes, `;`, `$(…)`
//! and words such as `C-c` or `Enter` arrive as those characters, never as keys,
//! and several lines stay one message for a runtime that uses bracketed paste.

use std::io::Read;
use std::time::Duration;

use mosaic_plugin_api::anyhow::{bail, Context as _, Result};
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context};
use serde::Deserialize;

use super::{note, running_agent, tmux_example};
use crate::tmux::Tmux;

/// The most text one send takes (a paste this size is already far more than a
/// prompt; tmux itself keeps buffers in memory).
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;

/// The pause between the paste and Enter: interactive runtimes (Claude Code's
/// input box among them) read an Enter that arrives in the same read as a paste
/// as part of the paste, a new line rather than "submit".
const PASTE_SETTLE: Duration = Duration::from_millis(150);

/// `mosaic fleet send`.
pub struct Send;

impl Command for Send {
    type Options = SendOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "send",
            "Type a message into an agent's pane and press Enter",
        )
        .long_about(
            "Type TEXT into the agent's tmux pane and press Enter, without attaching. \
                 Several TEXT words are joined with spaces; without TEXT, the text is read \
                 from stdin (trailing newlines dropped). The text arrives exactly as \
                 written: quotes, `;`, `$(…)` and tmux key names such as C-c are typed as \
                 characters, and a text of several lines is pasted as one message (a \
                 runtime that supports bracketed paste, like Claude Code, does not submit \
                 it line by line). The text goes to tmux on stdin, never on a command \
                 line. Put `--` before a TEXT that starts with `-`.",
        )
        .arg(ArgSpec::positional("agent", "The agent to type into").required())
        .arg(
            ArgSpec::positional("text", "The text to type (default: read stdin)")
                .value_name("TEXT")
                .multiple(),
        )
        .arg(ArgSpec::flag(
            "no_enter",
            "Type the text but do not press Enter",
        ))
        .with_example(tmux_example(
            "fleet send reviewer 'Also run the tests, then commit.'",
            "Answer agent `reviewer` without attaching",
        ))
        .with_example(tmux_example(
            "fleet send reviewer --no-enter -- -y",
            "Type a text that starts with `-`, without submitting it",
        ))
    }

    fn run(context: &Context<'_>, options: SendOptions) -> Result<i32> {
        let text = match text_from_words(&options.text) {
            Some(text) => text,
            None => read_stdin_text(context)?,
        };
        send(context, &options.agent, &text, !options.no_enter)?;
        note(
            context,
            &format!(
                "typed {} character{} into agent {}{}",
                text.chars().count(),
                if text.chars().count() == 1 { "" } else { "s" },
                options.agent,
                if options.no_enter {
                    " (Enter not pressed)"
                } else {
                    " and pressed Enter"
                }
            ),
        );
        Ok(0)
    }
}

/// What the command needs (its arguments, by name).
#[derive(Debug, Clone, Deserialize)]
pub struct SendOptions {
    /// The agent name.
    pub agent: String,
    /// The TEXT words (empty: read stdin).
    #[serde(default)]
    pub text: Vec<String>,
    /// `--no-enter`.
    #[serde(default)]
    pub no_enter: bool,
}

/// The TEXT words joined with spaces, or `None` when there are none.
pub fn text_from_words(words: &[String]) -> Option<String> {
    (!words.is_empty()).then(|| words.join(" "))
}

/// The text piped on stdin, without its trailing newlines; an error on a terminal
/// (nothing would end the text) or when it is too long or not UTF-8.
fn read_stdin_text(context: &Context<'_>) -> Result<String> {
    if context.stdin_is_tty() {
        bail!(
            "no TEXT given and stdin is a terminal: give the text as arguments \
             (`mosaic fleet send AGENT 'your message'`) or pipe it \
             (`echo 'your message' | mosaic fleet send AGENT`)"
        );
    }
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_TEXT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .context("cannot read the text from stdin")?;
    if bytes.len() > MAX_TEXT_BYTES {
        bail!(
            "the text on stdin is longer than {MAX_TEXT_BYTES} bytes; send it in parts or \
             put it in a file and ask the agent to read that file"
        );
    }
    let text = String::from_utf8(bytes)
        .context("the text on stdin is not UTF-8; fleet send types text only")?;
    Ok(trim_trailing_newlines(&text).to_string())
}

/// `text` without the line ends at its end (`echo` adds one; Enter is pressed
/// anyway).
pub fn trim_trailing_newlines(text: &str) -> &str {
    text.trim_end_matches(['\n', '\r'])
}

/// Types `text` into the running agent's pane and, with `press_enter`, presses
/// Enter.
pub fn send(context: &Context<'_>, agent: &str, text: &str, press_enter: bool) -> Result<()> {
    if text.len() > MAX_TEXT_BYTES {
        bail!("the text is longer than {MAX_TEXT_BYTES} bytes; send it in parts");
    }
    let (tmux, session) = running_agent(context, agent)?;
    type_into(&tmux, &session, text, press_enter)
}

/// Types `text` into `session` and, with `press_enter`, presses Enter (after a
/// short pause when text was pasted).
pub fn type_into(tmux: &Tmux, session: &str, text: &str, press_enter: bool) -> Result<()> {
    if !text.is_empty() {
        tmux.paste_text(session, text)?;
    }
    if press_enter {
        if !text.is_empty() {
            std::thread::sleep(PASTE_SETTLE);
        }
        tmux.send_keys(session, &["Enter"])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_joined_and_none_means_stdin() {
        assert_eq!(text_from_words(&[]), None);
        let words = ["fix".to_string(), "it; $(now)".to_string()];
        assert_eq!(text_from_words(&words).as_deref(), Some("fix it; $(now)"));
        assert_eq!(text_from_words(&[String::new()]).as_deref(), Some(""));
    }

    #[test]
    fn only_trailing_line_ends_are_dropped() {
        assert_eq!(trim_trailing_newlines("a\nb\n"), "a\nb");
        assert_eq!(trim_trailing_newlines("a\r\n\n"), "a");
        assert_eq!(trim_trailing_newlines("\n  a  "), "\n  a  ");
    }
}
