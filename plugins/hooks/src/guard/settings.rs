//! The guard's configuration: the `hooks.bash_guard.*` keys of `config.json`,
//! declared in the plugin's manifest ([`config_keys`]) and read through the SDK's
//! resolution of declared keys ([`GuardConfig`]).
//!
//! Reading is forgiving: a value that is wrong is skipped (its default used) and
//! described in a warning naming where it came from, so a typo in the configuration
//! never switches the whole guard off; with a `config.json` that is not valid JSON
//! the built-in rules still apply.

use std::path::PathBuf;

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::sdk::config::{self, ValueSource};
use mosaic_plugin_api::{ConfigKeySpec, Context, ValueCheck};
use serde_json::{json, Value};

use super::rules::extra_rules::ExtraRule;
use super::RuleId;

/// `config.json` key: built-in rule ids that are turned off.
pub const DISABLED_RULES_KEY: &str = "hooks.bash_guard.disabled_rules";
/// `config.json` key: the user's deny patterns.
pub const EXTRA_RULES_KEY: &str = "hooks.bash_guard.extra_rules";
/// `config.json` key: branches that must not be force-pushed or deleted.
pub const PROTECTED_BRANCHES_KEY: &str = "hooks.bash_guard.protected_branches";

/// Branches protected when the configuration names none.
pub const DEFAULT_PROTECTED_BRANCHES: &[&str] = &["main", "master"];

/// The declarations of the guard's `config.json` keys, for the manifest.
pub fn config_keys() -> Vec<ConfigKeySpec> {
    vec![
        ConfigKeySpec::new(
            DISABLED_RULES_KEY,
            &format!("Built-in Bash guard rules to turn off ({})", RuleId::list()),
        )
        .default_value(json!([]))
        .check(ValueCheck::list_of(ValueCheck::choice(
            &RuleId::ALL.map(RuleId::as_str),
        ))),
        ConfigKeySpec::new(
            EXTRA_RULES_KEY,
            "More commands to block: [{\"pattern\": \"<regex>\", \"reason\": \
             \"<shown to Claude>\"}]",
        )
        .default_value(json!([]))
        .check(ValueCheck::list()),
        ConfigKeySpec::new(
            PROTECTED_BRANCHES_KEY,
            "Branches that must not be force-pushed or deleted (`prefix*` globs)",
        )
        .default_value(json!(DEFAULT_PROTECTED_BRANCHES))
        .check(ValueCheck::list_of(ValueCheck::Text {
            max_len: None,
            non_blank: true,
        })),
    ]
}

/// The guard's settings.
#[derive(Debug, Clone)]
pub struct GuardSettings {
    /// Built-in rules that are turned off.
    pub disabled_rules: Vec<RuleId>,
    /// User rules: regular expressions matched against the command line.
    pub extra_rules: Vec<ExtraRule>,
    /// Branch names (or `prefix*` globs) that must not be force-pushed or deleted.
    pub protected_branches: Vec<String>,
}

impl Default for GuardSettings {
    fn default() -> Self {
        GuardSettings {
            disabled_rules: Vec::new(),
            extra_rules: Vec::new(),
            protected_branches: DEFAULT_PROTECTED_BRANCHES
                .iter()
                .map(|branch| branch.to_string())
                .collect(),
        }
    }
}

/// The effective value of a declared key and where it came from (`None`: unset and
/// without a default); an error means `config.json` cannot be read.
type Lookup<'a> = Box<dyn Fn(&str) -> Result<Option<(Value, ValueSource)>> + 'a>;

/// Where the guard's settings come from.
pub struct GuardConfig<'a> {
    /// `config.json`, named in warnings about the values it holds.
    file: PathBuf,
    /// Resolves one of the keys of [`config_keys`].
    lookup: Lookup<'a>,
}

impl<'a> GuardConfig<'a> {
    /// The settings of this run: environment > `config.json` > default, as the SDK
    /// resolves the plugin's declared keys (and as `mosaic config show` shows them).
    pub fn from_context(context: &'a Context<'_>) -> Self {
        GuardConfig {
            file: config::config_path(&context.config_dir()),
            lookup: Box::new(move |key| context.config_value(key)),
        }
    }
}

