//! Every headless `gateway install` failure exits non-zero with a one-line reason,
//! and leaves no config file and no daemon behind.

mod gateway_support;

use std::net::TcpListener;

use gateway_support::*;
use mosaic_tests::Run;

/// Runs a headless install with `args` and the given admin variables, and checks
/// that it failed cleanly with `expected` in its error.
fn assert_refused(args: &[&str], admin: &[(&str, &str)], expected: &str) {
    let gateway = GatewaySandbox::new();
    let port = gateway.port.to_string();
    let mut command = gateway.sandbox.command(["gateway", "install"]);
    if !args.contains(&"--port") {
        command.args(["--port", &port]);
    }
    command.args(args);
    for (name, value) in admin {
        command.env(name, value);
    }
    let run = Run::from_output(command.output().expect("cannot run mosaic"));
    assert_ne!(run.code, 0, "install {args:?} succeeded:\n{}", run.stdout);
    assert!(
        run.stderr.contains(expected),
        "install {args:?}: expected `{expected}` in:\n{}",
        run.stderr
    );
    let error_lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.starts_with("error:"))
        .collect();
    assert_eq!(error_lines.len(), 1, "not one error line:\n{}", run.stderr);
    assert!(error_lines[0].contains(expected), "{}", run.stderr);
    assert!(
        !gateway.config_file().exists(),
        "install {args:?} wrote config.json"
    );
    assert!(!gateway
        .sandbox
        .home()
        .join(".local/share/mosaic/gateway")
        .exists());
    assert!(
        gateway.daemon_processes().is_empty(),
        "install {args:?} left a daemon"
    );
    if let Some((_, password)) = admin
        .iter()
        .find(|(name, _)| *name == "MOSAIC_ADMIN_PASSWORD")
    {
        assert!(!run.stderr.contains(password), "the password was echoed");
    }
}

const ADMIN: &[(&str, &str)] = &[
    ("MOSAIC_ADMIN_NAME", ADMIN_NAME),
    ("MOSAIC_ADMIN_EMAIL", ADMIN_EMAIL),
    ("MOSAIC_ADMIN_PASSWORD", ADMIN_PASSWORD),
];

#[test]
fn a_port_in_use_is_named_and_nothing_is_installed() {
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    assert_refused(
        &["--port", &port],
        ADMIN,
        &format!("port {port} on 127.0.0.1 is already in use"),
    );
}

#[test]
fn an_invalid_email_is_refused() {
    assert_refused(
        &[],
        &[
            ("MOSAIC_ADMIN_NAME", ADMIN_NAME),
            ("MOSAIC_ADMIN_EMAIL", "ada-at-example.com"),
            ("MOSAIC_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ],
        "MOSAIC_ADMIN_EMAIL: invalid email `ada-at-example.com`",
    );
}

#[test]
fn a_seven_character_password_is_refused() {
    assert_refused(
        &[],
        &[
            ("MOSAIC_ADMIN_NAME", ADMIN_NAME),
            ("MOSAIC_ADMIN_EMAIL", ADMIN_EMAIL),
            ("MOSAIC_ADMIN_PASSWORD", "1234567"),
        ],
        "MOSAIC_ADMIN_PASSWORD: the password is too short (7 characters)",
    );
}

#[test]
fn an_unknown_tier_is_refused() {
    // A flag value outside the possible ones is a usage error, caught by the parser.
    assert_refused(
        &["--tier", "cluster"],
        ADMIN,
        "invalid value 'cluster' for '--tier <TIER>'",
    );
}

#[test]
fn the_team_tier_needs_its_urls_and_services_that_answer() {
    assert_refused(
        &["--tier", "team"],
        ADMIN,
        "the team tier requires MOSAIC_DATABASE_URL",
    );
    // Nothing listens on these ports: both services are named, passwords redacted.
    let database_url = format!(
        "postgres://mosaic:secret-pw@127.0.0.1:{}/mosaic",
        free_port()
    );
    let valkey_url = format!("redis://:other-secret@127.0.0.1:{}", free_port());
    let environment = [
        ADMIN,
        &[
            ("MOSAIC_DATABASE_URL", database_url.as_str()),
            ("MOSAIC_VALKEY_URL", valkey_url.as_str()),
        ],
    ]
    .concat();
    for expected in [
        "PostgreSQL at postgres://mosaic:***@127.0.0.1:",
        "Valkey at redis://:***@127.0.0.1:",
        "nothing was written",
    ] {
        assert_refused(&["--tier", "team"], &environment, expected);
    }
    let gateway = GatewaySandbox::new();
    let run = gateway.install_with(&[
        ("MOSAIC_STORAGE_TIER", "team"),
        ("MOSAIC_DATABASE_URL", &database_url),
        ("MOSAIC_VALKEY_URL", &valkey_url),
    ]);
    assert_ne!(run.code, 0);
    for secret in ["secret-pw", "other-secret"] {
        assert!(!run.stderr.contains(secret), "{}", run.stderr);
    }
}

#[test]
fn malformed_urls_are_refused_without_echoing_passwords() {
    assert_refused(
        &["--cors-origin", "localhost:3000/app"],
        ADMIN,
        "--cors-origin: invalid origin `localhost:3000/app`",
    );
    assert_refused(
        &["--database-url", "mysql://root:hunter2-secret@db/x"],
        ADMIN,
        "--database-url: malformed URL `mysql://root:***@db/x`",
    );
    assert_refused(&["--port", "70000"], ADMIN, "--port: invalid port `70000`");
}

#[test]
fn missing_admin_variables_are_named() {
    assert_refused(
        &[],
        &[("MOSAIC_ADMIN_NAME", ADMIN_NAME)],
        "missing: MOSAIC_ADMIN_EMAIL, MOSAIC_ADMIN_PASSWORD",
    );
    assert_refused(
        &[],
        &[],
        "missing: MOSAIC_ADMIN_NAME, MOSAIC_ADMIN_EMAIL, MOSAIC_ADMIN_PASSWORD",
    );
}

#[test]
fn environment_values_are_validated_like_flags() {
    let mut admin = ADMIN.to_vec();
    admin.push(("MOSAIC_STORAGE_TIER", "sqlite"));
    assert_refused(&[], &admin, "MOSAIC_STORAGE_TIER: unknown tier `sqlite`");
}

#[test]
fn stdin_not_being_a_terminal_is_headless_too() {
    // No MOSAIC_ASSUME_YES: stdin is /dev/null, so nothing may be asked.
    let gateway = GatewaySandbox::new();
    let port = gateway.port.to_string();
    let run = Run::from_output(
        gateway
            .sandbox
            .command(["gateway", "install", "--port", &port])
            .env("MOSAIC_ASSUME_YES", "0")
            .output()
            .unwrap(),
    );
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("headless install"), "{}", run.stderr);
    assert!(!gateway.config_file().exists());
}
