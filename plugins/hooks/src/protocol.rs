//! Claude Code's hook protocol, the parts Mosaic uses.
//!
//! Claude Code runs a hook command with one JSON object on stdin (common fields
//! `session_id`, `transcript_path`, `cwd`, `hook_event_name`, plus per-event ones
//! such as `tool_name`/`tool_input` for tool events or `source` for SessionStart)
//! and reads the answer from the exit code and stdout: exit 0 continues; exit 2
//! blocks and shows stderr to Claude; any other code is a non-blocking error. For
//! PreToolUse, a JSON answer on stdout with
//! `hookSpecificOutput.permissionDecision = "deny"` blocks the tool call and shows
//! `permissionDecisionReason` to Claude. Mosaic blocks with that JSON answer and
//! exits 0 otherwise, so a failure of `mosaic` itself can never look like a block
//! (see [`crate::hook_command`]).

use mosaic_plugin_api::sdk::fs::json_type_name;
use serde_json::{json, Map, Value};

/// The hook input fields Mosaic reads; every other field is ignored.
///
/// Reading is lenient about the fields, strict about the whole: the input must be
/// one JSON object, but a field of an unexpected type (`"cwd": 5`) is read as
/// absent, and a duplicated field counts once (the last). Otherwise one odd field
/// Mosaic does not even need would make the whole event unreadable, and an
/// unreadable PreToolUse event is let through: the guard would fail open.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HookInput {
    /// Claude Code's session id.
    pub session_id: Option<String>,
    /// The session's working directory.
    pub cwd: Option<String>,
    /// The event (`PreToolUse`, `Stop`, …).
    pub hook_event_name: Option<String>,
    /// The tool of a tool event (`Bash`, `Edit`, …).
    pub tool_name: Option<String>,
    /// The tool's arguments (`{"command": "…"}` for Bash).
    pub tool_input: Option<Value>,
    /// Why the session started (`startup`, `resume`, `clear`, `compact`).
    pub source: Option<String>,
    /// The text of a `Notification` ("Claude needs your permission to use Bash").
    pub message: Option<String>,
    /// The kind of a `Notification` (`permission_prompt`, `idle_prompt`,
    /// `elicitation_dialog`, …; absent in older Claude Code versions).
    pub notification_type: Option<String>,
}

impl HookInput {
    /// Parses the JSON Claude Code wrote on stdin: an error if it is not one JSON
    /// object. A `\uD800`-style escape of half a UTF-16 surrogate pair (which
    /// JavaScript's `JSON.stringify` writes for a lone surrogate, and which Rust
    /// strings cannot hold) is read as U+FFFD rather than refusing the whole input.
    pub fn parse(text: &str) -> serde_json::Result<HookInput> {
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(error) => match replace_lone_surrogates(text) {
                Some(repaired) => serde_json::from_str(&repaired).map_err(|_| error)?,
                None => return Err(error),
            },
        };
        match value {
            Value::Object(fields) => Ok(HookInput::from_fields(fields)),
            other => Err(serde::de::Error::custom(format!(
                "expected one JSON object, found {}",
                json_type_name(&other)
            ))),
        }
    }

    fn from_fields(mut fields: Map<String, Value>) -> HookInput {
        let mut text = |name: &str| match fields.remove(name) {
            Some(Value::String(text)) => Some(text),
            _ => None,
        };
        HookInput {
            session_id: text("session_id"),
            cwd: text("cwd"),
            hook_event_name: text("hook_event_name"),
            tool_name: text("tool_name"),
            source: text("source"),
            message: text("message"),
            notification_type: text("notification_type"),
            tool_input: fields.remove("tool_input").filter(|value| !value.is_null()),
        }
    }

    /// The shell command of a Bash tool call.
    pub fn bash_command(&self) -> Option<&str> {
        if self.tool_name.as_deref() != Some("Bash") {
            return None;
        }
        self.tool_input.as_ref()?.get("command")?.as_str()
    }

    /// The file a file tool (Read, Edit, Write, …) works on.
    pub fn file_path(&self) -> Option<&str> {
        let input = self.tool_input.as_ref()?;
        input
            .get("file_path")
            .or_else(|| input.get("notebook_path"))
            .and_then(Value::as_str)
    }
}

