//! Helpers of the dashboard's browser tests: a sandbox with every plugin, a real
//! gateway daemon on a free port, Mosaic's hooks installed, a private tmux server for
//! real fleet agents, and `chromedriver` driving headless Chromium ([`webdriver`]).
//!
//! Everything started here ends when the [`Dashboard`] is dropped, pass or fail:
//! the browsers and their driver, the gateway daemon and its supervisor, and the
//! tmux server with the agents in it. Declare browsers after the dashboard, so they
//! are dropped (their sessions deleted) first.

pub mod webdriver;

use std::path::PathBuf;

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