/// Settings without a plugin [`Context`], for tests and tools: the same resolution
/// of the declared keys as [`GuardConfig::from_context`], minus the environment
/// overrides (`MOSAIC_*` variables) only a run of the plugin has.
impl GuardConfig<'static> {
    /// What [`GuardConfig::from_context`] reads, for the `config.json` in
    /// `config_dir` (read now; a missing file is an empty configuration).
    pub fn from_dir(config_dir: &std::path::Path) -> Self {
        let loaded = config::load(config_dir).map_err(|error| format!("{error:#}"));
        Self::resolving(config::config_path(config_dir), loaded)
    }

    /// What [`GuardConfig::from_context`] reads, for a `config.json` holding `value`.
    pub fn from_value(value: Value) -> Self {
        Self::resolving(PathBuf::from("config.json"), Ok(value))
    }

    fn resolving(file: PathBuf, loaded: std::result::Result<Value, String>) -> Self {
        use mosaic_plugin_api::anyhow::anyhow;

        let keys = config_keys();
        GuardConfig {
            file,
            lookup: Box::new(move |key| {
                let root = loaded.as_ref().map_err(|error| anyhow!("{error}"))?;
                let spec = keys
                    .iter()
                    .find(|spec| spec.key == key)
                    .ok_or_else(|| anyhow!("config key `{key}` is not declared"))?;
                config::resolve_checked(spec, None, |_| None, root)
            }),
        }
    }
}

impl GuardSettings {
    /// Reads the guard's settings. Each problem found is a warning naming where the
    /// value came from (the file, for `config.json`); with a `config.json` that is not
    /// valid JSON, the built-in rules alone.
    pub fn load(config: &GuardConfig<'_>) -> (GuardSettings, Vec<String>) {
        Self::read(config).unwrap_or_else(|error| {
            (
                GuardSettings::default(),
                vec![format!(
                    "{error:#}; until it is fixed the Bash guard uses its built-in rules only"
                )],
            )
        })
    }

    fn read(config: &GuardConfig<'_>) -> Result<(GuardSettings, Vec<String>)> {
        let mut settings = GuardSettings::default();
        let mut warnings = Vec::new();
        let origin = |source: &ValueSource| match source {
            ValueSource::File => config.file.display().to_string(),
            other => other.to_string(),
        };
        if let Some((value, source)) = (config.lookup)(DISABLED_RULES_KEY)? {
            match string_list(&value) {
                Some(ids) => {
                    for id in &ids {
                        match id.parse::<RuleId>() {
                            Ok(rule) => settings.disabled_rules.push(rule),
                            Err(unknown) => warnings.push(format!(
                                "{}: {DISABLED_RULES_KEY}: {unknown}",
                                origin(&source)
                            )),
                        }
                    }
                }
                None => warnings.push(format!(
                    "{}: {DISABLED_RULES_KEY} must be a list of rule ids; ignored",
                    origin(&source)
                )),
            }
        }
        if let Some((value, source)) = (config.lookup)(PROTECTED_BRANCHES_KEY)? {
            match string_list(&value) {
                Some(branches) => settings.protected_branches = branches,
                None => warnings.push(format!(
                    "{}: {PROTECTED_BRANCHES_KEY} must be a list of branch names; using main \
                     and master",
                    origin(&source)
                )),
            }
        }
        match (config.lookup)(EXTRA_RULES_KEY)? {
            None => {}
            Some((Value::Array(rules), source)) => {
                for (index, rule) in rules.iter().enumerate() {
                    match ExtraRule::from_config(rule) {
                        Ok(rule) => settings.extra_rules.push(rule),
                        Err(problem) => warnings.push(format!(
                            "{}: {EXTRA_RULES_KEY}[{index}] {problem}; this rule is not \
                             enforced until it is fixed (the built-in rules are): correct or \
                             remove it with `mosaic config set {EXTRA_RULES_KEY} '[…]'`",
                            origin(&source)
                        )),
                    }
                }
            }
            Some((_, source)) => warnings.push(format!(
                "{}: {EXTRA_RULES_KEY} must be a list of {{\"pattern\": …, \"reason\": …}}; \
                 ignored",
                origin(&source)
            )),
        }
        Ok((settings, warnings))
    }

