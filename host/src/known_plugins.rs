//! The one place the host names first-party plugins: so that `mosaic gateway` on a
//! slim install says which plugin provides it instead of "unrecognized subcommand".

/// `(command words, plugin name)` for every first-party command.
pub const KNOWN_COMMANDS: &[(&[&str], &str)] = &[
    (&["fleet"], "fleet"),
    (&["gateway"], "gateway"),
    (&["wizard"], "wizard"),
    (&["config", "hooks"], "hooks"),
];

/// The first-party plugin that provides the command `words` start with, if any.
pub fn provider_of(words: &[&str]) -> Option<(String, &'static str)> {
    KNOWN_COMMANDS.iter().find_map(|(command, plugin)| {
        (words.len() >= command.len() && words[..command.len()] == **command)
            .then(|| (command.join(" "), *plugin))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_top_level_and_config_commands() {
        assert_eq!(
            provider_of(&["gateway", "status"]),
            Some(("gateway".into(), "gateway"))
        );
        assert_eq!(
            provider_of(&["config", "hooks", "list"]),
            Some(("config hooks".into(), "hooks"))
        );
        assert_eq!(provider_of(&["config", "show"]), None);
        assert_eq!(provider_of(&["nope"]), None);
    }
}
