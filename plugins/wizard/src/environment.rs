//! The environment check: what is on this machine and what is already set up.
//!
//! Everything is looked up the way the user would see it: programs on `PATH` (as
//! this run sees it), installed plugins from `mosaic plugins list --json`, existing
//! setup from config.json, `~/.claude/hooks-config.json` and `mosaic gateway status
//! --json`. Nothing here changes anything.

use std::path::PathBuf;

use mosaic_plugin_api::sdk::claude::{claude_home, HOOKS_CONFIG_FILE_NAME};
use mosaic_plugin_api::sdk::config;
use mosaic_plugin_api::sdk::programs::find_program;
use mosaic_plugin_api::serde_json::Value;
use mosaic_plugin_api::Context;

/// Agent runtimes the wizard looks for.
pub const RUNTIMES: [&str; 4] = ["claude", "codex", "opencode", "gemini"];

/// What the wizard found.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// `tmux`, if on PATH.
    pub tmux: Option<PathBuf>,
    /// Each known runtime and where it is, if found.
    pub runtimes: Vec<(String, Option<PathBuf>)>,
    /// Names of the plugins that load and work.
    pub installed_plugins: Vec<String>,
    /// The config.json `wizard` section of an earlier run, if any.
    pub previous_run: Option<Value>,
    /// Whether Mosaic's hooks record exists in CLAUDE_HOME.
    pub hooks_installed: bool,
    /// `gateway status --json`, when the gateway plugin answered.
    pub gateway_status: Option<Value>,
    /// The whole config.json (for existing values as defaults).
    pub config: Value,
}

impl Environment {
    /// Whether a plugin is installed and working.
    pub fn has_plugin(&self, name: &str) -> bool {
        self.installed_plugins.iter().any(|plugin| plugin == name)
    }

    /// Whether the gateway reports being installed.
    pub fn gateway_installed(&self) -> bool {
        self.gateway_status
            .as_ref()
            .and_then(|status| status.get("installed"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// Whether the gateway reports an admin user (then no admin is asked for).
    pub fn gateway_has_admin(&self) -> bool {
        self.gateway_status
            .as_ref()
            .and_then(|status| status.get("admin_present"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// A string value from config.json.
    pub fn config_text(&self, key: &str) -> Option<String> {
        config::get(&self.config, key).and_then(|value| match value {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        })
    }
}

/// Finds `program` in the `PATH` this run sees.
pub fn find_on_path(context: &Context<'_>, program: &str) -> Option<PathBuf> {
    find_program(program, context.env("PATH").as_deref())
}

fn captured_json(context: &Context<'_>, argv: &[&str]) -> Option<Value> {
    match context.invoke_captured(argv, &[]) {
        Ok((_, stdout)) => mosaic_plugin_api::serde_json::from_str(&stdout).ok(),
        Err(_) => None,
    }
}

/// Looks at the machine.
pub fn inspect(context: &Context<'_>) -> Environment {
    let installed_plugins = captured_json(context, &["plugins", "list", "--json"])
        .and_then(|value| value.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter(|plugin| plugin.get("status").and_then(Value::as_str) == Some("ok"))
        .filter_map(|plugin| {
            plugin
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect::<Vec<_>>();
    let config = config::load(&context.config_dir()).unwrap_or(Value::Null);
    let gateway_status = if installed_plugins.iter().any(|name| name == "gateway") {
        captured_json(context, &["gateway", "status", "--json"])
    } else {
        None
    };
    Environment {
        tmux: find_on_path(context, "tmux"),
        runtimes: RUNTIMES
            .iter()
            .map(|name| (name.to_string(), find_on_path(context, name)))
            .collect(),
        previous_run: config::get(&config, "wizard").cloned(),
        hooks_installed: claude_home(|key| context.env(key))
            .is_ok_and(|home| home.join(HOOKS_CONFIG_FILE_NAME).is_file()),
        installed_plugins,
        gateway_status,
        config,
    }
}

/// The environment check as lines for people.
pub fn describe(environment: &Environment) -> Vec<String> {
    let found = |path: &Option<PathBuf>| match path {
        Some(path) => format!("found ({})", path.display()),
        None => "not found".to_string(),
    };
    let mut lines = vec![format!("tmux:      {}", found(&environment.tmux))];
    for (name, path) in &environment.runtimes {
        lines.push(format!("{name:<10} {}", found(path)));
    }
    lines.push(format!(
        "plugins:   {}",
        if environment.installed_plugins.is_empty() {
            "none".to_string()
        } else {
            environment.installed_plugins.join(", ")
        }
    ));
    lines.push(format!(
        "hooks:     {}",
        if environment.hooks_installed {
            "installed"
        } else {
            "not installed"
        }
    ));
    lines.push(format!(
        "gateway:   {}",
        match (&environment.gateway_status, environment.gateway_installed()) {
            (None, _) => "unknown".to_string(),
            (Some(_), false) => "not installed".to_string(),
            (Some(status), true) => format!(
                "installed{}",
                status
                    .get("url")
                    .and_then(Value::as_str)
                    .map(|url| format!(" at {url}"))
                    .unwrap_or_default()
            ),
        }
    ));
    if let Some(completed) = environment
        .previous_run
        .as_ref()
        .and_then(|run| run.get("completed_at"))
        .and_then(Value::as_str)
    {
        lines.push(format!("last run:  {completed}"));
    }
    lines
}
