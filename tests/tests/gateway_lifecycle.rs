//! The gateway's life through the installed binary: headless install, the API,
//! stop/start with the data kept, SIGKILL recovery, stale pid files, a corrupt
//! config, uninstall; starts and stops racing each other; stop, status and
//! uninstall working from what they can read. Each test runs its own daemon on a free port in a temp HOME
//! (the built-in supervisor: there is no systemd here) and kills it at the end.

mod gateway_support;

use std::time::Duration;

use gateway_support::lifecycle::*;
use gateway_support::*;
use mosaic_tests::Run;
use nix::sys::signal::Signal;
use serde_json::json;

#[test]
fn install_login_manage_users_restart_and_uninstall() {
    let gateway = GatewaySandbox::new();
    let port = gateway.port;
    let install = gateway.install();
    install.expect_code(0);
    assert!(
        install.stdout.contains(&format!("http://127.0.0.1:{port}")),
        "{}",
        install.stdout
    );
    assert!(
        install
            .stdout
            .contains("admin:            ada@example.com (created)"),
        "{}",
        install.stdout
    );
    assert!(
        install.stderr.contains("built-in supervisor"),
        "{}",
        install.stderr
    );
    assert!(!install.stdout.contains(ADMIN_PASSWORD) && !install.stderr.contains(ADMIN_PASSWORD));

    // The config is private and holds what the daemon needs; no bootstrap token is
    // left once the admin exists.
    let config = std::fs::read_to_string(gateway.config_file()).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(gateway.config_file())
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let config: serde_json::Value = serde_json::from_str(&config).unwrap();
    assert_eq!(config["gateway"]["port"], json!(port));
    assert_eq!(config["gateway"]["service_manager"], json!("supervisor"));
    assert!(!gateway
        .sandbox
        .config_dir()
        .join("gateway/bootstrap-token")
        .exists());

    // Health.
    let health = http(port, "GET", "/health", &[], None);
    assert_eq!(health.status, 200);
    let health = health.json();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["tier"], "local");
    assert!(health["uptime_s"].is_u64() && health["version"].is_string());

    // The admin logs in and creates a user, who logs in but may not list users.
    let admin = token(port, ADMIN_EMAIL, ADMIN_PASSWORD);
    let bearer = format!("Bearer {admin}");
    let me = http(
        port,
        "GET",
        "/api/auth/me",
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["user"]["role"], "admin");
    let created = post_json(
        port,
        "/api/users",
        &[("Authorization", &bearer)],
        &json!({"name": "Bob", "email": "bob@example.com", "password": "bob-password"}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let bob_id = created.json()["user"]["id"].as_i64().unwrap();
    let duplicate = post_json(
        port,
        "/api/users",
        &[("Authorization", &bearer)],
        &json!({"name": "Bob", "email": "BOB@example.com", "password": "bob-password"}),
    );
    assert_eq!(duplicate.status, 409, "{}", duplicate.body);
    let bob = token(port, "bob@example.com", "bob-password");
    let bob_bearer = format!("Bearer {bob}");
    let bob_me = http(
        port,
        "GET",
        "/api/auth/me",
        &[("Authorization", &bob_bearer)],
        None,
    );
    assert_eq!(bob_me.json()["user"]["email"], "bob@example.com");
    let forbidden = http(
        port,
        "GET",
        "/api/users",
        &[("Authorization", &bob_bearer)],
        None,
    );
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);
    assert_eq!(forbidden.json()["error"]["code"], "forbidden");
    let listed = http(
        port,
        "GET",
        "/api/users",
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(listed.json()["users"].as_array().unwrap().len(), 2);

    // The cookie works like the bearer token; logout ends the session.
    let cookie = format!("mosaic_session={bob}");
    let by_cookie = http(port, "GET", "/api/auth/me", &[("Cookie", &cookie)], None);
    assert_eq!(by_cookie.status, 200, "{}", by_cookie.body);

    // Stop, start: users and sessions are still there.
    gateway.run(&["gateway", "stop"]).expect_code(0);
    assert!(!gateway.healthy());
    let status = gateway.run(&["--json", "gateway", "status"]);
    status.expect_code(3);
    assert_eq!(status.json()["running"], json!(false));
    gateway.run(&["gateway", "start"]).expect_code(0);
    assert!(gateway.healthy());
    let again = http(
        port,
        "GET",
        "/api/auth/me",
        &[("Authorization", &bob_bearer)],
        None,
    );
    assert_eq!(
        again.status, 200,
        "a session survives a restart: {}",
        again.body
    );
    token(port, "bob@example.com", "bob-password");

    let logout = http(
        port,
        "POST",
        "/api/auth/logout",
        &[("Authorization", &bob_bearer)],
        None,
    );
    assert_eq!(logout.status, 204);
    let after = http(
        port,
        "GET",
        "/api/auth/me",
        &[("Authorization", &bob_bearer)],
        None,
    );
    assert_eq!(after.status, 401);

    // Deleting a user ends their sessions; the last admin cannot be deleted.
    let bob_again = token(port, "bob@example.com", "bob-password");
    let path = format!("/api/users/{bob_id}");
    let deleted = http(port, "DELETE", &path, &[("Authorization", &bearer)], None);
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let gone = http(
        port,
        "GET",
        "/api/auth/me",
        &[("Authorization", &format!("Bearer {bob_again}"))],
        None,
    );
    assert_eq!(gone.status, 401);
    let admin_id = me.json()["user"]["id"].as_i64().unwrap();
    let last_admin = http(
        port,
        "DELETE",
        &format!("/api/users/{admin_id}"),
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(last_admin.status, 409);

    // Status while running.
    let status = gateway.run(&["--json", "gateway", "status"]);
    status.expect_code(0);
    let status = status.json();
    assert_eq!(status["installed"], json!(true));
    assert_eq!(status["running"], json!(true));
    assert_eq!(status["health"], "ok");
    assert_eq!(status["admin_present"], json!(true));
    assert_eq!(status["service_manager"], "supervisor");
    assert_eq!(status["pid"], json!(gateway.daemon_pid().unwrap()));

    // Re-running install keeps the data and the admin, and restarts the daemon.
    let old_pid = gateway.daemon_pid().unwrap();
    let reinstall = gateway.install();
    reinstall.expect_code(0);
    assert!(
        reinstall.stderr.contains("an admin already exists"),
        "{}",
        reinstall.stderr
    );
    assert_ne!(gateway.daemon_pid().unwrap(), old_pid);
    token(port, ADMIN_EMAIL, ADMIN_PASSWORD);

    // The log has the daemon's lines, and `logs -n` shows the tail.
    let logs = gateway.run(&["gateway", "logs", "-n", "5"]);
    logs.expect_code(0);
    assert!(logs.stdout.lines().count() <= 5, "{}", logs.stdout);
    let log = std::fs::read_to_string(gateway.log_file()).unwrap();
    assert!(log.contains("listening on http://127.0.0.1"), "{log}");
    assert!(log.contains("SIGTERM received"), "{log}");
    assert!(log.contains("storage closed"), "{log}");
    for secret in [ADMIN_PASSWORD, admin.as_str(), bob.as_str()] {
        assert!(!log.contains(secret), "a secret is in the log:\n{log}");
    }

    // Uninstall stops the daemon and removes the settings but keeps the data.
    let uninstall = gateway.run(&["gateway", "uninstall"]);
    uninstall.expect_code(0);
    assert!(!gateway.healthy());
    assert!(gateway.daemon_processes().is_empty());
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(gateway.config_file()).unwrap()).unwrap();
    assert!(config.get("gateway").is_none(), "{config}");
    let database = gateway
        .sandbox
        .home()
        .join(".local/share/mosaic/gateway/gateway.db");
    assert!(database.exists());
    let status = gateway.run(&["--json", "gateway", "status"]);
    assert_eq!(status.json()["installed"], json!(false));
    gateway
        .run(&["gateway", "uninstall", "--purge"])
        .expect_code(0);
    assert!(!database.exists());
}

#[test]
fn a_killed_gateway_is_reported_and_start_brings_it_back_with_its_data() {
    let gateway = GatewaySandbox::new();
    gateway.install().expect_code(0);
    let pid = gateway.daemon_pid().unwrap();
    // Both processes die at once (as in an out-of-memory kill): nothing restarts.
    for process in gateway
        .supervisor_processes()
        .into_iter()
        .chain(gateway.daemon_processes())
    {
        signal(process, Signal::SIGKILL);
    }
    assert!(
        wait_for(Duration::from_secs(10), || !gateway.healthy()),
        "the killed daemon still answers"
    );
    // The pid file is still there (nobody removed it), but it is not trusted.
    assert!(gateway.pid_file().exists());
    let status = gateway.run(&["gateway", "status"]);
    status.expect_code(3);
    assert!(
        status.stdout.contains("gateway: not running"),
        "{}",
        status.stdout
    );
    let start = gateway.run(&["gateway", "start"]);
    start.expect_code(0);
    assert!(gateway.healthy());
    assert_ne!(gateway.daemon_pid(), Some(pid));
    token(gateway.port, ADMIN_EMAIL, ADMIN_PASSWORD);
}

/// Replaces config.json with `text` and checks that `gateway stop` still stops the
/// running gateway, saying what it could not read.
fn stop_with_config(gateway: &GatewaySandbox, text: &str) {
    gateway.run(&["gateway", "start"]).expect_code(0);
    assert!(gateway.healthy());
    let original = std::fs::read_to_string(gateway.config_file()).unwrap();
    std::fs::write(gateway.config_file(), text).unwrap();
    let status = gateway.run(&["gateway", "status"]);
    let stop = stop_everything(gateway);
    assert!(
        stop.stdout.starts_with("gateway stopped (daemon pid "),
        "{}",
        stop.stdout
    );
    std::fs::write(gateway.config_file(), original).unwrap();
    // What status could tell, from the pid files.
    assert!(
        status.stdout.contains("gateway: running (pid "),
        "{}\n{}",
        status.stdout,
        status.stderr
    );
}

#[test]
fn stop_works_when_config_json_is_broken() {
    let gateway = GatewaySandbox::new();
    gateway.install().expect_code(0);

    // Not JSON at all: stopped by the pid files, with a warning naming the file.
    gateway.run(&["gateway", "start"]).expect_code(0);
    let original = std::fs::read_to_string(gateway.config_file()).unwrap();
    std::fs::write(gateway.config_file(), "{ nope").unwrap();
    let status = gateway.run(&["gateway", "status"]);
    status.expect_code(1);
    assert!(
        status.stdout.starts_with("gateway: running (pid "),
        "{}",
        status.stdout
    );
    assert!(
        status.stderr.contains("config.json:1:3"),
        "{}",
        status.stderr
    );
    let stop = stop_everything(&gateway);
    assert!(
        stop.stderr.contains("cannot read the gateway's settings")
            && stop.stderr.contains("config.json:1:3"),
        "{}",
        stop.stderr
    );
    assert_eq!(
        std::fs::read_to_string(gateway.config_file()).unwrap(),
        "{ nope",
        "stop changed the broken file"
    );
    std::fs::write(gateway.config_file(), &original).unwrap();

    // Another section nested 200 deep: the gateway section is still read.
    let mut config: serde_json::Value = serde_json::from_str(&original).unwrap();
    config["junk"] = json!(null);
    let deep = format!("{}1{}", "{\"x\":".repeat(200), "}".repeat(200));
    let text = serde_json::to_string_pretty(&config)
        .unwrap()
        .replace("\"junk\": null", &format!("\"junk\": {deep}"));
    stop_with_config(&gateway, &text);
}

#[test]
fn status_says_why_it_cannot_tell_whether_an_admin_exists() {
    let gateway = GatewaySandbox::new();
    gateway.install().expect_code(0);
    gateway.run(&["gateway", "stop"]).expect_code(0);
    let database = gateway
        .sandbox
        .home()
        .join(".local/share/mosaic/gateway/gateway.db");
    std::fs::write(&database, "this is not a database\n".repeat(400)).unwrap();
    let status = gateway.run(&["gateway", "status"]);
    status.expect_code(3);
    let expected = format!(
        "admin present:    unknown (cannot read {}: file is not a database)",
        database.display()
    );
    assert!(status.stdout.contains(&expected), "{}", status.stdout);
    let json = gateway.run(&["--json", "gateway", "status"]);
    json.expect_code(3);
    let json = json.json();
    assert_eq!(json["admin_present"], json!(null));
    assert!(
        json["admin_present_error"]
            .as_str()
            .unwrap()
            .contains("file is not a database"),
        "{json}"
    );
}

#[test]
fn a_daemon_running_without_its_config_section_is_reported_and_uninstalled() {
    let gateway = GatewaySandbox::new();
    gateway.install().expect_code(0);
    let pid = gateway.daemon_pid().unwrap();
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(gateway.config_file()).unwrap()).unwrap();
    config.as_object_mut().unwrap().remove("gateway");
    std::fs::write(gateway.config_file(), config.to_string()).unwrap();

    let status = gateway.run(&["gateway", "status"]);
    status.expect_code(4);
    assert!(
        status
            .stdout
            .contains(&format!("gateway: running (pid {pid}) but not installed")),
        "{}",
        status.stdout
    );
    let json = gateway.run(&["--json", "gateway", "status"]);
    json.expect_code(4);
    assert_eq!(json.json()["installed"], json!(false));
    assert_eq!(json.json()["running"], json!(true));

    let uninstall = gateway.run(&["gateway", "uninstall"]);
    uninstall.expect_code(0);
    let said = format!("{}{}", uninstall.stdout, uninstall.stderr);
    assert!(said.contains("gateway was not installed"), "{said}");
    assert!(!said.contains("uninstalled"), "{said}");
    assert!(
        said.contains(&format!("gateway stopped (daemon pid {pid}")),
        "{said}"
    );
    assert!(gateway.daemon_processes().is_empty());
    assert!(gateway.supervisor_processes().is_empty());
    gateway.run(&["gateway", "status"]).expect_code(3);
}

