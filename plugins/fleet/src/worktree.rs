//! A git worktree per agent: planning and creating it for `fleet launch
//! --worktree`, showing its changes for `fleet diff`, and removing it (with its
//! branch) for `fleet rm` and `fleet prune` only when nothing would be lost.
//!
//! Everything goes through the `git` program, with the caller's `GIT_DIR`,
//! `GIT_WORK_TREE` and `GIT_INDEX_FILE` removed so each command works on the
//! repository it is pointed at. Nothing here writes the user's index: the diff
//! of untracked files uses a private copy of it.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mosaic_plugin_api::anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::process::find_program;

/// The branch an agent's worktree gets without `--branch`: `mosaic/<AGENT>`.
pub fn default_branch(agent: &str) -> String {
    format!("mosaic/{agent}")
}

/// The placeholder of `fleet.worktree_dir` that stands for the repository's path.
pub const REPO_PLACEHOLDER: &str = "{repo}";

/// The default of `fleet.worktree_dir`: a sibling directory `<repo>.worktrees`.
pub const DEFAULT_WORKTREE_DIR: &str = "{repo}.worktrees";

/// Variables that would point git at another repository or index than the one a
/// command names.
const GIT_LOCATION_VARIABLES: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
];

/// An agent's worktree, as recorded in its metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentWorktree {
    /// The repository (its main working tree) the worktree belongs to.
    pub repo: PathBuf,
    /// The worktree's directory.
    pub dir: PathBuf,
    /// The branch created for the agent.
    pub branch: String,
    /// The commit the branch started from (full hash).
    pub base: String,
}

/// The `git` program, found on a `PATH`.
#[derive(Debug, Clone)]
pub struct Git {
    program: PathBuf,
}

impl Git {
    /// Finds `git` on `path`; an error naming the fix when it is not installed.
    pub fn locate(path: Option<&str>) -> Result<Git> {
        match find_program("git", path) {
            Some(program) => Ok(Git { program }),
            None => bail!(
                "git is not installed (no `git` on PATH); agent worktrees need it: install \
                 git (Debian/Ubuntu: `sudo apt-get install git`, macOS: `xcode-select \
                 --install`) and retry"
            ),
        }
    }

    fn command<I, S>(&self, dir: &Path, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(&self.program);
        command.arg("-C").arg(dir).args(args);
        for variable in GIT_LOCATION_VARIABLES {
            command.env_remove(variable);
        }
        command.stdin(Stdio::null());
        command
    }

    fn output(&self, command: &mut Command) -> Result<Output> {
        command
            .output()
            .with_context(|| format!("cannot run {}", self.program.display()))
    }

    /// Runs git in `dir`; its output, whatever the exit status.
    fn run<I, S>(&self, dir: &Path, args: I) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.output(&mut self.command(dir, args))
    }

    /// Runs git in `dir` and returns its standard output, trimmed; an error with
    /// git's own first line of complaint when it fails.
    fn text<I, S>(&self, dir: &Path, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<S> = args.into_iter().collect();
        let shown: Vec<String> = args
            .iter()
            .map(|arg| arg.as_ref().to_string_lossy().into_owned())
            .collect();
        let output = self.run(dir, &args)?;
        if !output.status.success() {
            bail!(
                "`git {}` failed in {}: {}",
                shown.join(" "),
                dir.display(),
                first_line(&output.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// Whether git succeeds in `dir` (its output thrown away).
    fn succeeds<I, S>(&self, dir: &Path, args: I) -> Result<bool>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Ok(self.run(dir, args)?.status.success())
    }
}

/// The first non-empty line of git's error output.
fn first_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("no message")
        .to_string()
}

/// What `fleet launch --worktree` asked for.
#[derive(Debug, Clone)]
pub struct WorktreeRequest<'a> {
    /// The agent name.
    pub agent: &'a str,
    /// The directory the launch starts from (`--cwd` or the current one).
    pub start: &'a Path,
    /// `--branch`, else [`default_branch`].
    pub branch: Option<&'a str>,
    /// `--base`, else `HEAD`.
    pub base: Option<&'a str>,
    /// `fleet.worktree_dir` as configured (may hold [`REPO_PLACEHOLDER`] and `~/`).
    pub worktree_dir: &'a str,
    /// `HOME`, for a `~/` in `fleet.worktree_dir`.
    pub home: Option<&'a str>,
}

