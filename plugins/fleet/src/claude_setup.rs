//! Claude Code's own questions before its first prompt, seen from `fleet launch`.
//!
//! Claude Code asks two things no hook reports: on a machine (or config directory)
//! it has not seen, its first-run screens (text style, security notes); in a folder
//! it has not been told to trust, "Do you trust the files in this folder?". An agent
//! sitting there looks alive but does nothing. Both answers live in Claude Code's
//! global state file, `.claude.json` (in `CLAUDE_CONFIG_DIR` when set, else in the
//! home directory; see [`mosaic_plugin_api::sdk::claude::global_state_path`]):
//!
//! ```text
//! { "hasCompletedOnboarding": true,
//!   "projects": { "/abs/folder": { "hasTrustDialogAccepted": true, … } } }
//! ```
//!
//! A folder counts as trusted when it or a folder above it has
//! `hasTrustDialogAccepted` (what Claude Code 2.1 does). Before a Claude Code agent
//! starts, [`prepare`] reads that file. A git worktree of a repository that is
//! trusted is trusted the same way (`fleet.trust_worktrees`, default on): the entry
//! is added to `.claude.json` atomically, under Mosaic's lock and Claude Code's own
//! (`<file>.lock`, a directory), keeping every other key. Otherwise the launch says
//! what the agent will wait for and records it as the agent's `pending_question`.
//!
//! Not here: how `fleet ps` shows a waiting agent (the state logic reads the
//! recorded question).

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant, SystemTime};

use mosaic_plugin_api::anyhow::{bail, Context as _, Result};
use mosaic_plugin_api::sdk::claude::global_state_path;
use mosaic_plugin_api::sdk::fs::{expect_object, read_json_file, write_json_file, FileLock};
use mosaic_plugin_api::Context;
use serde_json::{json, Map, Value};

use crate::runtime::LaunchCommand;
use crate::settings::Settings;

/// The runtime whose questions are checked.
const CLAUDE_RUNTIME: &str = "claude";
/// `.claude.json`: the first-run screens were completed.
const ONBOARDING_KEY: &str = "hasCompletedOnboarding";
/// `.claude.json`: the folders Claude Code knows, by absolute path.
const PROJECTS_KEY: &str = "projects";
/// `.claude.json`, per folder: the trust question was answered yes.
const TRUST_KEY: &str = "hasTrustDialogAccepted";
/// How long to wait for Claude Code's lock on `.claude.json`.
const CLAUDE_LOCK_TIMEOUT: Duration = Duration::from_secs(10);
/// A Claude Code lock older than this is left over from a process that is gone
/// (Claude Code refreshes a lock it holds far more often).
const CLAUDE_LOCK_STALE_AFTER: Duration = Duration::from_secs(60);

/// What Claude Code will ask first, as it is told to the user and recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// The first-run screens, then the trust question for the folder.
    FirstRun {
        /// The agent's folder.
        folder: PathBuf,
    },
    /// "Do you trust the files in this folder?".
    Trust {
        /// The agent's folder.
        folder: PathBuf,
    },
}

impl Question {
    /// The question in words, for `fleet launch`, `fleet ps` and `fleet watch`.
    pub fn describe(&self) -> String {
        match self {
            Question::FirstRun { folder } => format!(
                "Claude Code's first-run setup (text style, security notes), then whether to \
                 trust the files in {}",
                folder.display()
            ),
            Question::Trust { folder } => format!(
                "Claude Code asks whether to trust the files in {}",
                folder.display()
            ),
        }
    }
}

/// What `.claude.json` says about a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    /// `hasCompletedOnboarding` is true.
    pub onboarding_done: bool,
    /// The folder (the agent's, or one above it) whose trust covers the agent's.
    pub trusted_by: Option<PathBuf>,
}

/// Reads what `state` (the parsed `.claude.json`, `None` when there is none) says
/// about `folder`.
pub fn answers(state: Option<&Value>, folder: &Path) -> Answers {
    Answers {
        onboarding_done: state
            .and_then(|state| state.get(ONBOARDING_KEY))
            .and_then(Value::as_bool)
            .unwrap_or(false),
        trusted_by: state.and_then(|state| trusted_by(state, folder)),
    }
}

/// The folder among `folder` and those above it that `state` marks trusted.
pub fn trusted_by(state: &Value, folder: &Path) -> Option<PathBuf> {
    let projects = state.get(PROJECTS_KEY)?.as_object()?;
    folder
        .ancestors()
        .find(|candidate| {
            candidate
                .to_str()
                .and_then(|key| projects.get(key))
                .and_then(|project| project.get(TRUST_KEY))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        })
        .map(Path::to_path_buf)
}

