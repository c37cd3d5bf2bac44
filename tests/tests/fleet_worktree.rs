//! A git worktree per agent, with real git repositories and real tmux (a private
//! server per test): `fleet launch --worktree` and its refusals, the BRANCH of
//! `fleet ps`, `fleet diff`, and `fleet rm` / `fleet prune` refusing to lose work
//! unless `--force`. Also: a mistyped launch option is a usage error.

mod fleet_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use fleet_support::FleetSandbox;

/// Runs git in `dir` (with an identity for commits, and nothing from the
/// caller's git environment); panics unless it succeeds. Its stdout, trimmed.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = git_command(dir, args).output().expect("cannot run git");
    assert!(
        output.status.success(),
        "git {args:?} failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn git_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Fleet Test",
            "-c",
            "user.email=fleet@test.invalid",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE");
    command
}

/// Whether `git` in `dir` succeeds.
fn git_ok(dir: &Path, args: &[&str]) -> bool {
    git_command(dir, args).output().unwrap().status.success()
}

/// A repository `<sandbox>/src/app` on branch main with two commits; returns it.
fn repository(fleet: &FleetSandbox) -> PathBuf {
    let repo = fleet.sandbox.root().join("src").join("app");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(repo.join("README.md"), "app\n").unwrap();
    std::fs::write(repo.join(".gitignore"), "target/\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "--quiet", "-m", "first"]);
    std::fs::write(repo.join("lib.txt"), "one\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "--quiet", "-m", "second"]);
    repo
}

/// `fleet launch AGENT --worktree --detach --cwd REPO EXTRA… -- sleep 1000`.
fn launch_in_worktree(fleet: &FleetSandbox, agent: &str, repo: &Path, extra: &[&str]) {
    let mut args = vec![
        "fleet",
        "launch",
        agent,
        "--worktree",
        "--detach",
        "--cwd",
        repo.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "sleep", "1000"]);
    fleet.run(&args).expect_code(0);
}

fn worktree_of(repo: &Path, agent: &str) -> PathBuf {
    let mut name = repo.file_name().unwrap().to_os_string();
    name.push(".worktrees");
    repo.with_file_name(name).join(agent)
}

fn branch_exists(repo: &Path, branch: &str) -> bool {
    git_ok(
        repo,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ],
    )
}

