//! `mosaic wizard [--yes] [--only LIST] [--skip LIST]`: the first-run setup.

use std::io::Write;

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context, Example};
use serde::Deserialize;

use crate::apply::{apply, check_gateway, StepResult};
use crate::components::{self, Component, ALL_COMPONENTS};
use crate::environment::{self, Environment};
use crate::interrupt::InterruptGuard;
use crate::plan::{FleetAnswers, Plan};
use crate::prompts::{self, Aborted};
use crate::record::{previous_components, record_completion};

/// `mosaic wizard`.
pub struct WizardCommand;

impl Command for WizardCommand {
    type Options = WizardOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "wizard",
            "First-run setup: Claude hooks, the gateway, fleet defaults",
        )
        .long_about(
            "Check this machine, choose what to set up (Claude Code hooks, the gateway \
             daemon, fleet defaults), and apply it by running `mosaic config hooks \
             install`, `mosaic gateway install` and `mosaic config set` for you.\n\n\
             Interactive in a terminal. Headless with --yes, MOSAIC_ASSUME_YES=1 or when \
             stdin is not a terminal: no questions; the gateway reads MOSAIC_ADMIN_NAME, \
             MOSAIC_ADMIN_EMAIL, MOSAIC_ADMIN_PASSWORD (and the other MOSAIC_* gateway \
             variables) from the environment, and invalid values stop the wizard before \
             anything changes. Re-running is safe: current values are the defaults.",
        )
        .arg(
            ArgSpec::flag(
                "yes",
                "Headless: ask nothing, take values from the environment and defaults",
            )
            .short('y'),
        )
        .arg(
            ArgSpec::option(
                "only",
                "Set up only these components (hooks, gateway, fleet)",
            )
            .value_name("LIST")
            .multiple()
            .conflicts_with("skip"),
        )
        .arg(
            ArgSpec::option("skip", "Leave out these components (hooks, gateway, fleet)")
                .value_name("LIST")
                .multiple(),
        )
        .with_example(plugins_example("wizard", "Interactive setup"))
        .with_example(plugins_example(
            "wizard --yes --only hooks",
            "Install the Claude hooks, nothing else, without questions",
        ))
    }

    fn run(context: &Context<'_>, options: WizardOptions) -> Result<i32> {
        run_wizard(context, &options)
    }
}

/// An example that sets up components of other plugins. The in-process test
/// harness has no other plugin, so there the wizard skips every component and
/// exits 1; the plugin's tests check that it does so for that reason and no other.
fn plugins_example(command: &str, description: &str) -> Example {
    Example::new(command, description).expect_exit_code(1)
}

/// What the command needs (its arguments, by name).
#[derive(Debug, Clone, Deserialize)]
pub struct WizardOptions {
    /// `--yes` (the argument `yes`).
    #[serde(rename = "yes")]
    pub assume_yes: bool,
    /// `--only`.
    pub only: Vec<String>,
    /// `--skip`.
    pub skip: Vec<String>,
}

/// The fleet values of a headless run: environment, else config.json, else the
/// defaults — checked with the fleet's rules before anything is applied.
fn headless_fleet(
    context: &Context<'_>,
    environment: &Environment,
) -> Result<FleetAnswers, String> {
    let pick =
        |variable: &'static str, key: &'static str, default: &'static str| -> (String, String) {
            match context.env(variable).filter(|value| !value.is_empty()) {
                Some(value) => (value, variable.to_string()),
                None => match environment.config_text(key) {
                    Some(value) => (value, key.to_string()),
                    None => (default.to_string(), "default".to_string()),
                },
            }
        };
    let (runtime, runtime_source) = pick("MOSAIC_FLEET_RUNTIME", "fleet.default_runtime", "claude");
    let (interval, interval_source) = pick(
        "MOSAIC_HEARTBEAT_INTERVAL",
        "fleet.heartbeat_interval",
        "15",
    );
    FleetAnswers::from_text((&runtime, &runtime_source), (&interval, &interval_source))
}

/// Asks everything; `Ok(None)` when the user chose to change nothing.
fn interactive_plan(
    context: &Context<'_>,
    environment: &Environment,
    mut plan: Plan,
    available: &[Component],
) -> Result<Option<Plan>, Aborted> {
    let theme = prompts::theme(context);
    if environment.previous_run.is_some() {
        let done = previous_components(environment.previous_run.as_ref());
        let summary = format!(
            "Mosaic is already set up ({}); current values are the defaults.",
            if done.is_empty() {
                "no components".to_string()
            } else {
                done.join(", ")
            }
        );
        if !prompts::confirm_change(theme.as_ref(), &summary)? {
            return Ok(None);
        }
    }
    plan.components = prompts::choose_components(theme.as_ref(), available)?;
    if plan.components.contains(&Component::Gateway) {
        plan.gateway = Some(prompts::ask_gateway(theme.as_ref(), environment)?);
    }
    if plan.components.contains(&Component::Fleet) {
        plan.fleet = Some(prompts::ask_fleet(theme.as_ref(), environment)?);
    }
    if plan.components.is_empty() {
        return Ok(None);
    }
    eprintln!("\nSummary:");
    for component in &plan.components {
        eprintln!("  {}", component.title());
        let details = match component {
            Component::Hooks => {
                vec!["install Mosaic's hooks into Claude Code's settings".to_string()]
            }
            Component::Gateway => plan
                .gateway
                .as_ref()
                .map(|answers| answers.describe())
                .unwrap_or_default(),
            Component::Fleet => plan
                .fleet
                .as_ref()
                .map(|fleet| {
                    vec![format!(
                        "runtime {}, heartbeat every {}s",
                        fleet.default_runtime, fleet.heartbeat_interval
                    )]
                })
                .unwrap_or_default(),
        };
        for detail in details {
            eprintln!("    {detail}");
        }
    }
    if prompts::confirm_plan(theme.as_ref(), &plan)? {
        Ok(Some(plan))
    } else {
        Ok(None)
    }
}

