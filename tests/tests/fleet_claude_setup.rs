//! Claude Code's own first-run and trust questions, seen by `mosaic fleet launch`
//! (installed binary, private tmux, temp HOME and `.claude.json`): a launch that
//! will stop at one says so and records it; a git worktree of a trusted repository
//! is trusted before launch (`fleet.trust_worktrees`); `CLAUDE_CONFIG_DIR` decides
//! where `.claude.json` is; `config hooks list` warns when the directory Mosaic
//! manages is not the one Claude Code reads.
//!
//! Most tests run a stand-in `claude` (a script that sleeps) so they need no Claude
//! Code; the last runs the real one (skipped without `claude`, unless `CI` is set).

mod fleet_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use fleet_support::{wait_until, FleetSandbox};
use mosaic_tests::{tool_or_skip, Sandbox};
use serde_json::{json, Value};

/// A fleet sandbox whose PATH starts with a stand-in `claude` that just waits.
fn fleet_with_stand_in_claude(plugins: &[&str]) -> FleetSandbox {
    let mut sandbox = Sandbox::with_plugins(plugins);
    let bin = sandbox.root().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let claude = bin.join("claude");
    std::fs::write(&claude, "#!/bin/sh\nexec sleep 600\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    sandbox.env("PATH", &path);
    FleetSandbox::with_sandbox(sandbox)
}

fn git(directory: &Path, arguments: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(directory)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(arguments)
        .status()
        .unwrap();
    assert!(status.success(), "git {arguments:?}");
}

/// A repository with a commit at `<root>/repo` and a linked worktree of it at
/// `<root>/repo.worktrees/a1` (real paths).
fn repository_with_worktree(root: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(root).unwrap();
    let repository = root.canonicalize().unwrap().join("repo");
    std::fs::create_dir_all(&repository).unwrap();
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
            "w/a1",
            worktree.to_str().unwrap(),
        ],
    );
    (repository, worktree)
}

