//! `force-push-protected-branch`: `git push` with `--force`, `-f`,
//! `--force-with-lease` or a `+refspec`, or a branch deletion, that targets a
//! protected branch (`hooks.bash_guard.protected_branches`). A force push that names
//! no branch is checked against the checked-out branch, read from `.git/HEAD`.

use std::path::{Path, PathBuf};

use crate::guard::{Denial, GuardSettings, Program, RuleId, Situation};

/// Blocks a forced push or a deletion of a protected branch.
pub fn check(
    program: &Program<'_>,
    settings: &GuardSettings,
    situation: &Situation,
) -> Option<Denial> {
    if program.name != "git" {
        return None;
    }
    let arguments = program.arguments;
    let mut index = 0;
    let mut directory: Option<PathBuf> = situation.cwd.clone();
    while let Some(word) = arguments.get(index) {
        let text = word.text.as_str();
        if !text.starts_with('-') {
            break;
        }
        if text == "-C" {
            if let Some(target) = arguments.get(index + 1) {
                let base = directory.clone().unwrap_or_default();
                directory = Some(base.join(&target.text));
            }
            index += 2;
        } else if matches!(text, "-c" | "--git-dir" | "--work-tree" | "--namespace") {
            index += 2;
        } else {
            index += 1;
        }
    }
    if arguments.get(index).map(|word| word.text.as_str()) != Some("push") {
        return None;
    }
    let mut force = false;
    let mut every_branch = false;
    let mut delete = false;
    let mut positionals: Vec<&str> = Vec::new();
    let mut rest = arguments[index + 1..].iter();
    while let Some(word) = rest.next() {
        let text = word.text.as_str();
        match text {
            "--force" | "--force-with-lease" => force = true,
            "--all" | "--mirror" | "--branches" => every_branch = true,
            "--delete" => delete = true,
            "--repo" | "--push-option" | "--receive-pack" | "--exec" | "-o" => {
                rest.next();
            }
            _ if text.starts_with("--force-with-lease=") => force = true,
            _ if text.starts_with("--") => {}
            _ if text.len() > 1 && text.starts_with('-') => {
                force |= text.contains('f');
                delete |= text.contains('d');
            }
            _ => positionals.push(text),
        }
    }
    let refspecs = positionals.get(1..).unwrap_or_default();
    let mut targets: Vec<(String, bool)> = Vec::new(); // (branch, deleted)
    for refspec in refspecs {
        let forced_spec = refspec.starts_with('+');
        let refspec = refspec.trim_start_matches('+');
        let (source, destination) = refspec.split_once(':').unwrap_or((refspec, refspec));
        let deleted = delete || source.is_empty();
        if !(force || forced_spec || deleted) {
            continue;
        }
        let destination = destination
            .strip_prefix("refs/heads/")
            .unwrap_or(destination);
        let branch = if destination == "HEAD" {
            match current_branch(directory.as_deref()) {
                CurrentBranch::Named(branch) => branch,
                CurrentBranch::Detached => continue,
                CurrentBranch::Unknown => return Some(unknown_branch_denial()),
            }
        } else {
            destination.to_string()
        };
        targets.push((branch, deleted));
    }
    if refspecs.is_empty() && force {
        if every_branch {
            let protected = settings.protected_branches.join(", ");
            return Some(Denial::builtin(
                RuleId::ForcePushProtectedBranch,
                format!("a forced push of every branch includes the protected ones ({protected})"),
            ));
        }
        match current_branch(directory.as_deref()) {
            CurrentBranch::Named(branch) => targets.push((branch, false)),
            CurrentBranch::Detached => {}
            CurrentBranch::Unknown => return Some(unknown_branch_denial()),
        }
    }
    targets
        .into_iter()
        .find(|(branch, _)| settings.is_protected(branch))
        .map(|(branch, deleted)| {
            Denial::builtin(
                RuleId::ForcePushProtectedBranch,
                if deleted {
                    format!("it deletes the protected branch `{branch}` on the remote")
                } else {
                    format!(
                        "it force-pushes the protected branch `{branch}`, rewriting its \
                         published history; push to a new branch and open a pull request \
                         instead"
                    )
                },
            )
        })
}

fn unknown_branch_denial() -> Denial {
    Denial::builtin(
        RuleId::ForcePushProtectedBranch,
        "it force-pushes the checked-out branch, which cannot be determined here (it may be \
         protected); name the branch explicitly, e.g. `git push --force origin my-branch`"
            .to_string(),
    )
}

enum CurrentBranch {
    Named(String),
    Detached,
    Unknown,
}

/// The branch checked out in the repository containing `directory`, read from
/// `.git/HEAD` (no `git` process: the guard runs on every command).
fn current_branch(directory: Option<&Path>) -> CurrentBranch {
    let Some(directory) = directory else {
        return CurrentBranch::Unknown;
    };
    for candidate in directory.ancestors() {
        let dot_git = candidate.join(".git");
        let git_dir = if dot_git.is_dir() {
            dot_git
        } else if dot_git.is_file() {
            // A worktree or submodule: `.git` says `gitdir: <path>`.
            let Ok(text) = std::fs::read_to_string(&dot_git) else {
                return CurrentBranch::Unknown;
            };
            match text.trim().strip_prefix("gitdir:") {
                Some(path) => candidate.join(path.trim()),
                None => return CurrentBranch::Unknown,
            }
        } else {
            continue;
        };
        let Ok(head) = std::fs::read_to_string(git_dir.join("HEAD")) else {
            return CurrentBranch::Unknown;
        };
        return match head.trim().strip_prefix("ref: refs/heads/") {
            Some(branch) => CurrentBranch::Named(branch.to_string()),
            None => CurrentBranch::Detached,
        };
    }
    CurrentBranch::Unknown
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::guard::test_support::rule_of;
    use crate::guard::{check, GuardSettings, RuleId, Situation};

    fn repository(branch: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(
            dir.path().join(".git/HEAD"),
            format!("ref: refs/heads/{branch}\n"),
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        dir
    }

    #[test]
    fn blocks_force_pushes_of_protected_branches() {
        for command in [
            "git push --force origin main",
            "git push -f origin master",
            "git push origin +main",
            "git push --force-with-lease origin HEAD:refs/heads/main",
            "git push -uf origin feature:main",
            "git -C . push --force origin main",
            "git push origin --delete main",
            "git push origin :master",
            "git push --force --all origin",
        ] {
            assert_eq!(
                rule_of(command).as_deref(),
                Some(RuleId::ForcePushProtectedBranch.as_str()),
                "{command}"
            );
        }
        for command in [
            "git push origin main",
            "git push --force origin feature",
            "git push origin +feature",
            "git push --delete origin old-feature",
            "git status --force",
        ] {
            assert_eq!(rule_of(command), None, "{command}");
        }
    }

    #[test]
    fn force_push_without_a_branch_checks_the_checked_out_one() {
        let settings = GuardSettings::default();
        let on = |repository: &tempfile::TempDir| Situation {
            cwd: Some(repository.path().join("src")),
            home: None,
        };
        let main = repository("main");
        assert!(check("git push --force", &settings, &on(&main)).is_some());
        let feature = repository("feature/x");
        assert!(check("git push -f origin", &settings, &on(&feature)).is_none());
        let nowhere = Situation {
            cwd: Some(PathBuf::from("/")),
            home: None,
        };
        let denial = check("git push --force", &settings, &nowhere).unwrap();
        assert!(denial.explanation.contains("name the branch"), "{denial:?}");
    }
}