/// The question Claude Code will ask first, if any.
pub fn first_question(answers: &Answers, folder: &Path) -> Option<Question> {
    let folder = folder.to_path_buf();
    if !answers.onboarding_done {
        Some(Question::FirstRun { folder })
    } else if answers.trusted_by.is_none() {
        Some(Question::Trust { folder })
    } else {
        None
    }
}

/// A linked git worktree (not a repository's main one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedWorktree {
    /// The worktree's top folder.
    pub top: PathBuf,
    /// The top folder of the repository's main worktree.
    pub repository: PathBuf,
}

/// The linked worktree `folder` is in, found with `git rev-parse`; `None` for a
/// folder outside git, a main worktree, or a worktree of a bare repository.
pub fn linked_worktree(folder: &Path) -> Option<LinkedWorktree> {
    let output = Process::new("git")
        .arg("-C")
        .arg(folder)
        .args([
            "rev-parse",
            "--show-toplevel",
            "--git-dir",
            "--git-common-dir",
        ])
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_COMMON_DIR")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let mut lines = text.lines().map(|line| {
        let path = folder.join(line);
        path.canonicalize().unwrap_or(path)
    });
    let (top, git_dir, common_dir) = (lines.next()?, lines.next()?, lines.next()?);
    if git_dir == common_dir || common_dir.file_name()? != ".git" {
        return None;
    }
    Some(LinkedWorktree {
        top,
        repository: common_dir.parent()?.to_path_buf(),
    })
}

/// Marks `folder` trusted in the `.claude.json` at `state_path`, keeping every
/// other key: re-read under Mosaic's lock and Claude Code's, then replaced
/// atomically (through a symbolic link, if the file is one).
pub fn trust_folder(state_path: &Path, folder: &Path) -> Result<()> {
    let Some(key) = folder.to_str() else {
        bail!("{}: not a UTF-8 path", folder.display());
    };
    let _mosaic_lock = FileLock::exclusive(state_path)?;
    let _claude_lock = ClaudeCodeLock::acquire(state_path)?;
    let target = state_path
        .canonicalize()
        .unwrap_or_else(|_| state_path.to_path_buf());
    let Some(mut state) = read_json_file(&target)? else {
        bail!(
            "{} does not exist: run Claude Code once by hand",
            state_path.display()
        );
    };
    let root = expect_object(&target, &mut state)?;
    let projects = root
        .entry(PROJECTS_KEY)
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(projects) = projects else {
        bail!(
            "{}: `{PROJECTS_KEY}` is not a JSON object; Claude Code will repair it when it \
             next asks a trust question",
            target.display()
        );
    };
    match projects.get_mut(key) {
        Some(Value::Object(project)) => {
            project.insert(TRUST_KEY.to_string(), Value::Bool(true));
        }
        _ => {
            projects.insert(key.to_string(), new_trusted_project());
        }
    }
    write_json_file(&target, &state, None)
}

/// A project entry as Claude Code writes one when its trust question is answered.
fn new_trusted_project() -> Value {
    json!({
        "allowedTools": [],
        "mcpContextUris": [],
        "mcpServers": {},
        "enabledMcpjsonServers": [],
        "disabledMcpjsonServers": [],
        "hasTrustDialogAccepted": true,
        "projectOnboardingSeenCount": 0,
        "hasClaudeMdExternalIncludesApproved": false,
        "hasClaudeMdExternalIncludesWarningShown": false
    })
}

/// Claude Code's own lock on a file it edits: the directory `<file>.lock`, made
/// with `mkdir` (so taking it is atomic) and removed when done.
struct ClaudeCodeLock {
    path: PathBuf,
}