/// A worktree checked and ready to be created.
#[derive(Debug, Clone)]
pub struct WorktreePlan {
    /// What will be recorded once it exists.
    pub worktree: AgentWorktree,
    /// Where the agent starts: the same subdirectory of the worktree as the launch
    /// started from in the repository, when it exists there.
    pub relative_start: PathBuf,
    /// Whether the directory the worktree goes in must be created (and so is
    /// removed again when the launch is undone).
    pub creates_parent: bool,
}

impl WorktreePlan {
    /// Checks everything `git worktree add` would refuse, with the fix for each:
    /// not a repository, an unborn or detached `HEAD` (without `--base`), a base
    /// that is not a commit, a branch name git refuses or that exists, a worktree
    /// path that exists.
    pub fn check(git: &Git, request: &WorktreeRequest<'_>) -> Result<WorktreePlan> {
        let start = request.start;
        let inside = git.run(start, ["rev-parse", "--is-inside-work-tree"])?;
        if !inside.status.success() || String::from_utf8_lossy(&inside.stdout).trim() != "true" {
            bail!(
                "--worktree: {} is not inside a git repository; run the launch from a \
                 repository (or give --cwd DIR inside one), or launch without --worktree",
                start.display()
            );
        }
        let repo = main_worktree(git, start)?;
        let relative_start = PathBuf::from(git.text(start, ["rev-parse", "--show-prefix"])?);

        let base = match request.base {
            Some(base) => resolve_commit(git, start, base).with_context(|| {
                format!(
                    "--base {base}: not a commit in {}; give a branch, tag or commit \
                     (see `git log --oneline`)",
                    repo.display()
                )
            })?,
            None => head_commit(git, start, &repo)?,
        };

        let branch = request
            .branch
            .map(str::to_string)
            .unwrap_or_else(|| default_branch(request.agent));
        let checked = git.run(start, ["check-ref-format", "--branch", branch.as_str()])?;
        if !checked.status.success() || branch.starts_with('-') {
            bail!(
                "--branch {branch}: git does not accept it as a branch name (see `git \
                 check-ref-format --help`); pass another --branch"
            );
        }
        if git.succeeds(
            start,
            [
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{branch}"),
            ],
        )? {
            let other = if request.branch.is_some() {
                "pass another --branch"
            } else {
                "pass --branch OTHER"
            };
            bail!(
                "branch `{branch}` already exists in {}: {other}, or delete it with `git -C \
                 {} branch -D {branch}` if it holds nothing you need (`mosaic fleet rm \
                 {}` does this for the agent that made it)",
                repo.display(),
                repo.display(),
                request.agent
            );
        }

        let parent = worktree_parent(request.worktree_dir, &repo, request.home)?;
        let dir = parent.join(request.agent);
        if dir.symlink_metadata().is_ok() {
            bail!(
                "worktree path {} is taken (it already exists): remove it, or point \
                 fleet.worktree_dir elsewhere (`mosaic config set fleet.worktree_dir DIR`)",
                dir.display()
            );
        }
        Ok(WorktreePlan {
            creates_parent: !parent.exists(),
            worktree: AgentWorktree {
                repo,
                dir,
                branch,
                base,
            },
            relative_start,
        })
    }

    /// `git worktree add -b BRANCH DIR BASE`; the directory the agent starts in.
    pub fn create(&self, git: &Git) -> Result<PathBuf> {
        let worktree = &self.worktree;
        if let Some(parent) = worktree.dir.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let output = git.run(
            &worktree.repo,
            [
                OsStr::new("worktree"),
                OsStr::new("add"),
                OsStr::new("--quiet"),
                OsStr::new("-b"),
                OsStr::new(&worktree.branch),
                worktree.dir.as_os_str(),
                OsStr::new(&worktree.base),
            ],
        )?;
        if !output.status.success() {
            self.remove_created_parent();
            bail!(
                "git could not create worktree {} on branch `{}`: {}",
                worktree.dir.display(),
                worktree.branch,
                first_line(&output.stderr)
            );
        }
        let start = worktree.dir.join(&self.relative_start);
        Ok(
            if self.relative_start.as_os_str().is_empty() || !start.is_dir() {
                worktree.dir.clone()
            } else {
                start
            },
        )
    }

