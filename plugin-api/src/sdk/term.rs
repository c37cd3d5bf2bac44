//! Whether a command may talk to a person: terminal detection and the never-prompt
//! rule (`MOSAIC_ASSUME_YES=1`, or stdin is not a terminal, means take the defaults
//! and ask nothing).

use std::io::IsTerminal;

/// `1`, `true`, `yes`, `on` (any case) are true; everything else is false.
pub fn is_truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

/// Whether stdin is a terminal.
pub fn stdin_is_tty() -> bool {
    std::io::stdin().is_terminal()
}

/// Whether stdout is a terminal.
pub fn stdout_is_tty() -> bool {
    std::io::stdout().is_terminal()
}

/// Whether stderr is a terminal.
pub fn stderr_is_tty() -> bool {
    std::io::stderr().is_terminal()
}

/// The never-prompt rule: prompting needs a terminal on stdin and no assume-yes.
pub fn can_prompt(assume_yes: bool, stdin_is_tty: bool) -> bool {
    !assume_yes && stdin_is_tty
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truthy_values() {
        for value in ["1", "true", "YES", " on "] {
            assert!(is_truthy(value), "{value}");
        }
        for value in ["0", "false", "", "no", "2"] {
            assert!(!is_truthy(value), "{value}");
        }
    }

    #[test]
    fn prompting_needs_a_tty_and_no_assume_yes() {
        assert!(can_prompt(false, true));
        assert!(!can_prompt(true, true));
        assert!(!can_prompt(false, false));
    }
}
