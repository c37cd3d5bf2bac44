//! The things the wizard can set up, the plugin each needs, and the `--only` /
//! `--skip` selection.

use mosaic_plugin_api::anyhow::{bail, Result};

/// One part of the setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Component {
    /// Mosaic's Claude Code hooks (`mosaic config hooks install`).
    Hooks,
    /// The gateway daemon (`mosaic gateway install`).
    Gateway,
    /// Defaults for `mosaic fleet` (runtime, heartbeat interval) in config.json.
    Fleet,
}

/// Every component, in the order they are applied.
pub const ALL_COMPONENTS: [Component; 3] = [Component::Hooks, Component::Gateway, Component::Fleet];

impl Component {
    /// The name used on the command line and in config.json.
    pub fn name(self) -> &'static str {
        match self {
            Component::Hooks => "hooks",
            Component::Gateway => "gateway",
            Component::Fleet => "fleet",
        }
    }

    /// The plugin that provides it.
    pub fn plugin(self) -> &'static str {
        self.name()
    }

    /// A short description for prompts and reports.
    pub fn title(self) -> &'static str {
        match self {
            Component::Hooks => "Claude Code hooks",
            Component::Gateway => "Gateway daemon",
            Component::Fleet => "Fleet defaults",
        }
    }

    /// Parses a component name.
    pub fn parse(name: &str) -> Option<Component> {
        ALL_COMPONENTS
            .into_iter()
            .find(|component| component.name() == name)
    }
}

fn parse_list(flag: &str, values: &[String]) -> Result<Vec<Component>> {
    let mut components = Vec::new();
    for value in values.iter().flat_map(|value| value.split(',')) {
        let name = value.trim();
        if name.is_empty() {
            continue;
        }
        match Component::parse(name) {
            Some(component) => components.push(component),
            None => bail!(
                "{flag}: unknown component `{name}` (valid: {})",
                ALL_COMPONENTS.map(Component::name).join(", ")
            ),
        }
    }
    Ok(components)
}

/// The components selected by `--only` (if given) minus `--skip`, in apply order.
pub fn select(only: &[String], skip: &[String]) -> Result<Vec<Component>> {
    let only = parse_list("--only", only)?;
    let skip = parse_list("--skip", skip)?;
    Ok(ALL_COMPONENTS
        .into_iter()
        .filter(|component| only.is_empty() || only.contains(component))
        .filter(|component| !skip.contains(component))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| value.to_string()).collect()
    }

    #[test]
    fn only_and_skip_select_in_apply_order() {
        assert_eq!(select(&[], &[]).unwrap(), ALL_COMPONENTS.to_vec());
        assert_eq!(
            select(&strings(&["fleet,hooks"]), &[]).unwrap(),
            vec![Component::Hooks, Component::Fleet]
        );
        assert_eq!(
            select(&[], &strings(&["gateway"])).unwrap(),
            vec![Component::Hooks, Component::Fleet]
        );
    }

    #[test]
    fn unknown_component_names_the_valid_ones() {
        let message = select(&strings(&["hooks,nope"]), &[])
            .unwrap_err()
            .to_string();
        assert!(message.contains("`nope`"), "{message}");
        assert!(message.contains("hooks, gateway, fleet"), "{message}");
    }
}
