//! `hooks-config.json`: Mosaic's record of its Claude Code hooks — each hook's
//! event, matcher, command, timeout and enabled flag — and the default hook set.
//!
//! Claude Code never reads this file; it reads `settings.json`, where the enabled
//! records are mirrored (see [`crate::merge`]). The record is what makes `disable`
//! reversible: a disabled hook lives on here, with the place its entry had in
//! `settings.json`, so `enable` can put it back exactly.
//!
//! Fields this version does not know are kept as they are, so an older `mosaic`
//! does not drop what a newer one wrote.

use std::path::Path;

use mosaic_plugin_api::anyhow::{anyhow, bail, Context as _, Result};
use mosaic_plugin_api::sdk::fs::{parse_json_text, write_json_file};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::events::CLAUDE_CODE_EVENTS;
use crate::hook_command::{hook_command, parse_hook_command};

/// The format version written by this plugin.
pub const FORMAT_VERSION: u32 = 1;

/// The name of the hook that guards Bash commands.
pub const BASH_GUARD: &str = "bash-guard";

/// The name of the hook that records agent activity and the audit log.
pub const ACTIVITY: &str = "activity";

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HooksConfig {
    /// The format version.
    #[serde(default = "format_version")]
    pub version: u32,
    /// Mosaic's hooks, enabled or not.
    pub hooks: Vec<HookRecord>,
    /// Fields written by another version of Mosaic.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

fn format_version() -> u32 {
    FORMAT_VERSION
}

/// One Mosaic hook on one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookRecord {
    /// The hook (`bash-guard`, `activity`); the command runs `config hooks run <name>`.
    pub name: String,
    /// The Claude Code event it is attached to.
    pub event: String,
    /// Claude Code's matcher (a tool-name pattern for tool events); none for events
    /// without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matcher: Option<String>,
    /// The command line Claude Code runs.
    pub command: String,
    /// Seconds Claude Code waits before it gives up on the hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// Whether it is mirrored into `settings.json`.
    pub enabled: bool,
    /// What it does, for people reading the file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Where its entry was in `settings.json` before it was disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings_position: Option<SettingsPosition>,
    /// Fields written by another version of Mosaic.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// The place of a removed entry in `settings.json`, so it can be put back there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsPosition {
    /// Index of the event's key in the `hooks` object.
    pub event_index: usize,
    /// Index of the matcher group in the event's array.
    pub group_index: usize,
}

struct DefaultHook {
    name: &'static str,
    event: &'static str,
    matcher: Option<&'static str>,
    timeout: u64,
    description: &'static str,
}

const DEFAULT_HOOKS: &[DefaultHook] = &[
    DefaultHook {
        name: BASH_GUARD,
        event: "PreToolUse",
        matcher: Some("Bash"),
        timeout: 10,
        description:
            "Blocks destructive shell commands (deny-list: hooks.bash_guard in config.json)",
    },
    DefaultHook {
        name: ACTIVITY,
        event: "SessionStart",
        matcher: None,
        timeout: 10,
        description: "Records that the session started",
    },
    DefaultHook {
        name: ACTIVITY,
        event: "UserPromptSubmit",
        matcher: None,
        timeout: 10,
        description: "Records that the agent is working on a prompt",
    },
    DefaultHook {
        name: ACTIVITY,
        event: "PostToolUse",
        matcher: Some("*"),
        timeout: 10,
        description: "Records the last tool used and when",
    },
    DefaultHook {
        name: ACTIVITY,
        event: "Notification",
        matcher: None,
        timeout: 10,
        description: "Records that Claude Code is waiting for the user",
    },
    DefaultHook {
        name: ACTIVITY,
        event: "Stop",
        matcher: None,
        timeout: 10,
        description: "Records that the agent stopped and is idle",
    },
    DefaultHook {
        name: ACTIVITY,
        event: "SessionEnd",
        matcher: None,
        timeout: 10,
        description: "Records that the session ended",
    },
];

/// Mosaic's default hook set, calling `binary`.
pub fn default_hooks(binary: &Path) -> Vec<HookRecord> {
    DEFAULT_HOOKS
        .iter()
        .map(|hook| HookRecord {
            name: hook.name.to_string(),
            event: hook.event.to_string(),
            matcher: hook.matcher.map(str::to_string),
            command: hook_command(binary, hook.name),
            timeout: Some(hook.timeout),
            enabled: true,
            description: hook.description.to_string(),
            settings_position: None,
            other: Map::new(),
        })
        .collect()
}

/// The events Mosaic's default hooks are on, in order, without repeats.
pub fn default_events() -> Vec<&'static str> {
    let mut events: Vec<&'static str> = Vec::new();
    for hook in DEFAULT_HOOKS {
        if !events.contains(&hook.event) {
            events.push(hook.event);
        }
    }
    events
}

impl HooksConfig {
    /// A record file holding `hooks`.
    pub fn new(hooks: Vec<HookRecord>) -> HooksConfig {
        HooksConfig {
            version: FORMAT_VERSION,
            hooks,
            other: Map::new(),
        }
    }

    /// The events that have at least one record, in record order.
    pub fn events(&self) -> Vec<String> {
        let mut events: Vec<String> = Vec::new();
        for record in &self.hooks {
            if !events.contains(&record.event) {
                events.push(record.event.clone());
            }
        }
        events
    }
}

