//! The daemon's API contract through a real install: identical 401s, the login rate
//! limits (429), CORS for exactly the configured origin, the bootstrap endpoint's
//! 401/409, body limits and the error format.

mod gateway_support;

use gateway_support::*;
use serde_json::json;

fn installed() -> GatewaySandbox {
    let gateway = GatewaySandbox::new();
    gateway.install().expect_code(0);
    gateway
}

#[test]
fn failed_authentication_never_says_which_part_was_wrong() {
    let gateway = installed();
    let port = gateway.port;
    let wrong_password = login(port, ADMIN_EMAIL, "not the password");
    let unknown_user = login(port, "nobody@example.com", ADMIN_PASSWORD);
    assert_eq!(wrong_password.status, 401);
    assert_eq!(unknown_user.status, 401);
    assert_eq!(wrong_password.body, unknown_user.body);
    assert_eq!(
        wrong_password.json()["error"]["code"],
        "invalid_credentials"
    );

    let forged = "Bearer ".to_string() + &"ab".repeat(32);
    let malformed = "Bearer not-a-token";
    let answers: Vec<Response> = [
        vec![("Authorization", forged.as_str())],
        vec![("Authorization", malformed)],
        vec![("Cookie", "mosaic_session=0123")],
        vec![],
    ]
    .iter()
    .map(|headers| http(port, "GET", "/api/auth/me", headers, None))
    .collect();
    for answer in &answers {
        assert_eq!(answer.status, 401);
        assert_eq!(answer.body, answers[0].body);
    }
    assert_eq!(answers[0].json()["error"]["code"], "unauthenticated");

    // A session ended by logout is as dead as a forged one.
    let session = token(port, ADMIN_EMAIL, ADMIN_PASSWORD);
    let bearer = format!("Bearer {session}");
    http(
        port,
        "POST",
        "/api/auth/logout",
        &[("Authorization", &bearer)],
        None,
    );
    let ended = http(
        port,
        "GET",
        "/api/auth/me",
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(ended.body, answers[0].body);
}

#[test]
fn repeated_failed_logins_for_one_email_get_429() {
    let gateway = installed();
    let port = gateway.port;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(login(port, ADMIN_EMAIL, "wrong password").status);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    let limited = login(port, ADMIN_EMAIL, ADMIN_PASSWORD);
    assert_eq!(
        limited.status, 429,
        "even the right password waits: {}",
        limited.body
    );
    assert_eq!(limited.json()["error"]["code"], "rate_limited");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry_after));
    // Another email from the same client is not locked.
    assert_eq!(login(port, "other@example.com", "whatever!").status, 401);
}

#[test]
fn one_client_trying_many_emails_gets_429() {
    let gateway = installed();
    let port = gateway.port;
    let statuses: Vec<u16> = (0..31)
        .map(|index| login(port, &format!("user{index}@example.com"), "wrong password").status)
        .collect();
    assert!(
        statuses[..30].iter().all(|status| *status == 401),
        "{statuses:?}"
    );
    assert_eq!(statuses[30], 429);
}

#[test]
fn cors_allows_exactly_the_configured_origin() {
    let gateway = installed();
    let port = gateway.port;
    let allowed = "http://localhost:3000";
    let preflight = |origin: &str| {
        http(
            port,
            "OPTIONS",
            "/api/auth/login",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type"),
            ],
            None,
        )
    };
    let ok = preflight(allowed);
    assert!(ok.status == 204 || ok.status == 200, "{ok:?}");
    assert_eq!(ok.header("access-control-allow-origin"), Some(allowed));
    assert_eq!(ok.header("access-control-allow-credentials"), Some("true"));
    assert!(ok
        .header("access-control-allow-methods")
        .unwrap()
        .contains("POST"));
    assert!(ok
        .header("access-control-allow-headers")
        .unwrap()
        .contains("content-type"));

    for other in [
        "http://evil.example",
        "http://localhost:3001",
        "https://localhost:3000",
    ] {
        let refused = preflight(other);
        assert!(
            refused
                .headers
                .iter()
                .all(|(name, _)| !name.starts_with("access-control-allow")),
            "{other} got allow headers: {refused:?}"
        );
        let simple = http(port, "GET", "/health", &[("Origin", other)], None);
        assert_eq!(simple.status, 200);
        assert_eq!(simple.header("access-control-allow-origin"), None);
    }
    let simple = http(port, "GET", "/health", &[("Origin", allowed)], None);
    assert_eq!(simple.header("access-control-allow-origin"), Some(allowed));
    assert_eq!(
        simple.header("access-control-allow-credentials"),
        Some("true")
    );
}

