//! `mosaic config hooks run <HOOK>` (hidden): the command Claude Code runs for a
//! Mosaic hook. It reads the hook input JSON on stdin and answers in Claude Code's
//! protocol ([`crate::protocol`]).
//!
//! - `bash-guard` (PreToolUse on Bash): checks the command against the deny-list
//!   ([`crate::guard`]); a match is answered with a PreToolUse "deny" decision whose
//!   reason Claude sees.
//! - `activity` (SessionStart, UserPromptSubmit, PostToolUse, Notification, Stop,
//!   SessionEnd): nothing to decide.
//!
//! Both record the agent's activity in the fleet run dir ([`crate::activity`]) and
//! append a line to the audit log ([`crate::audit`]). When the event changed the
//! agent's state and `fleet.on_state_change` is set, they start that command
//! detached and do not wait for it ([`crate::state_change`]). A problem on Mosaic's side —
//! unreadable input, an invalid config.json, an unwritable run dir — is written to
//! stderr and the audit log, and the hook still exits 0 so Claude's tool call goes
//! on; only a deliberate deny blocks.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use mosaic_plugin_api::anyhow::{Context as _, Result};
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context};
use serde::Deserialize;

use crate::activity::{self, StateChange};
use crate::audit::{self, AuditEntry};
use crate::guard::{self, GuardConfig, GuardSettings, Situation};
use crate::hook_command::mosaic_binary;
use crate::hooks_config::{ACTIVITY, BASH_GUARD};
use crate::protocol::{deny_tool_use, HookInput};
use crate::state_change;

/// `mosaic config hooks run <HOOK>`.
pub struct Run;

/// The arguments of `run`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RunArgs {
    /// The hook: `bash-guard` or `activity`.
    pub hook: String,
}

impl Command for Run {
    type Options = RunArgs;

    fn spec() -> CommandSpec {
        CommandSpec::new("run", "Run a Mosaic hook (Claude Code calls this)")
            .long_about(
                "Run one of Mosaic's hooks: read Claude Code's hook input JSON on stdin and \
                 answer in Claude Code's hook protocol. Claude Code runs this through the \
                 entries `mosaic config hooks install` writes to settings.json; it is not \
                 meant to be typed.",
            )
            .arg(
                ArgSpec::positional("hook", "The hook: bash-guard or activity")
                    .value_name("HOOK")
                    .required(),
            )
            .hidden()
    }

    fn run(context: &Context<'_>, args: RunArgs) -> Result<i32> {
        let hook = args.hook.as_str();
        if context.stdin_is_tty() {
            writeln!(
                context.err(),
                "error: `mosaic config hooks run {hook}` is run by Claude Code and reads its \
                 hook input JSON on stdin; pipe one in, e.g. \
                 echo '{{\"hook_event_name\":\"Stop\"}}' | mosaic config hooks run {hook}"
            )?;
            return Ok(2);
        }
        let mut input = String::new();
        let read = std::io::stdin()
            .read_to_string(&mut input)
            .context("reading the hook input on stdin");
        let environment = HookEnvironment {
            config_dir: context.config_dir(),
            run_dir: context.fleet_run_dir(),
            mosaic_agent: context.env("MOSAIC_AGENT"),
            home: context
                .env("HOME")
                .filter(|home| !home.is_empty())
                .map(PathBuf::from),
            now: SystemTime::now(),
            guard_config: GuardConfig::from_context(context),
            state_change_binary: mosaic_binary(|key| context.env(key)).ok(),
        };
        let mut outcome = handle_hook(&environment, hook, &input);
        if let Err(error) = read {
            outcome.problems.insert(0, format!("{error:#}"));
        }
        if !outcome.stdout.is_empty() {
            writeln!(context.out(), "{}", outcome.stdout)?;
        }
        for problem in &outcome.problems {
            writeln!(context.err(), "mosaic hooks: {problem}")?;
        }
        Ok(0)
    }
}

/// What a hook run may use besides its input.
pub struct HookEnvironment<'a> {
    /// Mosaic's config dir (holds `config.json` and the audit log).
    pub config_dir: PathBuf,
    /// The fleet run dir (activity records).
    pub run_dir: PathBuf,
    /// `MOSAIC_AGENT` as the hook process sees it.
    pub mosaic_agent: Option<String>,
    /// The user's home directory (for the guard's `~` rules).
    pub home: Option<PathBuf>,
    /// The time of the event.
    pub now: SystemTime,
    /// Where the Bash guard's settings come from (read only by `bash-guard`).
    pub guard_config: GuardConfig<'a>,
    /// The `mosaic` that supervises `fleet.on_state_change` (`None`: the command is
    /// not started).
    pub state_change_binary: Option<PathBuf>,
}