#[test]
fn launch_with_worktree_runs_the_agent_on_its_own_branch() {
    let fleet = FleetSandbox::new();
    let repo = repository(&fleet);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let first = git(&repo, &["rev-parse", "HEAD~1"]);
    launch_in_worktree(&fleet, "a1", &repo, &[]);

    let dir = worktree_of(&repo, "a1");
    assert!(
        dir.join("lib.txt").is_file(),
        "worktree checked out at {dir:?}"
    );
    assert_eq!(git(&dir, &["branch", "--show-current"]), "mosaic/a1");
    let metadata = fleet.metadata("a1").unwrap();
    let worktree = &metadata["worktree"];
    assert_eq!(worktree["branch"], "mosaic/a1");
    assert_eq!(worktree["base"], head.as_str());
    assert_eq!(worktree["dir"], dir.to_str().unwrap());
    assert_eq!(worktree["repo"], repo.to_str().unwrap());
    assert_eq!(metadata["cwd"], dir.to_str().unwrap());
    // The pane runs in the worktree.
    let pane = fleet.tmux(&[
        "display-message",
        "-p",
        "-t",
        "=mosaic-a1:",
        "#{pane_current_path}",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&pane.stdout).trim(),
        dir.to_str().unwrap()
    );

    // Another agent on a chosen branch from a chosen base, from a subdirectory.
    std::fs::create_dir_all(repo.join("docs")).unwrap();
    std::fs::write(repo.join("docs/guide.md"), "guide\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "--quiet", "-m", "docs"]);
    let run = fleet.run(&[
        "fleet",
        "launch",
        "b2",
        "--worktree",
        "--branch",
        "feature/b2",
        "--base",
        &first,
        "--detach",
        "--cwd",
        repo.join("docs").to_str().unwrap(),
        "--",
        "sleep",
        "1000",
    ]);
    run.expect_code(0);
    assert!(run.stdout.contains("branch feature/b2"), "{}", run.stdout);
    let b2 = worktree_of(&repo, "b2");
    assert_eq!(git(&b2, &["rev-parse", "HEAD"]), first);
    assert_eq!(git(&b2, &["branch", "--show-current"]), "feature/b2");
    // docs/ is not in the base commit, so the agent starts at the worktree's top.
    assert_eq!(fleet.metadata("b2").unwrap()["cwd"], b2.to_str().unwrap());

    // `fleet ps` shows the branches; -l the directories; --json everything.
    let ps = fleet.run(&["fleet", "ps"]);
    ps.expect_code(0);
    assert!(ps.stdout.contains("BRANCH"), "{}", ps.stdout);
    assert!(ps.stdout.contains("mosaic/a1"), "{}", ps.stdout);
    assert!(ps.stdout.contains("feature/b2"), "{}", ps.stdout);
    assert!(!ps.stdout.contains(dir.to_str().unwrap()), "{}", ps.stdout);
    let long = fleet.run(&["fleet", "ps", "-l"]);
    long.expect_code(0);
    assert!(
        long.stdout.contains(dir.to_str().unwrap()),
        "{}",
        long.stdout
    );
    let row = fleet.row("a1");
    assert_eq!(row["branch"], "mosaic/a1");
    assert_eq!(row["worktree"]["dir"], dir.to_str().unwrap());
    assert_eq!(row["cwd"], dir.to_str().unwrap());
}

#[test]
fn worktree_refusals_name_the_fix_and_leave_nothing_behind() {
    let fleet = FleetSandbox::new();
    let root = fleet.sandbox.root().to_path_buf();
    let launch = |agent: &str, cwd: &Path, extra: &[&str]| {
        let mut args = vec![
            "fleet",
            "launch",
            agent,
            "--worktree",
            "--detach",
            "--cwd",
            cwd.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "sleep", "1000"]);
        let run = fleet.run(&args);
        run.expect_code(1);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
        run.stderr
    };

    let plain = root.join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let message = launch("p1", &plain, &[]);
    assert!(message.contains("not inside a git repository"), "{message}");

    let unborn = root.join("unborn");
    std::fs::create_dir_all(&unborn).unwrap();
    git(&unborn, &["init", "--quiet", "--initial-branch=main"]);
    let message = launch("u1", &unborn, &[]);
    assert!(message.contains("no commits yet"), "{message}");
    assert!(message.contains("git commit"), "{message}");

    let repo = repository(&fleet);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    git(&repo, &["checkout", "--quiet", "--detach", "HEAD~1"]);
    let message = launch("d1", &repo, &[]);
    assert!(message.contains("detached"), "{message}");
    assert!(message.contains("--base"), "{message}");
    git(&repo, &["checkout", "--quiet", "main"]);

    let message = launch("r1", &repo, &["--base", "no-such-ref"]);
    assert!(message.contains("--base no-such-ref"), "{message}");

    git(&repo, &["branch", "mosaic/x1"]);
    let message = launch("x1", &repo, &[]);
    assert!(
        message.contains("branch `mosaic/x1` already exists"),
        "{message}"
    );
    assert!(message.contains("--branch"), "{message}");

    let taken = worktree_of(&repo, "t1");
    std::fs::create_dir_all(&taken).unwrap();
    let message = launch("t1", &repo, &[]);
    assert!(message.contains("is taken"), "{message}");
    assert!(message.contains(taken.to_str().unwrap()), "{message}");
    std::fs::remove_dir(&taken).unwrap();
    std::fs::remove_dir(taken.parent().unwrap()).unwrap();

    let run = fleet.run(&["fleet", "launch", "z1", "--branch", "b", "--", "sleep", "1"]);
    run.expect_code(1);
    assert!(run.stderr.contains("add --worktree"), "{}", run.stderr);

    // None of them created a session, a file, a worktree or a branch.
    assert!(!fleet.tmux(&["list-sessions"]).status.success());
    assert!(!fleet.run_dir().join("d1.meta.json").exists());
    assert_eq!(git(&repo, &["worktree", "list"]).lines().count(), 1);
    assert_eq!(
        git(&repo, &["branch", "--format=%(refname:short)"]),
        "main\nmosaic/x1"
    );
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]), head);
    assert!(!worktree_of(&repo, "x").parent().unwrap().exists());

    // A launch that fails once its worktree exists removes the worktree again.
    let run = fleet.run(&[
        "fleet",
        "launch",
        "quick",
        "--worktree",
        "--detach",
        "--cwd",
        repo.to_str().unwrap(),
        "--",
        "false",
    ]);
    run.expect_code(1);
    assert!(run.stderr.contains("exited at once"), "{}", run.stderr);
    assert!(run.stderr.contains("removed again"), "{}", run.stderr);
    assert!(!worktree_of(&repo, "quick").exists());
    assert!(!branch_exists(&repo, "mosaic/quick"));
    assert_eq!(git(&repo, &["worktree", "list"]).lines().count(), 1);
    assert!(fleet.metadata("quick").unwrap()["worktree"].is_null());
}

