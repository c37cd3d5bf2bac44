//! The dashboard's agent API end to end: the installed `mosaic`, a real gateway
//! daemon, a real fleet agent in a private tmux server and real hook runs. The
//! daemon runs `mosaic fleet ps`, `config hooks audit` and `fleet logs` itself, so
//! these tests prove it finds the plugins, the run directory and the agent's tmux
//! server from the environment a service manager gives it. A slim install without
//! fleet says `not_installed` instead.

mod fleet_support;
mod gateway_support;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use fleet_support::{tmux, use_private_tmux};
use gateway_support::*;
use mosaic_tests::Sandbox;
use serde_json::{json, Value};

/// Kills the sandbox's private tmux server when the test ends.
struct TmuxServer(std::path::PathBuf);

impl Drop for TmuxServer {
    fn drop(&mut self) {
        let _ = tmux(&self.0, &["kill-server"]);
    }
}

/// Runs the Bash guard hook as Claude Code would for agent `agent`.
fn run_bash_guard(gateway: &GatewaySandbox, agent: &str, command: &str) {
    let input = json!({
        "session_id": "s-1", "cwd": gateway.sandbox.root(), "hook_event_name": "PreToolUse",
        "tool_name": "Bash", "tool_input": {"command": command},
    });
    let mut child = gateway
        .sandbox
        .command(["config", "hooks", "run", "bash-guard"])
        .env("MOSAIC_AGENT", agent)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    child.wait().unwrap();
}

fn get_json(port: u16, path: &str, token: &str) -> Value {
    let answer = http(
        port,
        "GET",
        path,
        &[("Authorization", &bearer(token))],
        None,
    );
    assert_eq!(answer.status, 200, "GET {path}: {}", answer.body);
    answer.json()
}

#[test]
fn the_dashboard_lists_a_real_agent_with_its_activity_and_pane() {
    let mut sandbox = Sandbox::new();
    use_private_tmux(&mut sandbox);
    let socket = sandbox.root().join("tmux.sock");
    let gateway = GatewaySandbox::in_sandbox(sandbox);
    let _tmux = TmuxServer(socket);
    let installed = gateway.install();
    installed.expect_code(0);
    let port = gateway.port;
    // install and status point the user at the dashboard.
    let dashboard = format!("http://127.0.0.1:{port}/");
    assert!(installed.stdout.contains(&dashboard), "{installed:?}");
    let status = gateway.run(&["--json", "gateway", "status"]);
    assert_eq!(status.json()["dashboard_url"], dashboard.as_str());
    let token = token(port, ADMIN_EMAIL, ADMIN_PASSWORD);

    // No agents yet.
    let empty = get_json(port, "/api/agents", &token);
    assert_eq!(empty["fleet"], "ok", "{empty}");
    assert_eq!(empty["agents"], json!([]));

    gateway
        .run(&[
            "fleet",
            "launch",
            "api",
            "--detach",
            "--",
            "sh",
            "-c",
            "echo pane-says-hello; sleep 600",
        ])
        .expect_code(0);
    run_bash_guard(&gateway, "api", "echo '<script>alert(1)</script>'");
    run_bash_guard(&gateway, "api", "rm -rf /");
    run_bash_guard(&gateway, "other", "ls");

    // The list is cached for about a second: poll until the agent is there.
    let mut listed = Value::Null;
    let found = wait_for(Duration::from_secs(30), || {
        listed = get_json(port, "/api/agents", &token);
        listed["agents"]
            .as_array()
            .is_some_and(|agents| agents.iter().any(|agent| agent["name"] == "api"))
    });
    assert!(found, "the agent never appeared: {listed}");
    let row = &listed["agents"][0];
    assert_eq!(row["name"], "api");
    assert!(
        ["alive", "stale", "dead"].contains(&row["status"].as_str().unwrap()),
        "{row}"
    );
    assert_eq!(listed["usage"], "ok");

    let mut page = Value::Null;
    let pane_seen = wait_for(Duration::from_secs(30), || {
        page = get_json(port, "/api/agents/api", &token);
        page["pane"]
            .as_array()
            .is_some_and(|lines| lines.iter().any(|line| line == "pane-says-hello"))
    });
    assert!(pane_seen, "the pane never showed: {page}");
    let activity = page["activity"].as_array().unwrap();
    assert_eq!(activity.len(), 2, "only agent api's entries: {page}");
    assert_eq!(activity[0]["summary"], "rm -rf /", "newest first: {page}");
    assert_eq!(activity[0]["decision"], "deny");
    assert_eq!(activity[1]["summary"], "echo '<script>alert(1)</script>'");
    assert_eq!(activity[1]["decision"], "allow");
    assert_eq!(activity[1]["tool"], "Bash");

    let missing = http(
        port,
        "GET",
        "/api/agents/nobody",
        &[("Authorization", &bearer(&token))],
        None,
    );
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"]["code"], "not_found");

    // The commands the daemon runs work on their own too.
    let audit = gateway.run(&["--json", "config", "hooks", "audit", "--agent", "api"]);
    audit.expect_code(0);
    assert_eq!(audit.json()["entries"].as_array().unwrap().len(), 2);
    let ps = gateway.run(&["--json", "fleet", "ps", "--no-usage"]);
    ps.expect_code(0);
    assert_eq!(ps.json()["gateway_usage"]["reason"], "--no-usage");
}

