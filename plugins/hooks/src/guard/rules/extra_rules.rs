//! The user's own rules, `hooks.bash_guard.extra_rules`: regular expressions matched
//! against the whole command line, each with an optional reason shown to Claude.
//! Their denials are named `extra:<pattern>`.

use regex_lite::Regex;
use serde_json::Value;

use crate::guard::Denial;

/// A deny rule from the configuration.
#[derive(Debug, Clone)]
pub struct ExtraRule {
    /// The compiled pattern.
    pub pattern: Regex,
    /// The reason shown to Claude, if the user wrote one.
    pub reason: Option<String>,
}

impl ExtraRule {
    /// One entry of `extra_rules`: a pattern string, or `{"pattern": …, "reason": …}`.
    /// The error says what is wrong with it (it follows the entry's key in warnings).
    pub fn from_config(rule: &Value) -> Result<ExtraRule, String> {
        let (pattern, reason) = match rule {
            Value::String(pattern) => (pattern.as_str(), None),
            Value::Object(fields) => {
                let pattern = fields
                    .get("pattern")
                    .and_then(Value::as_str)
                    .ok_or("needs a string `pattern`")?;
                let reason = match fields.get("reason") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(reason)) => Some(reason.clone()),
                    Some(_) => return Err("has a `reason` that is not a string".to_string()),
                };
                (pattern, reason)
            }
            _ => return Err("must be a pattern string or {\"pattern\": …, \"reason\": …}".into()),
        };
        let pattern = Regex::new(pattern)
            .map_err(|error| format!("has an invalid pattern `{pattern}`: {error}"))?;
        Ok(ExtraRule { pattern, reason })
    }
}

/// The first of `rules` whose pattern matches the command line.
pub fn check(rules: &[ExtraRule], command: &str) -> Option<Denial> {
    rules.iter().find_map(|rule| {
        rule.pattern.is_match(command).then(|| Denial {
            rule: format!("extra:{}", rule.pattern.as_str()),
            explanation: rule.reason.clone().unwrap_or_else(|| {
                format!(
                    "it matches the deny pattern `{}` in config.json (hooks.bash_guard.extra_rules)",
                    rule.pattern.as_str()
                )
            }),
        })
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_rule_without_a_reason_names_its_pattern() {
        let rule = ExtraRule::from_config(&json!("kubectl\\s+delete")).unwrap();
        let denial = check(&[rule], "kubectl  delete ns prod").unwrap();
        assert_eq!(denial.rule, "extra:kubectl\\s+delete");
        assert!(
            denial
                .explanation
                .contains("deny pattern `kubectl\\s+delete`"),
            "{denial:?}"
        );
    }

    #[test]
    fn malformed_rules_say_what_is_wrong() {
        for (rule, problem) in [
            (json!({"pattern": "("}), "has an invalid pattern `(`"),
            (json!({"reason": "x"}), "needs a string `pattern`"),
            (
                json!({"pattern": "x", "reason": 3}),
                "`reason` that is not a string",
            ),
            (json!(3), "must be a pattern string"),
        ] {
            let error = ExtraRule::from_config(&rule).unwrap_err();
            assert!(error.contains(problem), "{rule}: {error}");
        }
    }
}
