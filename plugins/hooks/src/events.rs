//! Claude Code's hook event names, the only words `enable` and `disable` accept.
//!
//! The list is Claude Code's own (checked against Claude Code 2.1.197 and its hooks
//! reference). It is used for validation and help only: Mosaic's hooks are on a few
//! of these events (see [`crate::hooks_config::default_hooks`]).

/// Every hook event Claude Code knows, in the order of its documentation.
pub const CLAUDE_CODE_EVENTS: &[&str] = &[
    "SessionStart",
    "Setup",
    "InstructionsLoaded",
    "UserPromptSubmit",
    "UserPromptExpansion",
    "PreToolUse",
    "PermissionRequest",
    "PermissionDenied",
    "PostToolUse",
    "PostToolUseFailure",
    "PostToolBatch",
    "Notification",
    "MessageDisplay",
    "SubagentStart",
    "SubagentStop",
    "TaskCreated",
    "TaskCompleted",
    "Stop",
    "StopFailure",
    "TeammateIdle",
    "ConfigChange",
    "CwdChanged",
    "FileChanged",
    "WorktreeCreate",
    "WorktreeRemove",
    "PreCompact",
    "PostCompact",
    "Elicitation",
    "ElicitationResult",
    "SessionEnd",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_are_unique() {
        let mut names = CLAUDE_CODE_EVENTS.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CLAUDE_CODE_EVENTS.len());
    }
}