    /// Removes the directory the worktree went in, when [`create`](Self::create)
    /// made it and it is empty again.
    pub fn remove_created_parent(&self) {
        if let (true, Some(parent)) = (self.creates_parent, self.worktree.dir.parent()) {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// The main working tree of the repository `dir` is in (the first entry of `git
/// worktree list`), so worktrees made from inside another worktree still sit
/// next to the repository.
fn main_worktree(git: &Git, dir: &Path) -> Result<PathBuf> {
    let listing = git.text(dir, ["worktree", "list", "--porcelain"])?;
    let first = listing
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("worktree "));
    match first {
        Some(path)
            if !listing
                .lines()
                .take_while(|l| !l.is_empty())
                .any(|l| l == "bare") =>
        {
            Ok(PathBuf::from(path))
        }
        _ => bail!(
            "--worktree: the repository of {} is bare (it has no working tree to branch \
             from); launch from a clone with a working tree",
            dir.display()
        ),
    }
}

/// `REF^{commit}` as a full hash.
fn resolve_commit(git: &Git, dir: &Path, reference: &str) -> Result<String> {
    if reference.starts_with('-') {
        bail!("`{reference}` looks like an option, not a commit");
    }
    git.text(
        dir,
        [
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &format!("{reference}^{{commit}}"),
        ],
    )
}

/// The commit `HEAD` is on, when `HEAD` is a branch with commits.
fn head_commit(git: &Git, dir: &Path, repo: &Path) -> Result<String> {
    let branch = git.run(dir, ["symbolic-ref", "--quiet", "--short", "HEAD"])?;
    let commit = resolve_commit(git, dir, "HEAD");
    match (branch.status.success(), commit) {
        (true, Ok(commit)) => Ok(commit),
        (true, Err(_)) => bail!(
            "--worktree: branch `{}` of {} has no commits yet (unborn HEAD), so there is \
             nothing to branch from; make a first commit (`git commit --allow-empty -m \
             init`), or pass --base REF",
            String::from_utf8_lossy(&branch.stdout).trim(),
            repo.display()
        ),
        (false, Ok(commit)) => bail!(
            "--worktree: HEAD of {} is detached (at {}), so it is not clear what the agent \
             should branch from; pass --base REF (e.g. --base {} for this very commit, or \
             --base main), or check out a branch",
            repo.display(),
            &commit[..commit.len().min(12)],
            &commit[..commit.len().min(12)]
        ),
        (false, Err(_)) => bail!(
            "--worktree: HEAD of {} names no commit; check out a branch with commits, or \
             pass --base REF",
            repo.display()
        ),
    }
}

/// The directory the agents' worktrees go in: `fleet.worktree_dir` with
/// [`REPO_PLACEHOLDER`] and a leading `~/` expanded; it must then be absolute.
pub fn worktree_parent(configured: &str, repo: &Path, home: Option<&str>) -> Result<PathBuf> {
    let expanded = configured
        .trim()
        .replace(REPO_PLACEHOLDER, &repo.to_string_lossy());
    let expanded = match (expanded.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) if !home.is_empty() => Path::new(home).join(rest),
        _ => PathBuf::from(&expanded),
    };
    if !expanded.is_absolute() {
        bail!(
            "fleet.worktree_dir = {configured:?} is not an absolute path (after expanding \
             {REPO_PLACEHOLDER} and ~/); fix it with `mosaic config set fleet.worktree_dir \
             '{DEFAULT_WORKTREE_DIR}'` or an absolute directory"
        );
    }
    Ok(expanded)
}

/// What removing a worktree and its branch would lose.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UnsavedWork {
    /// Tracked files with changes (committed or not) that are not committed.
    pub uncommitted: Vec<String>,
    /// Files git does not track and does not ignore.
    pub untracked: Vec<String>,
    /// Commits on the branch since its base that no other branch holds
    /// (`<short hash> <subject>`).
    pub unmerged_commits: Vec<String>,
}

impl UnsavedWork {
    /// Whether nothing would be lost.
    pub fn is_empty(&self) -> bool {
        self.uncommitted.is_empty() && self.untracked.is_empty() && self.unmerged_commits.is_empty()
    }

    /// `2 uncommitted changes (a.rs, b.rs), 1 untracked file (notes.txt) and 3
    /// commits not on any other branch (abc1234 Fix, …)`.
    pub fn describe(&self, branch: &str) -> String {
        let mut parts = Vec::new();
        let list = |items: &[String]| {
            let shown: Vec<&str> = items.iter().take(3).map(String::as_str).collect();
            let more = if items.len() > 3 { ", …" } else { "" };
            format!("{}{more}", shown.join(", "))
        };
        let plural = |count: usize, one: &str, many: &str| {
            if count == 1 {
                format!("1 {one}")
            } else {
                format!("{count} {many}")
            }
        };
        if !self.uncommitted.is_empty() {
            parts.push(format!(
                "{} ({})",
                plural(
                    self.uncommitted.len(),
                    "uncommitted change",
                    "uncommitted changes"
                ),
                list(&self.uncommitted)
            ));
        }
        if !self.untracked.is_empty() {
            parts.push(format!(
                "{} ({})",
                plural(self.untracked.len(), "untracked file", "untracked files"),
                list(&self.untracked)
            ));
        }
        if !self.unmerged_commits.is_empty() {
            parts.push(format!(
                "{} on `{branch}` not on any other branch ({})",
                plural(self.unmerged_commits.len(), "commit", "commits"),
                list(&self.unmerged_commits)
            ));
        }
        match parts.len() {
            0 => "nothing unsaved".to_string(),
            1 => parts.remove(0),
            _ => {
                let last = parts.pop().unwrap_or_default();
                format!("{} and {last}", parts.join(", "))
            }
        }
    }
}

