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

use serde::Deserialize;
use serde_json::{json, Value};

/// The hook input fields Mosaic reads; every other field is ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct HookInput {
    /// Claude Code's session id.
    #[serde(default)]
    pub session_id: Option<String>,
    /// The session's working directory.
    #[serde(default)]
    pub cwd: Option<String>,
    /// The event (`PreToolUse`, `Stop`, …).
    #[serde(default)]
    pub hook_event_name: Option<String>,
    /// The tool of a tool event (`Bash`, `Edit`, …).
    #[serde(default)]
    pub tool_name: Option<String>,
    /// The tool's arguments (`{"command": "…"}` for Bash).
    #[serde(default)]
    pub tool_input: Option<Value>,
    /// Why the session started (`startup`, `resume`, `clear`, `compact`).
    #[serde(default)]
    pub source: Option<String>,
}

impl HookInput {
    /// Parses the JSON Claude Code wrote on stdin.
    pub fn parse(text: &str) -> serde_json::Result<HookInput> {
        serde_json::from_str(text)
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