/// The wizard: check, ask (or read), validate, apply, report, record.
pub fn run_wizard(context: &Context<'_>, options: &WizardOptions) -> Result<i32> {
    let selected = match components::select(&options.only, &options.skip) {
        Ok(selected) => selected,
        Err(error) => {
            writeln!(context.err(), "error: {error}")?;
            return Ok(2);
        }
    };
    let headless = options.assume_yes || !context.can_prompt();
    let guard = InterruptGuard::install();
    let environment = environment::inspect(context);
    let mut err = context.err();
    writeln!(
        err,
        "Welcome to Mosaic {}. Checking this machine:",
        context.host_version()
    )?;
    for line in environment::describe(&environment) {
        writeln!(err, "  {line}")?;
    }
    drop(err);

    let mut plan = Plan::default();
    let mut available = Vec::new();
    for component in selected {
        if environment.has_plugin(component.plugin()) {
            available.push(component);
        } else {
            plan.skipped.push((
                component,
                format!("{} plugin not installed — skipped", component.plugin()),
            ));
        }
    }
    for (_, reason) in &plan.skipped {
        writeln!(context.err(), "{reason}")?;
    }

    let plan = if headless {
        plan.components = available;
        if plan.components.contains(&Component::Fleet) {
            match headless_fleet(context, &environment) {
                Ok(fleet) => plan.fleet = Some(fleet),
                Err(problem) => {
                    writeln!(context.err(), "error: fleet defaults: {problem}")?;
                    writeln!(context.err(), "wizard: nothing was changed")?;
                    return Ok(1);
                }
            }
        }
        plan
    } else {
        context.flush();
        match interactive_plan(context, &environment, plan, &available) {
            Ok(Some(plan)) => plan,
            Ok(None) => {
                writeln!(context.err(), "Nothing was changed.")?;
                return Ok(0);
            }
            Err(Aborted) => {
                writeln!(context.err(), "\nwizard: input ended, nothing was changed")?;
                return Ok(130);
            }
        }
    };
    if plan.components.is_empty() {
        writeln!(
            context.err(),
            "Nothing to set up: none of the selected components' plugins is installed."
        )?;
        return Ok(i32::from(!plan.skipped.is_empty()));
    }

    // Validate before anything changes: the gateway is the one step with inputs
    // that can be wrong (password length, email, port in use, URLs).
    if plan.components.contains(&Component::Gateway) {
        writeln!(context.err(), "\nChecking the gateway settings ...")?;
        let code = check_gateway(context, &plan)?;
        if code != 0 {
            writeln!(
                context.err(),
                "wizard: the gateway settings are not valid (see above); nothing was changed"
            )?;
            return Ok(code);
        }
    }

    guard.start_applying();
    let reports = apply(context, &plan, &guard);
    let applied: Vec<Component> = reports
        .iter()
        .filter(|report| report.result == StepResult::Applied)
        .map(|report| report.component)
        .collect();
    if !applied.is_empty() {
        record_completion(context, &applied)?;
    }

    let mut err = context.err();
    writeln!(err, "\nSetup report:")?;
    for component in ALL_COMPONENTS {
        let line = if let Some(report) = reports.iter().find(|report| report.component == component)
        {
            match &report.result {
                StepResult::Applied => "set up".to_string(),
                StepResult::Skipped(reason) => format!("skipped ({reason})"),
                StepResult::Failed(reason) => format!("FAILED ({reason})"),
            }
        } else if let Some((_, reason)) = plan
            .skipped
            .iter()
            .find(|(skipped, _)| *skipped == component)
        {
            reason.clone()
        } else {
            "not selected".to_string()
        };
        writeln!(err, "  {:<18} {line}", component.title())?;
    }
    writeln!(err, "\nNext steps:")?;
    if applied.contains(&Component::Hooks) {
        writeln!(
            err,
            "  mosaic config hooks list        # the hooks Claude Code now runs"
        )?;
    }
    if applied.contains(&Component::Gateway) {
        writeln!(
            err,
            "  mosaic gateway status           # health, URL, and the dashboard to open in a browser"
        )?;
    }
    if environment.has_plugin("fleet") {
        writeln!(
            err,
            "  mosaic fleet launch my-agent    # start an agent in tmux, then `mosaic fleet ps`"
        )?;
    }
    drop(err);

    if guard.interrupted() {
        writeln!(
            context.err(),
            "wizard: interrupted; the steps marked `set up` were applied"
        )?;
        return Ok(130);
    }
    let failed = reports
        .iter()
        .any(|report| matches!(report.result, StepResult::Failed(_)));
    Ok(i32::from(failed))
}