/// What a hook run answers.
#[derive(Debug, Clone, PartialEq)]
pub struct HookOutcome {
    /// The JSON answer for Claude Code, if any.
    pub stdout: String,
    /// Problems on Mosaic's side (the hook still succeeds).
    pub problems: Vec<String>,
    /// The audit entry; the log holds it with credentials masked
    /// ([`AuditEntry::redacted`]).
    pub audit: AuditEntry,
}

/// Handles one hook event; never fails (problems are reported in the outcome).
pub fn handle_hook(environment: &HookEnvironment<'_>, hook: &str, input_text: &str) -> HookOutcome {
    let mut problems = Vec::new();
    let (input, readable) = match HookInput::parse(input_text) {
        Ok(input) => (input, true),
        Err(error) => {
            problems.push(format!(
                "the hook input on stdin is not valid JSON: {error}"
            ));
            (HookInput::default(), false)
        }
    };
    let event = input
        .hook_event_name
        .clone()
        .unwrap_or_else(|| "unknown".to_string());
    let since_epoch = environment
        .now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut entry = AuditEntry {
        timestamp_ms: u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX),
        hook: hook.to_string(),
        event: event.clone(),
        session_id: input.session_id.clone(),
        cwd: input.cwd.clone(),
        tool: input.tool_name.clone(),
        command: input.bash_command().map(str::to_string),
        file_path: input.file_path().map(str::to_string),
        ..AuditEntry::default()
    };
    let mut stdout = String::new();
    match hook {
        BASH_GUARD => {
            if let (Some(command), "PreToolUse") = (input.bash_command(), event.as_str()) {
                let settings = guard_settings(environment, &mut problems);
                let situation = Situation {
                    cwd: input.cwd.as_ref().map(PathBuf::from),
                    home: environment.home.clone(),
                };
                match guard::check(command, &settings, &situation) {
                    Some(denial) => {
                        let reason = denial.reason();
                        stdout = deny_tool_use(&reason).to_string();
                        entry.decision = Some("deny".to_string());
                        entry.rule = Some(denial.rule);
                        entry.reason = Some(reason);
                    }
                    None => entry.decision = Some("allow".to_string()),
                }
            }
        }
        ACTIVITY => {}
        other => problems.push(format!(
            "unknown hook `{other}` (this mosaic has {BASH_GUARD} and {ACTIVITY}); run \
             `mosaic config hooks install` to update the hooks"
        )),
    }
    if matches!(hook, BASH_GUARD | ACTIVITY) && readable {
        match activity::agent_key(environment.mosaic_agent.as_deref(), &input) {
            Ok(agent) => {
                let result = activity::record(
                    &environment.run_dir,
                    &agent,
                    &event,
                    &input,
                    since_epoch.as_secs(),
                );
                match result {
                    Ok(Some(change)) => {
                        if let Err(error) = start_state_change(environment, &change) {
                            problems.push(format!("{error:#}"));
                        }
                    }
                    Ok(None) => {}
                    Err(error) => {
                        problems.push(format!("cannot record the agent's activity: {error:#}"))
                    }
                }
                entry.agent = Some(agent);
            }
            Err(error) => problems.push(format!("{error:#}")),
        }
    }
    entry.problems = problems.clone();
    if let Err(error) = audit::append(&environment.config_dir, &entry) {
        problems.push(format!("cannot write the audit log: {error:#}"));
    }
    HookOutcome {
        stdout,
        problems,
        audit: entry,
    }
}

/// Starts `fleet.on_state_change` for `change`, when it is set.
fn start_state_change(environment: &HookEnvironment<'_>, change: &StateChange) -> Result<()> {
    let Some(command) = state_change::configured_command(&environment.config_dir)? else {
        return Ok(());
    };
    match &environment.state_change_binary {
        Some(binary) => state_change::start(binary, &command, change),
        None => Ok(()),
    }
}