/// `text` with every `\uXXXX` escape of an unpaired UTF-16 surrogate replaced by
/// `\uFFFD`; `None` if there is none. Escapes are read pairwise from the start
/// (`\\uD800` is an escaped backslash and the text `uD800`, left alone).
fn replace_lone_surrogates(text: &str) -> Option<String> {
    fn escaped_unit(bytes: &[u8], at: usize) -> Option<u16> {
        let digits = bytes.get(at..at + 6)?;
        if digits[0] != b'\\' || digits[1] != b'u' {
            return None;
        }
        u16::from_str_radix(std::str::from_utf8(&digits[2..]).ok()?, 16).ok()
    }
    let is_high = |unit: u16| (0xD800..0xDC00).contains(&unit);
    let is_low = |unit: u16| (0xDC00..0xE000).contains(&unit);
    let bytes = text.as_bytes();
    let mut repaired = String::with_capacity(text.len());
    let mut copied = 0;
    let mut changed = false;
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] != b'\\' {
            index += 1;
            continue;
        }
        match escaped_unit(bytes, index) {
            Some(high) if is_high(high) && escaped_unit(bytes, index + 6).is_some_and(is_low) => {
                index += 12;
            }
            Some(unit) if is_high(unit) || is_low(unit) => {
                repaired.push_str(&text[copied..index]);
                repaired.push_str("\\uFFFD");
                index += 6;
                copied = index;
                changed = true;
            }
            Some(_) => index += 6,
            // `\\`, `\"`, `\n`, …: the escaped character is not a new escape.
            None => index += 2,
        }
    }
    changed.then(|| {
        repaired.push_str(&text[copied.min(text.len())..]);
        repaired
    })
}

/// The PreToolUse answer that blocks the tool call and tells Claude why.
pub fn deny_tool_use(reason: &str) -> Value {
    json!({
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": reason,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_real_pre_tool_use_input() {
        // As sent by Claude Code 2.1.197.
        let text = r#"{"session_id":"794fe200","transcript_path":"/h/.claude/projects/x.jsonl","cwd":"/tmp/work","prompt_id":"d3","permission_mode":"default","effort":{"level":"high"},"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"echo hi","description":"test"},"tool_use_id":"toolu_1"}"#;
        let input = HookInput::parse(text).unwrap();
        assert_eq!(input.hook_event_name.as_deref(), Some("PreToolUse"));
        assert_eq!(input.bash_command(), Some("echo hi"));
        assert_eq!(input.cwd.as_deref(), Some("/tmp/work"));
    }

    #[test]
    fn fields_of_another_type_are_absent_and_do_not_hide_the_command() {
        let text = r#"{"session_id":7,"cwd":["/"],"hook_event_name":"PreToolUse","source":{},
            "tool_name":"Bash","tool_input":{"command":"rm -rf /"},"tool_name":"Bash"}"#;
        let input = HookInput::parse(text).unwrap();
        assert_eq!(input.session_id, None);
        assert_eq!(input.cwd, None);
        assert_eq!(input.source, None);
        assert_eq!(input.bash_command(), Some("rm -rf /"));
        for not_an_object in ["[]", "5", "\"x\"", "null", "[null, \"/\", \"PreToolUse\"]"] {
            let error = HookInput::parse(not_an_object).unwrap_err().to_string();
            assert!(error.contains("expected one JSON object"), "{error}");
        }
        assert!(HookInput::parse("{").is_err());
    }

    #[test]
    fn lone_surrogate_escapes_do_not_make_the_input_unreadable() {
        let text = r#"{"hook_event_name":"PreToolUse","tool_name":"Bash",
            "tool_input":{"command":"rm -rf / # \ud800 \\udc00 \ud83d\ude00","description":"\udfff"}}"#;
        let input = HookInput::parse(text).unwrap();
        assert_eq!(
            input.bash_command(),
            Some("rm -rf / # \u{fffd} \\udc00 \u{1f600}")
        );
        assert_eq!(input.tool_input.unwrap()["description"], "\u{fffd}");
        assert_eq!(replace_lone_surrogates(r#""\\ud800 \ud83d\ude00""#), None);
        assert_eq!(
            replace_lone_surrogates(r#""\ud800"#).as_deref(),
            Some(r#""\uFFFD"#)
        );
        assert_eq!(replace_lone_surrogates("\\"), None);
    }

    #[test]
    fn deny_answer_has_claude_codes_field_names() {
        let answer = deny_tool_use("no");
        assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
        assert_eq!(
            answer["hookSpecificOutput"]["permissionDecisionReason"],
            "no"
        );
        assert_eq!(answer["hookSpecificOutput"]["hookEventName"], "PreToolUse");
    }
}
