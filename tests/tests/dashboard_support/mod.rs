//! Helpers of the dashboard's browser tests: a sandbox with every plugin, a real
//! gateway daemon on a free port, Mosaic's hooks installed, a private tmux server for
//! real fleet agents, and `chromedriver` driving headless Chromium ([`webdriver`]).
//!
//! Everything started here ends when the [`Dashboard`] is dropped, pass or fail:
//! the browsers and their driver, the gateway daemon and its supervisor, and the
//! tmux server with the agents in it. Declare browsers after the dashboard, so they
//! are dropped (their sessions deleted) first.

pub mod webdriver;

use std::path::{Path, PathBuf};
use std::process::Command;

use mosaic_tests::{target_dir, tool_or_skip, Run, Sandbox};
use serde_json::{json, Value};

use crate::fleet_support::{tmux, use_private_tmux, wait_until};
use crate::gateway_support::{GatewaySandbox, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::hooks_support::{hook_command_for, run_like_claude};
use webdriver::{Browser, ChromeDriver};

/// Where every test's screenshots go: `target/dashboard-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    target_dir().join("dashboard-screenshots")
}

/// One test's world: gateway, hooks, private tmux and a WebDriver server.
pub struct Dashboard {
    /// The test's name, the prefix of its screenshots.
    test: String,
    /// The driver; killed (with its browsers) before the gateway.
    driver: ChromeDriver,
    /// The sandbox and its running gateway.
    pub gateway: GatewaySandbox,
}

impl Dashboard {
    /// Sets everything up for `test`, with the gateway's CORS origin at its
    /// default; `None` when a tool it needs is missing outside CI (see
    /// [`tool_or_skip`]).
    pub fn start(test: &str) -> Option<Dashboard> {
        Self::start_with(test, &[])
    }

    /// Like [`Dashboard::start`], with more environment variables for `gateway
    /// install` (e.g. `MOSAIC_CORS_ORIGIN`).
    pub fn start_with(test: &str, install_environment: &[(&str, &str)]) -> Option<Dashboard> {
        let chromedriver = tool_or_skip(test, "chromedriver")?;
        tool_or_skip(test, "chromium")?;
        tool_or_skip(test, "tmux")?;
        let mut sandbox = Sandbox::new();
        use_private_tmux(&mut sandbox);
        let gateway = GatewaySandbox::in_sandbox(sandbox);
        gateway.install_with(install_environment).expect_code(0);
        wait_until("the gateway to answer /health", || gateway.healthy());
        gateway.run(&["config", "hooks", "install"]).expect_code(0);
        std::fs::create_dir_all(screenshot_dir()).unwrap();
        let driver = ChromeDriver::start(&chromedriver, gateway.sandbox.root());
        Some(Dashboard {
            test: test.to_string(),
            driver,
            gateway,
        })
    }

    /// A new browser with an empty profile (no cookies); `name` tells profiles apart.
    pub fn browser(&self, name: &str) -> Browser {
        self.driver.new_browser(name)
    }