#[test]
fn diff_shows_commits_changes_and_untracked_files_without_touching_the_index() {
    let fleet = FleetSandbox::new();
    let repo = repository(&fleet);
    launch_in_worktree(&fleet, "a1", &repo, &[]);
    let dir = worktree_of(&repo, "a1");

    let run = fleet.run(&["fleet", "diff", "a1"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("no changes"), "{}", run.stderr);

    // A commit, an uncommitted change, an untracked file, an ignored file.
    std::fs::write(dir.join("committed.txt"), "committed line\n").unwrap();
    git(&dir, &["add", "committed.txt"]);
    git(&dir, &["commit", "--quiet", "-m", "agent work"]);
    std::fs::write(dir.join("lib.txt"), "one\nchanged line\n").unwrap();
    std::fs::create_dir_all(dir.join("notes")).unwrap();
    std::fs::write(dir.join("notes/new.txt"), "untracked line\n").unwrap();
    std::fs::create_dir_all(dir.join("target")).unwrap();
    std::fs::write(dir.join("target/build.out"), "ignored line\n").unwrap();
    let status_before = git(&dir, &["status", "--porcelain"]);
    let index = PathBuf::from(git(
        &dir,
        &["rev-parse", "--path-format=absolute", "--git-path", "index"],
    ));
    let index_before = std::fs::read(&index).unwrap();

    let run = fleet.run(&["fleet", "diff", "a1"]);
    run.expect_code(0);
    for expected in [
        "+committed line",
        "+changed line",
        "diff --git a/notes/new.txt b/notes/new.txt",
        "new file mode",
        "+untracked line",
    ] {
        assert!(run.stdout.contains(expected), "{expected}: {}", run.stdout);
    }
    assert!(!run.stdout.contains("ignored line"), "{}", run.stdout);

    let stat = fleet.run(&["fleet", "diff", "a1", "--stat"]);
    stat.expect_code(0);
    for file in ["committed.txt", "lib.txt", "notes/new.txt"] {
        assert!(stat.stdout.contains(file), "{file}: {}", stat.stdout);
    }
    assert!(stat.stdout.contains("3 files changed"), "{}", stat.stdout);

    // The user's index and status are as they were: new.txt is still untracked.
    assert_eq!(git(&dir, &["status", "--porcelain"]), status_before);
    assert!(status_before.contains("?? notes/"), "{status_before}");
    assert_eq!(std::fs::read(&index).unwrap(), index_before);

    // An agent without a worktree has nothing to diff against.
    fleet.launch("plain", &["sleep", "1000"]);
    let run = fleet.run(&["fleet", "diff", "plain"]);
    run.expect_code(1);
    assert!(run.stderr.contains("without --worktree"), "{}", run.stderr);
}

#[test]
fn rm_refuses_to_lose_work_and_force_overrides() {
    let fleet = FleetSandbox::new();
    let repo = repository(&fleet);
    launch_in_worktree(&fleet, "a1", &repo, &[]);
    let dir = worktree_of(&repo, "a1");
    std::fs::write(dir.join("scratch.txt"), "draft\n").unwrap();

    // Running: refused, whatever --force says.
    let run = fleet.run(&["fleet", "rm", "a1", "--force"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("mosaic fleet stop a1"),
        "{}",
        run.stderr
    );

    // Stopping never touches the worktree.
    fleet.run(&["fleet", "stop", "a1"]).expect_code(0);
    assert!(dir.join("scratch.txt").is_file());
    assert!(branch_exists(&repo, "mosaic/a1"));

    // An untracked file: refused, naming it.
    let run = fleet.run(&["fleet", "rm", "a1"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("1 untracked file (scratch.txt)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert!(dir.join("scratch.txt").is_file());

    // Committed on its branch only: refused, naming the commit.
    git(&dir, &["add", "scratch.txt"]);
    git(&dir, &["commit", "--quiet", "-m", "keep this draft"]);
    let run = fleet.run(&["fleet", "rm", "a1"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("1 commit on `mosaic/a1`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("keep this draft"), "{}", run.stderr);
    // A tracked file changed: refused too.
    std::fs::write(dir.join("lib.txt"), "edited\n").unwrap();
    let run = fleet.run(&["fleet", "rm", "a1"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("1 uncommitted change (lib.txt)"),
        "{}",
        run.stderr
    );
    git(&dir, &["checkout", "--quiet", "--", "lib.txt"]);

    // Once another branch holds the commit, nothing would be lost.
    git(&repo, &["branch", "review", "mosaic/a1"]);
    let dry = fleet.run(&["fleet", "rm", "a1", "--dry-run"]);
    dry.expect_code(0);
    assert!(
        dry.stdout.contains("would remove worktree"),
        "{}",
        dry.stdout
    );
    assert!(dir.is_dir());
    let run = fleet.run(&["fleet", "rm", "a1"]);
    run.expect_code(0);
    assert!(run.stdout.contains("removed worktree"), "{}", run.stdout);
    assert!(!dir.exists());
    assert!(!branch_exists(&repo, "mosaic/a1"));
    assert!(branch_exists(&repo, "review"));
    assert!(fleet.metadata("a1").is_none());
    assert_eq!(git(&repo, &["worktree", "list"]).lines().count(), 1);

    // --force removes unsaved work.
    launch_in_worktree(&fleet, "b1", &repo, &[]);
    let b1 = worktree_of(&repo, "b1");
    std::fs::write(b1.join("lib.txt"), "edited\n").unwrap();
    std::fs::write(b1.join("new.txt"), "new\n").unwrap();
    git(&b1, &["add", "new.txt"]);
    git(&b1, &["commit", "--quiet", "-m", "unmerged"]);
    std::fs::write(b1.join("more.txt"), "more\n").unwrap();
    fleet.run(&["fleet", "stop", "b1"]).expect_code(0);
    let run = fleet.run(&["fleet", "rm", "b1"]);
    run.expect_code(1);
    for part in ["1 uncommitted change", "1 untracked file", "1 commit on"] {
        assert!(run.stderr.contains(part), "{part}: {}", run.stderr);
    }
    fleet.run(&["fleet", "rm", "b1", "--force"]).expect_code(0);
    assert!(!b1.exists());
    assert!(!branch_exists(&repo, "mosaic/b1"));
    // The last worktree gone, the default `<repo>.worktrees` goes too.
    assert!(!b1.parent().unwrap().exists());
}

#[test]
fn prune_keeps_agents_whose_worktrees_hold_unsaved_work() {
    let fleet = FleetSandbox::new();
    let repo = repository(&fleet);
    launch_in_worktree(&fleet, "clean", &repo, &[]);
    launch_in_worktree(&fleet, "busy", &repo, &[]);
    let busy = worktree_of(&repo, "busy");
    std::fs::write(busy.join("wip.txt"), "wip\n").unwrap();
    fleet.run(&["fleet", "stop", "clean"]).expect_code(0);
    fleet.run(&["fleet", "stop", "busy"]).expect_code(0);

    let run = fleet.run(&["fleet", "prune"]);
    run.expect_code(0);
    assert!(run.stdout.contains("pruned clean"), "{}", run.stdout);
    assert!(!run.stdout.contains("pruned busy"), "{}", run.stdout);
    assert!(run.stderr.contains("kept agent `busy`"), "{}", run.stderr);
    assert!(run.stderr.contains("wip.txt"), "{}", run.stderr);
    assert!(!worktree_of(&repo, "clean").exists());
    assert!(!branch_exists(&repo, "mosaic/clean"));
    assert!(busy.join("wip.txt").is_file());
    assert!(fleet.metadata("busy").is_some());

    let run = fleet.run(&["fleet", "prune", "--force"]);
    run.expect_code(0);
    assert!(run.stdout.contains("pruned busy"), "{}", run.stdout);
    assert!(!busy.exists());
    assert!(!branch_exists(&repo, "mosaic/busy"));
}

#[test]
fn relaunching_an_agent_whose_worktree_remains_is_refused() {
    let fleet = FleetSandbox::new();
    let repo = repository(&fleet);
    launch_in_worktree(&fleet, "a1", &repo, &[]);
    fleet.run(&["fleet", "stop", "a1"]).expect_code(0);
    let run = fleet.run(&["fleet", "launch", "a1", "--detach", "--", "sleep", "1000"]);
    run.expect_code(1);
    assert!(run.stderr.contains("mosaic fleet rm a1"), "{}", run.stderr);
    assert!(worktree_of(&repo, "a1").is_dir());
    assert!(fleet.metadata("a1").unwrap()["worktree"].is_object());
}

#[test]
fn a_mistyped_launch_option_is_a_usage_error() {
    let fleet = FleetSandbox::new();
    let run = fleet.run(&["fleet", "launch", "a1", "--detatch"]);
    run.expect_code(2);
    assert!(run.stderr.contains("'--detatch'"), "{}", run.stderr);
    assert!(
        run.stderr.contains("'--detach'"),
        "clap's suggestion: {}",
        run.stderr
    );
    // A command comes only after `--`.
    let run = fleet.run(&["fleet", "launch", "a1", "--detach", "sleep", "1000"]);
    run.expect_code(2);
    assert!(run.stderr.contains("-- <COMMAND>"), "{}", run.stderr);
    // Nothing ran.
    assert!(!fleet.tmux(&["list-sessions"]).status.success());
    assert!(fleet.metadata("a1").is_none());
    // After `--`, words that look like options belong to the command.
    fleet.launch("a1", &["sh", "-c", "sleep 1000", "--detatch"]);
    let metadata = fleet.metadata("a1").unwrap();
    assert_eq!(
        metadata["command"],
        serde_json::json!(["sh", "-c", "sleep 1000", "--detatch"])
    );
}