/// What `remove` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Removal {
    /// The worktree directory was removed (it was there).
    pub removed_dir: bool,
    /// The branch was deleted (it was there).
    pub deleted_branch: bool,
}

impl AgentWorktree {
    /// Whether the branch exists.
    pub fn branch_exists(&self, git: &Git) -> Result<bool> {
        git.succeeds(
            &self.repo,
            [
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{}", self.branch),
            ],
        )
    }

    /// What removing the worktree and the branch would lose. A worktree directory
    /// or a branch that is gone already loses nothing more.
    pub fn unsaved_work(&self, git: &Git) -> Result<UnsavedWork> {
        let mut unsaved = UnsavedWork::default();
        if self.dir.is_dir() {
            let status = git.run(
                &self.dir,
                [
                    "status",
                    "--porcelain=v1",
                    "-z",
                    "--untracked-files=all",
                    "--ignore-submodules=none",
                ],
            )?;
            if !status.status.success() {
                bail!(
                    "cannot tell what worktree {} holds (`git status` failed: {}); look \
                     with `git -C {} status`",
                    self.dir.display(),
                    first_line(&status.stderr),
                    self.dir.display()
                );
            }
            let text = String::from_utf8_lossy(&status.stdout);
            let mut entries = text.split('\0');
            while let Some(entry) = entries.next() {
                if entry.len() < 4 {
                    continue;
                }
                let (code, path) = entry.split_at(3);
                if code.starts_with('R') || code.starts_with('C') {
                    // A rename is followed by its source path.
                    entries.next();
                }
                if code == "?? " {
                    unsaved.untracked.push(path.to_string());
                } else {
                    unsaved.uncommitted.push(path.to_string());
                }
            }
        }
        if self.branch_exists(git)? {
            let branch_ref = format!("refs/heads/{}", self.branch);
            let exclude = format!("--exclude={}", self.branch);
            let mut args = vec![
                "log",
                "--format=%h %s",
                branch_ref.as_str(),
                "--not",
                exclude.as_str(),
                "--branches",
                "--remotes",
            ];
            let has_base = resolve_commit(git, &self.repo, &self.base).is_ok();
            if has_base {
                args.push(self.base.as_str());
            }
            let commits = git.text(&self.repo, &args)?;
            unsaved.unmerged_commits = commits
                .lines()
                .filter(|line| !line.is_empty())
                .map(str::to_string)
                .collect();
        }
        Ok(unsaved)
    }

    /// Removes the worktree directory and deletes the branch. Without `force`, git
    /// itself refuses a worktree with changes (the caller checked
    /// [`unsaved_work`](Self::unsaved_work) before); with it, both go whatever they
    /// hold.
    pub fn remove(&self, git: &Git, force: bool) -> Result<Removal> {
        let mut removal = Removal::default();
        if self.dir.exists() {
            let mut args = vec![OsStr::new("worktree"), OsStr::new("remove")];
            if force {
                // Twice: also a locked worktree.
                args.extend([OsStr::new("--force"), OsStr::new("--force")]);
            }
            args.push(self.dir.as_os_str());
            let output = git.run(&self.repo, &args)?;
            if !output.status.success() {
                bail!(
                    "git could not remove worktree {}: {}",
                    self.dir.display(),
                    first_line(&output.stderr)
                );
            }
            removal.removed_dir = true;
            // The default layout's `<repo>.worktrees`, once its last worktree is gone.
            if let Some(parent) = self.dir.parent() {
                if parent.to_string_lossy().ends_with(".worktrees") {
                    let _ = std::fs::remove_dir(parent);
                }
            }
        } else {
            // A worktree deleted by hand: forget its administrative files.
            let _ = git.run(&self.repo, ["worktree", "prune"]);
        }
        if self.branch_exists(git)? {
            let output = git.run(&self.repo, ["branch", "-D", "--", self.branch.as_str()])?;
            if !output.status.success() {
                bail!(
                    "git could not delete branch `{}` in {}: {}",
                    self.branch,
                    self.repo.display(),
                    first_line(&output.stderr)
                );
            }
            removal.deleted_branch = true;
        }
        Ok(removal)
    }