    /// `http://127.0.0.1:<gateway port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.gateway.port)
    }

    /// The gateway's origin.
    pub fn origin(&self) -> String {
        self.url("")
    }

    /// Runs `mosaic ARGS` in the sandbox.
    pub fn run(&self, args: &[&str]) -> Run {
        self.gateway.run(args)
    }

    /// Saves a screenshot of `browser` as
    /// `target/dashboard-screenshots/<test>-<step>.png`; returns its path.
    pub fn screenshot(&self, browser: &Browser, step: &str) -> PathBuf {
        let path = screenshot_dir().join(format!("{}-{step}.png", self.test));
        std::fs::write(&path, browser.screenshot())
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
        path
    }

    /// Signs in through the login form and waits for the agents page.
    #[track_caller]
    pub fn sign_in(&self, browser: &Browser, email: &str, password: &str) {
        browser.open(&self.url("/login"));
        browser.wait_for_element("the login form", "#login-form");
        browser.fill("#login-email", email);
        browser.fill("#login-password", password);
        browser.click(&browser.find("#login-submit"));
        browser.wait_ready("/agents");
    }

    /// Signs in as the admin the gateway was installed with.
    #[track_caller]
    pub fn sign_in_as_admin(&self, browser: &Browser) {
        self.sign_in(browser, ADMIN_EMAIL, ADMIN_PASSWORD);
    }

    /// `fleet launch AGENT --detach -- sh -c SCRIPT` in the private tmux server;
    /// waits until `fleet ps` shows it alive.
    #[track_caller]
    pub fn launch(&self, agent: &str, script: &str) {
        self.run(&[
            "fleet", "launch", agent, "--detach", "--", "sh", "-c", script,
        ])
        .expect_code(0);
        self.wait_alive(agent);
    }

    /// A git repository `<sandbox>/src/<name>` on branch `main` with a few commits,
    /// like a user's project; returns its directory.
    #[track_caller]
    pub fn git_repository(&self, name: &str) -> PathBuf {
        let repo = self.gateway.sandbox.root().join("src").join(name);
        std::fs::create_dir_all(repo.join("src")).unwrap();
        self.git(&repo, &["init", "--quiet", "--initial-branch=main"]);
        std::fs::write(repo.join("README.md"), format!("# {name}\n")).unwrap();
        self.git(&repo, &["add", "."]);
        self.git(&repo, &["commit", "--quiet", "-m", "Start the project"]);
        std::fs::write(repo.join("src/lib.rs"), "pub fn shop() {}\n").unwrap();
        self.git(&repo, &["add", "."]);
        self.git(&repo, &["commit", "--quiet", "-m", "Add the library"]);
        repo
    }

    /// Runs git in `dir` with the sandbox's home and an identity for commits (and
    /// nothing of the caller's git environment); fails the test unless it succeeds.
    #[track_caller]
    fn git(&self, dir: &Path, args: &[&str]) {
        let output = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=Dashboard Test"])
            .args(["-c", "user.email=dashboard@test.invalid"])
            .args(["-c", "commit.gpgsign=false"])
            .args(args)
            .env("HOME", self.gateway.sandbox.home())
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .output()
            .expect("cannot run git");
        assert!(
            output.status.success(),
            "git {args:?} failed in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// `fleet launch AGENT --worktree --branch BRANCH --detach -- sh -c SCRIPT` run
    /// from inside the git repository `repo`, as a user starts agents in a project:
    /// each in a worktree of its own on its own branch. Waits until `fleet ps` shows
    /// it alive.
    #[track_caller]
    pub fn launch_in_worktree(&self, agent: &str, repo: &Path, branch: &str, script: &str) {
        let output = self
            .gateway
            .sandbox
            .command([
                "fleet",
                "launch",
                agent,
                "--worktree",
                "--branch",
                branch,
                "--detach",
                "--",
                "sh",
                "-c",
                script,
            ])
            .current_dir(repo)
            .output()
            .expect("cannot run mosaic");
        Run::from_output(output).expect_code(0);
        self.wait_alive(agent);
    }

    /// Waits until `fleet ps` shows `agent` alive.
    #[track_caller]
    fn wait_alive(&self, agent: &str) {
        wait_until(&format!("agent {agent} to be alive"), || {
            let run = self.run(&["fleet", "ps", "--json"]);
            run.code == 0
                && run.json()["agents"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|row| row["agent"] == agent && row["status"] == "alive")
        });
    }

    /// Runs Mosaic's hook for `event` as Claude Code would (the command from
    /// settings.json through `sh -c`, the JSON on stdin) for agent `agent`, with
    /// Claude Code's common fields plus `fields`; returns what the hook answered.
    #[track_caller]
    pub fn fire(&self, agent: &str, event: &str, fields: Value) -> Run {
        let mut input = json!({
            "session_id": format!("session-{agent}"),
            "transcript_path": "/dev/null",
            "cwd": "/",
            "hook_event_name": event,
        });
        for (key, value) in fields.as_object().expect("hook fields are an object") {
            input[key] = value.clone();
        }
        let sandbox = &self.gateway.sandbox;
        let command = hook_command_for(sandbox, event);
        let run = run_like_claude(sandbox, &command, &input, &[("MOSAIC_AGENT", agent)]);
        run.expect_code(0);
        run
    }

    /// The gateway's keys (`gateway keys list --json`).
    #[track_caller]
    pub fn keys(&self) -> Vec<Value> {
        let run = self.run(&["gateway", "keys", "list", "--json"]);
        run.expect_code(0);
        run.json()["keys"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("no keys array in {}", run.stdout))
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        // The panes end, and their heartbeat sidecars with them.
        let _ = tmux(
            &self.gateway.sandbox.root().join("tmux.sock"),
            &["kill-server"],
        );
    }
}
