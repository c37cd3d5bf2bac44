//! `delete-root-or-home`: `rm` with `-r`/`-R`/`--recursive` of `/`, `/*`, `~`,
//! `$HOME` or the home path, and `rm -r *` or `.` while in `/` or home.

use crate::guard::{Denial, GuardSettings, Program, RuleId, Situation};

/// Blocks a recursive `rm` whose target is the root or the home directory.
pub fn check(
    program: &Program<'_>,
    _settings: &GuardSettings,
    situation: &Situation,
) -> Option<Denial> {
    if program.name != "rm" {
        return None;
    }
    let mut recursive = false;
    let mut options_done = false;
    let mut targets = Vec::new();
    for word in program.arguments {
        let text = word.text.as_str();
        if !options_done && text == "--" {
            options_done = true;
        } else if !options_done && text.starts_with("--") {
            recursive |= text == "--recursive";
        } else if !options_done && text.len() > 1 && text.starts_with('-') {
            recursive |= text.contains(['r', 'R']);
        } else {
            targets.push(text);
        }
    }
    if !recursive {
        return None;
    }
    targets.into_iter().find_map(|target| {
        dangerous_target(target, situation).map(|what| {
            Denial::builtin(
                RuleId::DeleteRootOrHome,
                format!("`rm -r {target}` would delete {what}"),
            )
        })
    })
}

/// What deleting `target` recursively would destroy, if it is the root or home.
fn dangerous_target(target: &str, situation: &Situation) -> Option<String> {
    let mut path = target.to_string();
    while path.contains("//") {
        path = path.replace("//", "/");
    }
    loop {
        if let Some(stripped) = path.strip_suffix("/*").or_else(|| path.strip_suffix("/.")) {
            path = stripped.to_string();
        } else if path.len() > 1 && path.ends_with('/') {
            path.pop();
        } else {
            break;
        }
    }
    let home = situation
        .home
        .as_ref()
        .map(|home| home.to_string_lossy().trim_end_matches('/').to_string());
    let is_home = |path: &str| {
        matches!(path, "~" | "$HOME" | "${HOME}")
            || home
                .as_deref()
                .is_some_and(|home| !home.is_empty() && home == path)
    };
    if path.is_empty() || path == "/" {
        return Some("the whole file system (/)".to_string());
    }
    if is_home(&path) {
        return Some("the home directory".to_string());
    }
    if matches!(path.as_str(), "*" | "." | "./*" | "./") {
        let cwd = situation
            .cwd
            .as_ref()?
            .to_string_lossy()
            .trim_end_matches('/')
            .to_string();
        if cwd.is_empty() {
            return Some("everything in / (the working directory)".to_string());
        }
        if is_home(&cwd) {
            return Some("everything in the home directory (the working directory)".to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::guard::test_support::rule_of;
    use crate::guard::{check, GuardSettings, RuleId, Situation};

    #[test]
    fn blocks_recursive_deletes_of_root_and_home() {
        for command in [
            "rm -rf /",
            "rm -fr /*",
            "rm -r -f ~",
            "rm --recursive --force $HOME",
            "rm -rf \"$HOME\"/",
            "sudo rm -rf --no-preserve-root /",
            "sudo -u root rm -Rf //",
            "rm -rf ~/",
            "rm -rf /home/ada",
            "cd /tmp && rm -rf ${HOME}",
            "echo $(rm -rf /)",
            "bash -c 'rm -rf ~'",
            "if true; then rm -rf /; fi",
            "env FOO=1 nice -n 5 rm -rf /",
            "/bin/rm -rf /",
            "rm -rf -- /",
        ] {
            assert_eq!(
                rule_of(command).as_deref(),
                Some(RuleId::DeleteRootOrHome.as_str()),
                "{command}"
            );
        }
    }

    #[test]
    fn allows_ordinary_deletes() {
        for command in [
            "rm -rf build",
            "rm -rf /tmp/x",
            "rm -f /",
            "rm -rf ./target",
            "rm -rf ~/project/build",
            "rm -rf build; ls /",
            "echo rm -rf /",
            "git rm -r --cached .",
            "rm -rf *",
            "cat > notes.md <<'EOF'\nrm -rf /\nEOF",
        ] {
            assert_eq!(rule_of(command), None, "{command}");
        }
    }

    #[test]
    fn star_in_home_or_root_is_blocked() {
        let at = |cwd: &str| Situation {
            cwd: Some(PathBuf::from(cwd)),
            home: Some(PathBuf::from("/home/ada")),
        };
        let settings = GuardSettings::default();
        assert!(check("rm -rf *", &settings, &at("/home/ada")).is_some());
        assert!(check("rm -rf .", &settings, &at("/")).is_some());
        assert!(check("rm -rf *", &settings, &at("/home/ada/project")).is_none());
    }
}