impl ClaudeCodeLock {
    fn acquire(protected: &Path) -> Result<ClaudeCodeLock> {
        let mut name = protected.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let started = Instant::now();
        loop {
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(ClaudeCodeLock { path }),
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
                Err(error) => {
                    return Err(error)
                        .with_context(|| format!("cannot create the lock {}", path.display()))
                }
            }
            let age = std::fs::metadata(&path)
                .and_then(|metadata| metadata.modified())
                .ok()
                .and_then(|modified| SystemTime::now().duration_since(modified).ok());
            if age.is_some_and(|age| age > CLAUDE_LOCK_STALE_AFTER) {
                let _ = std::fs::remove_dir(&path);
                continue;
            }
            if started.elapsed() > CLAUDE_LOCK_TIMEOUT {
                bail!(
                    "{} is locked (Claude Code is writing {}); try again in a moment",
                    path.display(),
                    protected.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ClaudeCodeLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// Before a Claude Code agent starts in `cwd`: trusts a worktree of a trusted
/// repository (when `fleet.trust_worktrees` allows), and returns the question the
/// agent will wait at, if any, with a warning that says how to answer it. Other
/// runtimes, and Claude Code's print mode (`-p`), ask nothing Mosaic knows of. A `.claude.json` that cannot be read or
/// written is a warning: the launch goes on.
pub fn prepare(
    context: &Context<'_>,
    launch: &LaunchCommand,
    cwd: &Path,
    agent: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<String>> {
    if launch.known.map(|runtime| runtime.name) != Some(CLAUDE_RUNTIME) || prints(launch) {
        return Ok(None);
    }
    let trust_worktrees = Settings::new(context).trust_worktrees()?;
    let Ok(state_path) = global_state_path(|key| context.env(key)) else {
        return Ok(None);
    };
    let question = match check(&state_path, cwd, trust_worktrees) {
        Ok(question) => question,
        Err(error) => {
            warnings.push(format!(
                "cannot tell whether Claude Code will stop to ask agent `{agent}` a question \
                 first: {error:#}"
            ));
            return Ok(None);
        }
    };
    let question = question.map(|question| question.describe());
    if let Some(question) = &question {
        warnings.push(format!(
            "agent `{agent}` will wait for your answer: {question}; answer it with `mosaic \
             fleet attach {agent}`"
        ));
    }
    Ok(question)
}

/// Whether the command runs Claude Code's print mode (`-p`/`--print`), which asks
/// nothing.
fn prints(launch: &LaunchCommand) -> bool {
    launch
        .command
        .iter()
        .skip(1)
        .any(|word| word == "-p" || word == "--print")
}

/// [`prepare`] without the context: reads `state_path`, trusts a worktree of a
/// trusted repository when `trust_worktrees`, and returns what is still asked.
pub fn check(state_path: &Path, cwd: &Path, trust_worktrees: bool) -> Result<Option<Question>> {
    let state = read_json_file(state_path)?;
    let found = answers(state.as_ref(), cwd);
    if found.onboarding_done && found.trusted_by.is_none() && trust_worktrees {
        if let (Some(state), Some(worktree)) = (&state, linked_worktree(cwd)) {
            if trusted_by(state, &worktree.repository).is_some() {
                trust_folder(state_path, &worktree.top).with_context(|| {
                    format!(
                        "cannot mark worktree {} trusted like its repository {}",
                        worktree.top.display(),
                        worktree.repository.display()
                    )
                })?;
                return Ok(None);
            }
        }
    }
    Ok(first_question(&found, cwd))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(directory: &Path, arguments: &[&str]) {
        let status = Process::new("git")
            .arg("-C")
            .arg(directory)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(arguments)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "git {arguments:?}");
    }

    /// A repository with one commit at `<dir>/repo` and a linked worktree of it at
    /// `<dir>/repo.worktrees/a1`, both as real paths.
    fn repository_with_worktree(directory: &Path) -> (PathBuf, PathBuf) {
        let repository = directory.canonicalize().unwrap().join("repo");
        std::fs::create_dir(&repository).unwrap();
        git(&repository, &["init", "-q"]);
        git(
            &repository,
            &["commit", "-q", "--allow-empty", "-m", "init"],
        );
        let worktree = repository.with_file_name("repo.worktrees").join("a1");
        git(
            &repository,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                "mosaic/a1",
                worktree.to_str().unwrap(),
            ],
        );
        (repository, worktree)
    }

    #[test]
    fn onboarding_then_trust_of_the_folder_or_one_above_it() {
        let folder = Path::new("/src/app/sub");
        assert_eq!(
            first_question(&answers(None, folder), folder),
            Some(Question::FirstRun {
                folder: folder.into()
            })
        );
        let onboarded = json!({"hasCompletedOnboarding": true, "projects": {
            "/src/other": {"hasTrustDialogAccepted": true},
            "/src/app": {"hasTrustDialogAccepted": false}
        }});
        let found = answers(Some(&onboarded), folder);
        assert_eq!(
            first_question(&found, folder),
            Some(Question::Trust {
                folder: folder.into()
            })
        );
        let trusted = json!({"hasCompletedOnboarding": true, "projects": {
            "/src/app": {"hasTrustDialogAccepted": true}
        }});
        let found = answers(Some(&trusted), folder);
        assert_eq!(found.trusted_by, Some(PathBuf::from("/src/app")));
        assert_eq!(first_question(&found, folder), None);
        let question = Question::Trust {
            folder: folder.into(),
        }
        .describe();
        assert!(
            question.contains("trust the files in /src/app/sub"),
            "{question}"
        );
    }

    #[test]
    fn a_worktree_of_a_trusted_repository_is_trusted_keeping_every_other_key() {
        let directory = tempfile::tempdir().unwrap();
        let (repository, worktree) = repository_with_worktree(directory.path());
        let found = linked_worktree(&worktree.join(".")).unwrap();
        assert_eq!(found.top, worktree);
        assert_eq!(found.repository, repository);
        assert_eq!(linked_worktree(&repository), None, "a main worktree");

        let state_path = directory.path().join(".claude.json");
        let original = json!({
            "numStartups": 3,
            "hasCompletedOnboarding": true,
            "projects": {repository.to_str().unwrap(): {
                "hasTrustDialogAccepted": true, "allowedTools": ["Bash"]
            }},
            "userID": "abc"
        });
        write_json_file(&state_path, &original, Some(0o600)).unwrap();

        assert_eq!(
            check(&state_path, &worktree, false).unwrap(),
            Some(Question::Trust {
                folder: worktree.clone()
            }),
            "fleet.trust_worktrees = false leaves the question"
        );
        assert_eq!(read_json_file(&state_path).unwrap().unwrap(), original);

        assert_eq!(check(&state_path, &worktree, true).unwrap(), None);
        let state = read_json_file(&state_path).unwrap().unwrap();
        assert_eq!(
            state["projects"][worktree.to_str().unwrap()]["hasTrustDialogAccepted"],
            json!(true)
        );
        let mut without_worktree = state.clone();
        without_worktree["projects"]
            .as_object_mut()
            .unwrap()
            .remove(worktree.to_str().unwrap());
        assert_eq!(without_worktree, original, "every other key is kept");
        let keys: Vec<&String> = state.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "numStartups",
                "hasCompletedOnboarding",
                "projects",
                "userID"
            ]
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&state_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the file keeps its mode");
        assert!(!PathBuf::from(format!("{}.lock", state_path.display())).exists());
        assert_eq!(check(&state_path, &worktree.join("."), true).unwrap(), None);
    }

    #[test]
    fn an_untrusted_repository_or_plain_folder_is_not_trusted_for_the_user() {
        let directory = tempfile::tempdir().unwrap();
        let (repository, worktree) = repository_with_worktree(directory.path());
        let state_path = directory.path().join(".claude.json");
        let original = json!({"hasCompletedOnboarding": true, "projects": {}});
        write_json_file(&state_path, &original, None).unwrap();
        assert_eq!(
            check(&state_path, &worktree, true).unwrap(),
            Some(Question::Trust {
                folder: worktree.clone()
            })
        );
        assert_eq!(
            check(&state_path, &repository, true).unwrap(),
            Some(Question::Trust { folder: repository })
        );
        assert_eq!(read_json_file(&state_path).unwrap().unwrap(), original);
    }

    #[test]
    fn a_symbolic_link_stays_a_link_and_bad_json_is_an_error_naming_the_file() {
        let directory = tempfile::tempdir().unwrap();
        let real = directory.path().join("dotfiles.json");
        write_json_file(&real, &json!({"projects": []}), None).unwrap();
        let link = directory.path().join(".claude.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let message = trust_folder(&link, Path::new("/w"))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("`projects` is not a JSON object"),
            "{message}"
        );
        write_json_file(&real, &json!({"projects": {}}), None).unwrap();
        trust_folder(&link, Path::new("/w")).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        let state = read_json_file(&real).unwrap().unwrap();
        assert_eq!(
            state["projects"]["/w"]["hasTrustDialogAccepted"],
            json!(true)
        );

        std::fs::write(&real, "{\"projects\": ").unwrap();
        let message = format!("{:#}", check(&link, Path::new("/w"), true).unwrap_err());
        assert!(message.contains(".claude.json:1:"), "{message}");
    }

    #[test]
    fn claude_codes_lock_is_waited_for_and_a_stale_one_is_taken_over() {
        let directory = tempfile::tempdir().unwrap();
        let state_path = directory.path().join(".claude.json");
        write_json_file(&state_path, &json!({}), None).unwrap();
        let lock = directory.path().join(".claude.json.lock");
        std::fs::create_dir(&lock).unwrap();
        let held = lock.clone();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::remove_dir(held).unwrap();
        });
        trust_folder(&state_path, Path::new("/w")).unwrap();
        releaser.join().unwrap();
        assert!(!lock.exists());

        std::fs::create_dir(&lock).unwrap();
        let old = SystemTime::now() - Duration::from_secs(600);
        std::fs::File::open(&lock)
            .unwrap()
            .set_modified(old)
            .unwrap();
        trust_folder(&state_path, Path::new("/v")).unwrap();
        let state = read_json_file(&state_path).unwrap().unwrap();
        assert_eq!(
            state["projects"]["/v"]["hasTrustDialogAccepted"],
            json!(true)
        );
        assert_eq!(
            state["projects"]["/w"]["hasTrustDialogAccepted"],
            json!(true)
        );
    }
}