    /// Whether the built-in `rule` is on.
    pub fn enabled(&self, rule: RuleId) -> bool {
        !self.disabled_rules.contains(&rule)
    }

    /// Whether `branch` is protected: named, or matched by a `prefix*` glob.
    pub fn is_protected(&self, branch: &str) -> bool {
        self.protected_branches
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => branch.starts_with(prefix),
                None => branch == pattern,
            })
    }
}

fn string_list(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|item| item.as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::guard::check;
    use crate::guard::test_support::situation;

    fn from_config(value: Value) -> (GuardSettings, Vec<String>) {
        GuardSettings::load(&GuardConfig::from_value(value))
    }

    #[test]
    fn configuration_disables_rules_adds_patterns_and_branches() {
        let config = json!({"hooks": {"bash_guard": {
            "disabled_rules": ["delete-root-or-home"],
            "extra_rules": [
                {"pattern": "terraform\\s+destroy", "reason": "destroys infrastructure"},
                "kubectl\\s+delete\\s+namespace"
            ],
            "protected_branches": ["release/*"]
        }}});
        let (settings, warnings) = from_config(config);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(check("rm -rf /", &settings, &situation()).is_none());
        let denial = check(
            "cd infra && terraform  destroy -auto-approve",
            &settings,
            &situation(),
        )
        .unwrap();
        assert_eq!(denial.explanation, "destroys infrastructure");
        assert!(denial
            .reason()
            .contains("Mosaic's Bash guard blocked this command"));
        assert!(check("kubectl delete namespace prod", &settings, &situation()).is_some());
        assert!(check("git push -f origin release/1.0", &settings, &situation()).is_some());
        assert!(check("git push -f origin main", &settings, &situation()).is_none());
    }

    #[test]
    fn bad_configuration_is_reported_and_the_rest_still_applies() {
        let config = json!({"hooks": {"bash_guard": {
            "disabled_rules": ["no-such-rule"],
            "extra_rules": [{"pattern": "("}, {"reason": "x"}, 3, "ok-pattern"],
            "protected_branches": "main"
        }}});
        let (settings, warnings) = from_config(config);
        assert_eq!(warnings.len(), 5, "{warnings:?}");
        assert!(warnings[0].contains("unknown rule `no-such-rule`"));
        assert!(warnings
            .iter()
            .all(|warning| warning.starts_with("config.json: ")));
        assert_eq!(settings.extra_rules.len(), 1);
        assert_eq!(settings.protected_branches, ["main", "master"]);
        assert!(check("rm -rf /", &settings, &situation()).is_some());
        // A `bash_guard` that is not a section is reported, and the defaults apply.
        let (settings, warnings) = from_config(json!({"hooks": {"bash_guard": []}}));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("`hooks.bash_guard` is an array, not a section"),
            "{warnings:?}"
        );
        assert_eq!(settings.protected_branches, ["main", "master"]);
    }

    #[test]
    fn loading_names_the_file_the_pattern_and_the_regex_error() {
        let directory = tempfile::tempdir().unwrap();
        let path = config::config_path(directory.path());
        std::fs::write(
            &path,
            r#"{"hooks": {"bash_guard": {"extra_rules": [{"pattern": "(unclosed"}]}}}"#,
        )
        .unwrap();
        let (settings, warnings) = GuardSettings::load(&GuardConfig::from_dir(directory.path()));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let warning = &warnings[0];
        assert!(
            warning.starts_with(&format!(
                "{}: hooks.bash_guard.extra_rules[0]",
                path.display()
            )),
            "{warning}"
        );
        assert!(warning.contains("`(unclosed`"), "{warning}");
        assert!(warning.contains("without closing ')'"), "{warning}");
        assert!(warning.contains("not enforced"), "{warning}");
        assert!(settings.extra_rules.is_empty());
        assert!(check("rm -rf /", &settings, &situation()).is_some());

        std::fs::write(&path, "{ broken").unwrap();
        let (settings, warnings) = GuardSettings::load(&GuardConfig::from_dir(directory.path()));
        assert!(warnings[0].contains("config.json:1:3"), "{warnings:?}");
        assert!(warnings[0].contains("built-in rules only"), "{warnings:?}");
        assert!(check("rm -rf /", &settings, &situation()).is_some());
    }
}
