//! Applying the plan: each component is one (or, for fleet, two) `invoke` of another
//! plugin's command, with a progress line before and a result line after.

use std::io::Write;

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::Context;

use crate::components::Component;
use crate::interrupt::InterruptGuard;
use crate::plan::{headless_overrides, FleetAnswers, Plan};

/// How one component ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepResult {
    /// The command succeeded.
    Applied,
    /// Not attempted, with the reason.
    Skipped(String),
    /// The command failed, with what it said.
    Failed(String),
}

/// One line of the final report.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The component.
    pub component: Component,
    /// How it ended.
    pub result: StepResult,
}

fn run_step(context: &Context<'_>, argv: &[&str], overrides: &[(String, String)]) -> StepResult {
    let overrides: Vec<(&str, &str)> = overrides
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    match context.invoke(argv, &overrides) {
        Ok(0) => StepResult::Applied,
        Ok(code) => StepResult::Failed(format!(
            "`mosaic {}` exited with code {code}",
            argv.join(" ")
        )),
        Err(error) => StepResult::Skipped(format!("{error:#}")),
    }
}

fn apply_fleet(context: &Context<'_>, fleet: &FleetAnswers) -> StepResult {
    let interval = fleet.heartbeat_interval.to_string();
    let settings = [
        [
            "config",
            "set",
            "fleet.default_runtime",
            fleet.default_runtime.as_str(),
        ],
        [
            "config",
            "set",
            "fleet.heartbeat_interval",
            interval.as_str(),
        ],
    ];
    for argv in settings {
        let result = run_step(context, &argv, &[]);
        if result != StepResult::Applied {
            return result;
        }
    }
    StepResult::Applied
}

/// Checks the gateway settings without changing anything (`gateway install
/// --dry-run`). Returns the exit code of the check.
pub fn check_gateway(context: &Context<'_>, plan: &Plan) -> Result<i32> {
    let overrides = match &plan.gateway {
        Some(answers) => answers.env_overrides(),
        None => headless_overrides(),
    };
    let overrides: Vec<(&str, &str)> = overrides
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    context.invoke(&["gateway", "install", "--dry-run"], &overrides)
}

/// Applies every component of the plan, in order, stopping after the current step
/// when Ctrl-C was pressed.
pub fn apply(context: &Context<'_>, plan: &Plan, guard: &InterruptGuard) -> Vec<StepReport> {
    let total = plan.components.len();
    let mut reports = Vec::new();
    for (index, component) in plan.components.iter().copied().enumerate() {
        if guard.interrupted() {
            reports.push(StepReport {
                component,
                result: StepResult::Skipped("not applied: interrupted".to_string()),
            });
            continue;
        }
        let _ = writeln!(
            context.err(),
            "\n[{}/{total}] {} ...",
            index + 1,
            component.title()
        );
        context.flush();
        let result = match component {
            Component::Hooks => run_step(
                context,
                &["config", "hooks", "install"],
                &headless_overrides(),
            ),
            Component::Gateway => {
                let overrides = match &plan.gateway {
                    Some(answers) => answers.env_overrides(),
                    None => headless_overrides(),
                };
                run_step(context, &["gateway", "install"], &overrides)
            }
            Component::Fleet => match &plan.fleet {
                Some(fleet) => apply_fleet(context, fleet),
                None => StepResult::Skipped("no fleet settings".to_string()),
            },
        };
        let line = match &result {
            StepResult::Applied => "done".to_string(),
            StepResult::Skipped(reason) => format!("skipped: {reason}"),
            StepResult::Failed(reason) => format!("FAILED: {reason}"),
        };
        let _ = writeln!(
            context.err(),
            "[{}/{total}] {}: {line}",
            index + 1,
            component.title()
        );
        reports.push(StepReport { component, result });
    }
    reports
}