    /// The agent's changes against its base: commits on its branch, uncommitted
    /// changes and untracked files (as added), as `git diff` prints them (`stat`:
    /// `git diff --stat`). The untracked files are added, intent-to-add only, to a
    /// private copy of the worktree's index; the index itself is not touched.
    pub fn diff(&self, git: &Git, stat: bool) -> Result<Vec<u8>> {
        if !self.dir.is_dir() {
            bail!(
                "worktree {} does not exist any more (removed by hand?); the agent's \
                 branch `{}` may still hold its commits: `git -C {} log {}..{}`",
                self.dir.display(),
                self.branch,
                self.repo.display(),
                short(&self.base),
                self.branch
            );
        }
        // Relative to the worktree (`--path-format=absolute` needs git 2.31).
        let index = self
            .dir
            .join(git.text(&self.dir, ["rev-parse", "--git-path", "index"])?);
        let private_index = PrivateIndex::copy_of(&index)?;
        let add = git.output(
            self.command_with_index(
                git,
                &private_index.path,
                ["add", "--intent-to-add", "--all", "--", ":/"],
            )
            .stdout(Stdio::null()),
        )?;
        if !add.status.success() {
            bail!(
                "cannot list the untracked files of worktree {}: {}",
                self.dir.display(),
                first_line(&add.stderr)
            );
        }
        let mut args = vec!["diff", "--no-color", "--no-ext-diff"];
        if stat {
            args.push("--stat");
        }
        args.extend([self.base.as_str(), "--"]);
        let output = git.output(&mut self.command_with_index(git, &private_index.path, &args))?;
        if !output.status.success() {
            bail!(
                "`git diff {}` failed in {}: {}",
                short(&self.base),
                self.dir.display(),
                first_line(&output.stderr)
            );
        }
        Ok(output.stdout)
    }

    fn command_with_index<I, S>(&self, git: &Git, index: &Path, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = git.command(&self.dir, args);
        command.env("GIT_INDEX_FILE", index);
        command
    }
}

/// The first 12 characters of a hash.
pub fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// A private copy of an index file (mode 0600), removed when dropped.
struct PrivateIndex {
    path: PathBuf,
}

impl PrivateIndex {
    fn copy_of(index: &Path) -> Result<PrivateIndex> {
        use std::os::unix::fs::OpenOptionsExt;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "mosaic-fleet-diff-index.{}.{nanos}",
            std::process::id()
        ));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let private = PrivateIndex { path };
        match std::fs::read(index) {
            Ok(bytes) => file
                .write_all(&bytes)
                .with_context(|| format!("cannot write {}", private.path.display()))?,
            // A worktree without an index yet: git starts from an empty one.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                drop(file);
                std::fs::remove_file(&private.path).ok();
            }
            Err(error) => {
                return Err(error).with_context(|| format!("cannot read {}", index.display()))
            }
        }
        Ok(private)
    }
}

impl Drop for PrivateIndex {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_file(self.path.with_extension("lock"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worktree_parent_expands_the_repo_and_home() {
        let repo = Path::new("/src/app");
        assert_eq!(
            worktree_parent(DEFAULT_WORKTREE_DIR, repo, None).unwrap(),
            PathBuf::from("/src/app.worktrees")
        );
        assert_eq!(
            worktree_parent("~/trees", repo, Some("/home/me")).unwrap(),
            PathBuf::from("/home/me/trees")
        );
        let message = worktree_parent("trees", repo, None)
            .unwrap_err()
            .to_string();
        assert!(message.contains("fleet.worktree_dir"), "{message}");
    }

    #[test]
    fn unsaved_work_is_described_in_one_line() {
        let unsaved = UnsavedWork {
            uncommitted: vec!["a.rs".into()],
            untracked: vec!["n1".into(), "n2".into(), "n3".into(), "n4".into()],
            unmerged_commits: vec!["abc Fix".into(), "def More".into()],
        };
        assert_eq!(
            unsaved.describe("mosaic/a1"),
            "1 uncommitted change (a.rs), 4 untracked files (n1, n2, n3, …) and 2 commits \
             on `mosaic/a1` not on any other branch (abc Fix, def More)"
        );
        assert!(UnsavedWork::default().is_empty());
    }
}