fn write_json(path: &Path, value: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn launch_claude(fleet: &FleetSandbox, agent: &str, cwd: &Path) -> mosaic_tests::Run {
    fleet.run(&[
        "fleet",
        "launch",
        agent,
        "--runtime",
        "claude",
        "--no-gateway",
        "--detach",
        "--cwd",
        cwd.to_str().unwrap(),
    ])
}

#[test]
fn a_fresh_home_launch_says_the_agent_waits_for_first_run_setup() {
    let fleet = fleet_with_stand_in_claude(&["fleet"]);
    let work = tempfile::tempdir().unwrap();
    let run = launch_claude(&fleet, "a1", work.path());
    run.expect_code(0);
    assert!(
        run.stderr.contains("agent `a1` will wait for your answer")
            && run.stderr.contains("first-run setup")
            && run.stderr.contains("mosaic fleet attach a1"),
        "{}",
        run.stderr
    );
    let question = fleet.metadata("a1").unwrap()["pending_question"].clone();
    assert!(
        question.as_str().unwrap().contains("first-run setup"),
        "{question}"
    );
    assert!(
        !fleet.sandbox.home().join(".claude.json").exists(),
        "nothing is written for the user"
    );

    // A runtime that is not Claude Code asks nothing Mosaic knows of.
    let run = fleet.run(&["fleet", "launch", "a2", "--detach", "--", "sleep", "600"]);
    run.expect_code(0);
    assert!(!run.stderr.contains("will wait"), "{}", run.stderr);
    assert_eq!(fleet.metadata("a2").unwrap().get("pending_question"), None);
}

#[test]
fn an_untrusted_folder_is_reported_from_claude_config_dir() {
    let mut fleet = fleet_with_stand_in_claude(&["fleet"]);
    let config_dir = fleet.sandbox.root().join("claude-config");
    fleet
        .sandbox
        .env("CLAUDE_CONFIG_DIR", config_dir.to_str().unwrap());
    let work = tempfile::tempdir().unwrap();
    let folder = work.path().canonicalize().unwrap();
    // Onboarded and trusting the folder, but in $HOME: not where Claude Code looks.
    let trusting = json!({"hasCompletedOnboarding": true, "projects": {
        folder.to_str().unwrap(): {"hasTrustDialogAccepted": true}
    }});
    write_json(&fleet.sandbox.home().join(".claude.json"), &trusting);
    write_json(
        &config_dir.join(".claude.json"),
        &json!({"hasCompletedOnboarding": true}),
    );
    let run = launch_claude(&fleet, "a1", &folder);
    run.expect_code(0);
    let expected = format!("whether to trust the files in {}", folder.display());
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert!(!run.stderr.contains("first-run"), "{}", run.stderr);
    fleet.run(&["fleet", "stop", "a1"]).expect_code(0);

    // Trusted where Claude Code looks: nothing to wait for.
    write_json(&config_dir.join(".claude.json"), &trusting);
    let run = launch_claude(&fleet, "a2", &folder.join("."));
    run.expect_code(0);
    assert!(!run.stderr.contains("will wait"), "{}", run.stderr);
    assert_eq!(fleet.metadata("a2").unwrap().get("pending_question"), None);
}

#[test]
fn a_worktree_of_a_trusted_repository_is_trusted_before_launch() {
    let fleet = fleet_with_stand_in_claude(&["fleet"]);
    let (repository, worktree) = repository_with_worktree(&fleet.sandbox.root().join("src"));
    let state_path = fleet.sandbox.home().join(".claude.json");
    let original = json!({
        "numStartups": 7,
        "hasCompletedOnboarding": true,
        "projects": {repository.to_str().unwrap(): {
            "hasTrustDialogAccepted": true, "allowedTools": ["Bash(ls)"]
        }},
        "oauthAccount": {"emailAddress": "someone@example.com"}
    });
    write_json(&state_path, &original);

    // Switched off: the question stays, and the file is left alone.
    fleet.set_config("fleet.trust_worktrees", "false");
    let run = launch_claude(&fleet, "off", &worktree);
    run.expect_code(0);
    assert!(
        run.stderr.contains("will wait for your answer") && run.stderr.contains("trust"),
        "{}",
        run.stderr
    );
    assert_eq!(read_json(&state_path), original);
    fleet.run(&["fleet", "stop", "off"]).expect_code(0);

    // On (the default): trusted like its repository, every other key kept.
    fleet.set_config("fleet.trust_worktrees", "true");
    let run = launch_claude(&fleet, "on", &worktree);
    run.expect_code(0);
    assert!(!run.stderr.contains("will wait"), "{}", run.stderr);
    assert_eq!(fleet.metadata("on").unwrap().get("pending_question"), None);
    let mut state = read_json(&state_path);
    assert_eq!(
        state["projects"][worktree.to_str().unwrap()]["hasTrustDialogAccepted"],
        json!(true)
    );
    state["projects"]
        .as_object_mut()
        .unwrap()
        .remove(worktree.to_str().unwrap());
    assert_eq!(state, original);
}

#[test]
fn hooks_list_warns_when_claude_code_reads_another_directory() {
    let mut sandbox = Sandbox::with_plugins(&["hooks"]);
    let run = sandbox.run(["config", "hooks", "list", "--json"]);
    run.expect_code(0);
    assert_eq!(run.json()["warnings"], json!([]));

    let elsewhere = sandbox.root().join("claude-config");
    sandbox.env("CLAUDE_CONFIG_DIR", elsewhere.to_str().unwrap());
    let run = sandbox.run(["config", "hooks", "list", "--json"]);
    run.expect_code(0);
    let warnings = run.json()["warnings"].clone();
    let warning = warnings[0].as_str().unwrap();
    assert!(
        warning.contains(&format!("Claude Code reads {}", elsewhere.display())),
        "{warning}"
    );
    let run = sandbox.run(["config", "hooks", "list"]);
    assert!(
        run.stderr.contains("warning: Mosaic manages hooks in"),
        "{}",
        run.stderr
    );
}

/// The real Claude Code agrees with the launch: in an untrusted folder it shows
/// its trust question; in a worktree the launch trusted, it does not.
#[test]
fn real_claude_code_asks_exactly_when_the_launch_says_it_will() {
    if tool_or_skip("fleet_claude_setup", "claude").is_none() {
        return;
    }
    let mut sandbox = Sandbox::with_plugins(&["fleet"]);
    sandbox
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("DISABLE_ERROR_REPORTING", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
    let fleet = FleetSandbox::with_sandbox(sandbox);
    let (repository, worktree) = repository_with_worktree(&fleet.sandbox.root().join("src"));
    let untrusted = fleet.sandbox.root().canonicalize().unwrap().join("plain");
    std::fs::create_dir_all(&untrusted).unwrap();
    write_json(
        &fleet.sandbox.home().join(".claude.json"),
        &json!({"hasCompletedOnboarding": true, "projects": {
            repository.to_str().unwrap(): {"hasTrustDialogAccepted": true}
        }}),
    );
    let screen = |agent: &str| {
        let output = fleet.tmux(&["capture-pane", "-p", "-t", &format!("=mosaic-{agent}:")]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    };

    let run = launch_claude(&fleet, "asks", &untrusted);
    run.expect_code(0);
    assert!(
        run.stderr.contains("will wait for your answer"),
        "{}",
        run.stderr
    );
    let mut last = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !last.contains("trust this folder") {
        assert!(
            std::time::Instant::now() < deadline,
            "Claude Code did not ask about trust; its screen:\n{last}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
        last = screen("asks");
    }

    let run = launch_claude(&fleet, "trusted", &worktree);
    run.expect_code(0);
    assert!(!run.stderr.contains("will wait"), "{}", run.stderr);
    wait_until("Claude Code to show its prompt", || {
        let text = screen("trusted");
        assert!(!text.contains("trust this folder"), "{text}");
        text.contains(worktree.to_str().unwrap()) && text.contains('❯')
    });
}