#[test]
fn a_slim_install_without_fleet_says_so() {
    let gateway = GatewaySandbox::in_sandbox(Sandbox::with_plugins(&["gateway"]));
    gateway.install().expect_code(0);
    let port = gateway.port;
    let token = token(port, ADMIN_EMAIL, ADMIN_PASSWORD);
    let listed = get_json(port, "/api/agents", &token);
    assert_eq!(listed["fleet"], "not_installed", "{listed}");
    assert_eq!(listed["agents"], json!([]));
    assert!(listed["problem"]
        .as_str()
        .unwrap()
        .contains("not installed"));
    // The page itself is served (it shows the problem).
    let page = http(
        port,
        "GET",
        "/agents",
        &[("Cookie", &format!("mosaic_session={token}"))],
        None,
    );
    assert_eq!(page.status, 200);
    assert!(page.body.contains("data-page=\"agents\""), "{}", page.body);
}

/// A password reset by an admin, through the dashboard's API, on `gateway`:
/// the user's old session ends, the old password stops working, the new one works.
fn reset_password_ends_the_users_sessions(gateway: &GatewaySandbox) {
    let port = gateway.port;
    let admin = token(port, ADMIN_EMAIL, ADMIN_PASSWORD);
    let created = post_json(
        port,
        "/api/users",
        &[("Authorization", &bearer(&admin))],
        &json!({"name": "Bob", "email": "bob@example.com", "password": "bobs first password"}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["user"]["id"].as_i64().unwrap();
    let bob = token(port, "bob@example.com", "bobs first password");
    // A cookie request without the CSRF token is refused and changes nothing.
    let forged = post_json(
        port,
        &format!("/api/users/{id}/password"),
        &[("Cookie", &format!("mosaic_session={admin}"))],
        &json!({"password": "chosen by an attacker"}),
    );
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert_eq!(forged.json()["error"]["code"], "csrf");
    let reset = post_json(
        port,
        &format!("/api/users/{id}/password"),
        &[("Authorization", &bearer(&admin))],
        &json!({"password": "bobs second password"}),
    );
    assert_eq!(reset.status, 204, "{}", reset.body);
    let old = http(
        port,
        "GET",
        "/api/auth/me",
        &[("Authorization", &bearer(&bob))],
        None,
    );
    assert_eq!(old.status, 401);
    assert_eq!(
        login(port, "bob@example.com", "bobs first password").status,
        401
    );
    assert_eq!(
        login(port, "bob@example.com", "chosen by an attacker").status,
        401
    );
    assert_eq!(
        login(port, "bob@example.com", "bobs second password").status,
        200
    );
}

#[test]
fn a_password_reset_ends_the_users_sessions_in_the_local_tier() {
    let gateway = GatewaySandbox::new();
    gateway.install().expect_code(0);
    reset_password_ends_the_users_sessions(&gateway);
}

#[test]
fn a_password_reset_ends_the_users_sessions_in_the_team_tier() {
    let postgres = services::Postgres::start();
    let valkey = services::Valkey::start();
    let gateway = GatewaySandbox::new();
    gateway.install_team(&postgres, &valkey).expect_code(0);
    reset_password_ends_the_users_sessions(&gateway);
}