/// Reads `hooks-config.json`; `Ok(None)` when it does not exist. Invalid JSON or
/// an unexpected structure is an error naming the file, line and column.
pub fn load(path: &Path) -> Result<Option<HooksConfig>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    parse(path, &text).map(Some)
}

/// Parses the text of `hooks-config.json` read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<HooksConfig> {
    let value = parse_json_text(path, text)?;
    if !value.is_object() {
        bail!(
            "{}: expected a JSON object like {{\"version\": 1, \"hooks\": [...]}} at the top \
             level; fix it by hand, or delete it and run `mosaic config hooks install`",
            path.display()
        );
    }
    // Parse the text again (not the value) so type errors carry a line and column.
    let config: HooksConfig = serde_json::from_str(text).map_err(|error| {
        anyhow!(
            "{}:{}:{}: not a valid Mosaic hooks record: {}; fix it by hand, or delete it and \
             run `mosaic config hooks install`",
            path.display(),
            error.line(),
            error.column(),
            without_position(&error.to_string())
        )
    })?;
    for (index, record) in config.hooks.iter().enumerate() {
        if !CLAUDE_CODE_EVENTS.contains(&record.event.as_str()) {
            bail!(
                "{}: hooks[{index}] has event `{}`, which is not a Claude Code hook event \
                 (valid: {})",
                path.display(),
                record.event,
                CLAUDE_CODE_EVENTS.join(", ")
            );
        }
        let runs = parse_hook_command(&record.command).map(|command| command.hook);
        if runs.as_deref() != Some(record.name.as_str()) {
            bail!(
                "{}: hooks[{index}] (`{}` on {}) has the command `{}`, which does not run \
                 `mosaic config hooks run {}`; fix it by hand, or delete the file and run \
                 `mosaic config hooks install`",
                path.display(),
                record.name,
                record.event,
                record.command,
                record.name
            );
        }
    }
    Ok(config)
}

/// Writes `hooks-config.json` atomically.
pub fn save(path: &Path, config: &HooksConfig) -> Result<()> {
    let value = serde_json::to_value(config).context("encoding hooks-config.json")?;
    write_json_file(path, &value, None)
}

/// The text `save` writes, for change detection.
pub fn render(config: &HooksConfig) -> Result<String> {
    let mut text = serde_json::to_string_pretty(config).context("encoding hooks-config.json")?;
    text.push('\n');
    Ok(text)
}

/// serde_json ends messages with " at line L column C"; the position is printed first.
pub fn without_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(index) => &message[..index],
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_set_guards_bash_and_records_activity() {
        let hooks = default_hooks(Path::new("/bin/mosaic"));
        let guard = hooks.iter().find(|hook| hook.name == BASH_GUARD).unwrap();
        assert_eq!(guard.event, "PreToolUse");
        assert_eq!(guard.matcher.as_deref(), Some("Bash"));
        for event in ["SessionStart", "PostToolUse", "Stop"] {
            assert!(
                hooks
                    .iter()
                    .any(|hook| hook.name == ACTIVITY && hook.event == event),
                "{event}"
            );
        }
        assert!(default_events().len() >= 6);
        for event in default_events() {
            assert!(CLAUDE_CODE_EVENTS.contains(&event), "{event}");
        }
    }

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let path = Path::new("/c/hooks-config.json");
        let text = r#"{"version":1,"future":true,"hooks":[{"name":"activity","event":"Stop","command":"/m/mosaic config hooks run activity","enabled":true,"color":"red"}]}"#;
        let config = parse(path, text).unwrap();
        let again: Value = serde_json::from_str(&render(&config).unwrap()).unwrap();
        assert_eq!(again["future"], true);
        assert_eq!(again["hooks"][0]["color"], "red");
    }

    #[test]
    fn wrong_types_name_file_line_and_column() {
        let path = Path::new("/c/hooks-config.json");
        let error = parse(path, "{\n  \"hooks\": {\"a\": 1}\n}")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("/c/hooks-config.json:2:11: "), "{error}");
        assert!(error.contains("expected a sequence"), "{error}");
        let error = parse(path, "[1]").unwrap_err().to_string();
        assert!(error.contains("top level"), "{error}");
        let error = parse(path, "{\"hooks\": [").unwrap_err().to_string();
        assert!(
            error.starts_with("/c/hooks-config.json:1:11: invalid JSON"),
            "{error}"
        );
    }

    #[test]
    fn unknown_events_and_foreign_commands_are_refused() {
        let path = Path::new("/c/hooks-config.json");
        let text = r#"{"hooks":[{"name":"activity","event":"Nope","command":"/m/mosaic config hooks run activity","enabled":true}]}"#;
        let error = parse(path, text).unwrap_err().to_string();
        assert!(error.contains("`Nope`"), "{error}");
        let text =
            r#"{"hooks":[{"name":"activity","event":"Stop","command":"rm -rf /","enabled":true}]}"#;
        let error = parse(path, text).unwrap_err().to_string();
        assert!(
            error.contains("does not run `mosaic config hooks run activity`"),
            "{error}"
        );
    }
}