#[test]
fn bootstrap_is_closed_once_an_admin_exists() {
    let gateway = installed();
    let port = gateway.port;
    let body = json!({"name": "Eve", "email": "eve@example.com", "password": "eve-password"});
    let with_token = post_json(
        port,
        "/api/bootstrap/admin",
        &[("Authorization", &format!("Bearer {}", "ab".repeat(32)))],
        &body,
    );
    assert_eq!(with_token.status, 409, "{}", with_token.body);
    assert_eq!(with_token.json()["error"]["code"], "conflict");
}

#[test]
fn bootstrap_needs_the_token_written_by_the_daemon() {
    // A gateway started without an admin (install with the admin step failing is
    // not possible, so run the daemon directly in the foreground of a child).
    let gateway = GatewaySandbox::new();
    let port = gateway.port;
    let config_dir = gateway.sandbox.config_dir();
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("config.json"),
        json!({"gateway": {"port": port}}).to_string(),
    )
    .unwrap();
    let mut daemon = gateway
        .sandbox
        .command(["gateway", "run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_for(std::time::Duration::from_secs(20), || gateway.healthy()),
        "the daemon did not start"
    );
    let token_file = config_dir.join("gateway/bootstrap-token");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&token_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let body = json!({"name": "Ada", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
    let without = post_json(port, "/api/bootstrap/admin", &[], &body);
    assert_eq!(without.status, 401, "{}", without.body);
    let wrong = post_json(
        port,
        "/api/bootstrap/admin",
        &[("Authorization", &format!("Bearer {}", "cd".repeat(32)))],
        &body,
    );
    assert_eq!(wrong.status, 401);
    let bootstrap_token = std::fs::read_to_string(&token_file).unwrap();
    let bearer = format!("Bearer {}", bootstrap_token.trim());
    let short = post_json(
        port,
        "/api/bootstrap/admin",
        &[("Authorization", &bearer)],
        &json!({"name": "Ada", "email": ADMIN_EMAIL, "password": "1234567"}),
    );
    assert_eq!(short.status, 400, "{}", short.body);
    let created = post_json(
        port,
        "/api/bootstrap/admin",
        &[("Authorization", &bearer)],
        &body,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["user"]["role"], "admin");
    assert!(!token_file.exists(), "the used token file was not deleted");
    let again = post_json(
        port,
        "/api/bootstrap/admin",
        &[("Authorization", &bearer)],
        &body,
    );
    assert_eq!(again.status, 409);
    token(port, ADMIN_EMAIL, ADMIN_PASSWORD);

    // SIGTERM: the daemon exits cleanly and removes its pid file.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(wait_for(std::time::Duration::from_secs(20), || daemon
        .try_wait()
        .unwrap()
        .is_some()));
    assert_eq!(daemon.wait().unwrap().code(), Some(0));
    assert!(!gateway.pid_file().exists());
}

#[test]
fn errors_have_one_format() {
    let gateway = installed();
    let port = gateway.port;
    let cases = [
        http(port, "GET", "/no/such/route", &[], None),
        http(port, "DELETE", "/health", &[], None),
        http(port, "POST", "/api/auth/login", &[], Some("{not json")),
        http(
            port,
            "POST",
            "/api/auth/login",
            &[("Content-Type", "text/plain")],
            Some("x"),
        ),
        http(
            port,
            "POST",
            "/api/auth/login",
            &[],
            Some(&"x".repeat(64 * 1024)),
        ),
    ];
    let expected = [404, 405, 400, 415, 413];
    for (answer, status) in cases.iter().zip(expected) {
        assert_eq!(answer.status, status, "{answer:?}");
        let body = answer.json();
        assert!(body["error"]["code"].is_string(), "{body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
}