#[test]
fn a_stale_pid_file_naming_another_process_is_not_trusted() {
    let gateway = GatewaySandbox::new();
    gateway.install().expect_code(0);
    gateway.run(&["gateway", "stop"]).expect_code(0);
    let mut stranger = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .expect("cannot run sleep");
    std::fs::write(gateway.pid_file(), format!("{}\n", stranger.id())).unwrap();

    let status = gateway.run(&["--json", "gateway", "status"]);
    status.expect_code(3);
    assert_eq!(status.json()["running"], json!(false));
    gateway.run(&["gateway", "stop"]).expect_code(0);
    let start = gateway.run(&["gateway", "start"]);
    start.expect_code(0);
    assert!(gateway.healthy());
    assert_eq!(
        stranger.try_wait().unwrap(),
        None,
        "the process named by the stale pid file was signalled"
    );
    stranger.kill().unwrap();
    stranger.wait().unwrap();
}

#[test]
fn a_corrupt_config_is_reported_with_its_position_and_only_replaced_with_force() {
    let gateway = GatewaySandbox::new();
    std::fs::create_dir_all(gateway.sandbox.config_dir()).unwrap();
    std::fs::write(gateway.config_file(), "{\n  \"fleet\": {\n    oops\n}\n").unwrap();
    let install = gateway.install();
    assert_ne!(install.code, 0);
    assert!(
        install.stderr.contains("config.json:3:5"),
        "{}",
        install.stderr
    );
    assert!(install.stderr.contains("--force"), "{}", install.stderr);
    assert_eq!(
        std::fs::read_to_string(gateway.config_file()).unwrap(),
        "{\n  \"fleet\": {\n    oops\n}\n",
        "the corrupt file was changed"
    );
    assert!(gateway.daemon_processes().is_empty());
    let status = gateway.run(&["gateway", "status"]);
    assert_eq!(status.code, 1);
    assert!(
        status.stderr.contains("config.json:3:5"),
        "{}",
        status.stderr
    );

    let port = gateway.port.to_string();
    let forced = Run::from_output(
        gateway
            .sandbox
            .command(["gateway", "install", "--force", "--port", &port])
            .env("MOSAIC_ADMIN_NAME", ADMIN_NAME)
            .env("MOSAIC_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("MOSAIC_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .output()
            .unwrap(),
    );
    forced.expect_code(0);
    let kept: Vec<_> = std::fs::read_dir(gateway.sandbox.config_dir())
        .unwrap()
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("config.json.corrupt-")
        })
        .collect();
    assert_eq!(kept.len(), 1, "the corrupt file is kept beside the new one");
    assert!(gateway.healthy());
}