/// The guard's settings from config.json; on a broken file, the built-in rules.
fn guard_settings(environment: &HookEnvironment<'_>, problems: &mut Vec<String>) -> GuardSettings {
    let (settings, warnings) = GuardSettings::load(&environment.guard_config);
    problems.extend(warnings);
    settings
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mosaic_plugin_api::sdk::activity::read_activity;
    use serde_json::{json, Value};

    use super::*;

    fn environment(root: &std::path::Path, agent: Option<&str>) -> HookEnvironment<'static> {
        HookEnvironment {
            config_dir: root.join("config"),
            run_dir: root.join("run"),
            mosaic_agent: agent.map(str::to_string),
            home: Some(PathBuf::from("/home/ada")),
            now: UNIX_EPOCH + Duration::from_secs(1_000),
            guard_config: GuardConfig::from_dir(&root.join("config")),
            state_change_binary: None,
        }
    }

    fn bash(command: &str) -> String {
        json!({
            "session_id": "s1", "cwd": "/work", "hook_event_name": "PreToolUse",
            "tool_name": "Bash", "tool_input": {"command": command}
        })
        .to_string()
    }

    fn audit_lines(root: &std::path::Path) -> Vec<Value> {
        std::fs::read_to_string(audit::audit_log_path(&root.join("config")))
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn guard_denies_with_a_reason_and_audits_it() {
        let root = tempfile::tempdir().unwrap();
        let outcome = handle_hook(
            &environment(root.path(), Some("a1")),
            BASH_GUARD,
            &bash("rm -rf ~"),
        );
        let answer: Value = serde_json::from_str(&outcome.stdout).unwrap();
        assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
        let reason = answer["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap();
        assert!(reason.contains("delete-root-or-home"), "{reason}");
        assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
        let lines = audit_lines(root.path());
        assert_eq!(lines[0]["decision"], "deny");
        assert_eq!(lines[0]["command"], "rm -rf ~");
        assert_eq!(lines[0]["agent"], "a1");
        let activity = read_activity(&root.path().join("run"), "a1")
            .unwrap()
            .unwrap();
        assert_eq!(activity.last_event, "PreToolUse");
        assert_eq!(activity.last_event_at, 1_000);
    }

    #[test]
    fn the_audit_log_keeps_commands_without_their_credentials() {
        let root = tempfile::tempdir().unwrap();
        let command = "API_TOKEN=tok1 git push https://ada:pw2@example.com/r.git";
        handle_hook(
            &environment(root.path(), Some("a1")),
            BASH_GUARD,
            &bash(command),
        );
        let lines = audit_lines(root.path());
        assert_eq!(
            lines[0]["command"],
            "API_TOKEN=*** git push https://ada:***@example.com/r.git"
        );
    }

    #[test]
    fn guard_allows_ordinary_commands_silently() {
        let root = tempfile::tempdir().unwrap();
        let outcome = handle_hook(
            &environment(root.path(), None),
            BASH_GUARD,
            &bash("cargo test"),
        );
        assert_eq!(outcome.stdout, "");
        assert_eq!(outcome.audit.decision.as_deref(), Some("allow"));
        assert_eq!(
            outcome.audit.agent.as_deref(),
            Some("s1"),
            "falls back to the session id"
        );
    }

    #[test]
    fn activity_records_the_last_tool() {
        let root = tempfile::tempdir().unwrap();
        let input = json!({
            "session_id": "s1", "cwd": "/work", "hook_event_name": "PostToolUse",
            "tool_name": "Edit", "tool_input": {"file_path": "/work/a.rs"}, "tool_response": {}
        });
        let outcome = handle_hook(
            &environment(root.path(), Some("a1")),
            ACTIVITY,
            &input.to_string(),
        );
        assert_eq!(outcome.stdout, "");
        assert_eq!(outcome.audit.file_path.as_deref(), Some("/work/a.rs"));
        let activity = read_activity(&root.path().join("run"), "a1")
            .unwrap()
            .unwrap();
        assert_eq!(activity.last_tool.as_deref(), Some("Edit"));
    }

    #[test]
    fn mosaic_side_problems_never_block() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("config")).unwrap();
        std::fs::write(root.path().join("config/config.json"), "{ broken").unwrap();
        // A file where the run dir should be: activity cannot be written.
        std::fs::write(root.path().join("run"), "").unwrap();
        let outcome = handle_hook(
            &environment(root.path(), Some("a1")),
            BASH_GUARD,
            &bash("ls"),
        );
        assert_eq!(outcome.stdout, "");
        assert_eq!(outcome.problems.len(), 2, "{:?}", outcome.problems);
        assert!(
            outcome.problems[0].contains("config.json:1:3"),
            "{:?}",
            outcome.problems
        );
        assert!(
            outcome.problems[1].contains("activity"),
            "{:?}",
            outcome.problems
        );
        // The built-in rules still apply while config.json is broken.
        let outcome = handle_hook(
            &environment(root.path(), Some("a1")),
            BASH_GUARD,
            &bash("rm -rf /"),
        );
        assert!(outcome.stdout.contains("deny"));
        for (hook, input) in [(ACTIVITY, "not json"), ("retired", "{}")] {
            let outcome = handle_hook(&environment(root.path(), None), hook, input);
            assert_eq!(outcome.stdout, "");
            assert_eq!(outcome.problems.len(), 1, "{:?}", outcome.problems);
        }
        assert_eq!(audit_lines(root.path()).len(), 4);
    }
}
