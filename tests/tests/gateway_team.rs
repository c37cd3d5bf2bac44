//! The team tier through the installed binary, against real throwaway servers
//! (PostgreSQL 15 and redis-server, see `gateway_support::services`): headless
//! install, replicas that behave as one, concurrent starts, outages of each
//! dependency with recovery, wrong passwords refused before anything is written.
//! Migration from the local tier is in `gateway_migrate.rs`.

mod gateway_support;

use std::time::Duration;

use gateway_support::services::{Postgres, Valkey, DATABASE_PASSWORD, VALKEY_PASSWORD};
use gateway_support::*;
use mosaic_tests::Run;
use serde_json::{json, Value};

/// How long a change made on one replica may take to reach another (it takes
/// milliseconds; the session cache keeps an entry for 30 s, so passing within
/// this bound proves the pub/sub event arrived).
const PROPAGATION: Duration = Duration::from_secs(5);
/// How long a recovery after a dependency returns may take.
const RECOVERY: Duration = Duration::from_secs(30);

/// The environment of a headless team install against `postgres` and `valkey`.
fn team_environment(postgres: &Postgres, valkey: &Valkey) -> Vec<(String, String)> {
    vec![
        ("MOSAIC_STORAGE_TIER".into(), "team".into()),
        ("MOSAIC_DATABASE_URL".into(), postgres.url()),
        ("MOSAIC_VALKEY_URL".into(), valkey.url()),
    ]
}

fn install_team(gateway: &GatewaySandbox, environment: &[(String, String)]) -> Run {
    let pairs: Vec<(&str, &str)> = environment
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    gateway.install_with(&pairs)
}

fn me(port: u16, token: &str) -> Response {
    http(
        port,
        "GET",
        "/api/auth/me",
        &[("Authorization", &bearer(token))],
        None,
    )
}

fn health(port: u16) -> Response {
    http(port, "GET", "/health", &[], None)
}

/// No password of either service appears in `text`.
#[track_caller]
fn assert_no_secrets(text: &str) {
    for secret in [DATABASE_PASSWORD, VALKEY_PASSWORD, ADMIN_PASSWORD] {
        assert!(!text.contains(secret), "a secret leaked:\n{text}");
    }
}

/// The command line and environment of each daemon of `gateway` hold no secret.
#[track_caller]
fn assert_daemon_has_no_secret_in_argv_or_environment(gateway: &GatewaySandbox) {
    let daemons = gateway.daemon_processes();
    assert!(!daemons.is_empty(), "no daemon runs");
    for pid in daemons {
        for file in ["cmdline", "environ"] {
            let bytes = std::fs::read(format!("/proc/{pid}/{file}")).unwrap_or_default();
            assert_no_secrets(&String::from_utf8_lossy(&bytes));
        }
    }
}

#[test]
fn headless_team_install_and_two_replicas_behave_as_one() {
    let postgres = Postgres::start();
    let valkey = Valkey::start();
    let environment = team_environment(&postgres, &valkey);

    // Replica A: a headless install that creates the admin in PostgreSQL.
    let a = GatewaySandbox::new();
    let install = install_team(&a, &environment);
    install.expect_code(0);
    assert!(
        install.stdout.contains("tier:             team"),
        "{}",
        install.stdout
    );
    assert!(
        install.stdout.contains(&format!(
            "postgres://mosaic:***@127.0.0.1:{}",
            postgres.port
        )),
        "{}",
        install.stdout
    );
    assert!(
        install
            .stdout
            .contains(&format!("redis://:***@127.0.0.1:{}", valkey.port)),
        "{}",
        install.stdout
    );
    assert_no_secrets(&install.stdout);
    assert_no_secrets(&install.stderr);
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(a.config_file()).unwrap()).unwrap();
    assert_eq!(config["gateway"]["tier"], "team");
    assert_eq!(config["gateway"]["database_url"], json!(postgres.url()));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(a.config_file()).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    assert_daemon_has_no_secret_in_argv_or_environment(&a);
    let health_a = health(a.port);
    assert_eq!(health_a.status, 200, "{}", health_a.body);
    let health_a = health_a.json();
    assert_eq!(health_a["tier"], "team");
    assert_eq!(health_a["dependencies"]["postgres"]["status"], "ok");
    assert_eq!(health_a["dependencies"]["valkey"]["status"], "ok");
    assert_eq!(
        postgres.superuser_sql("SELECT count(*) FROM mosaic_gateway.users WHERE role = 'admin'"),
        "1"
    );

    // Replica B: same services, another port and home; it finds the admin.
    let b = GatewaySandbox::new();
    let install = install_team(&b, &environment);
    install.expect_code(0);
    assert!(
        install.stderr.contains("an admin already exists"),
        "{}",
        install.stderr
    );

    // A session issued by A works on B; a user created on A logs in on B.
    let admin = token(a.port, ADMIN_EMAIL, ADMIN_PASSWORD);
    let on_b = me(b.port, &admin);
    assert_eq!(on_b.status, 200, "{}", on_b.body);
    assert_eq!(on_b.json()["user"]["email"], ADMIN_EMAIL);
    let created = post_json(
        a.port,
        "/api/users",
        &[("Authorization", &bearer(&admin))],
        &json!({"name": "Bob", "email": "bob@example.com", "password": "bob-password"}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let duplicate_on_b = post_json(
        b.port,
        "/api/users",
        &[("Authorization", &bearer(&admin))],
        &json!({"name": "Bob", "email": "bob@example.com", "password": "bob-password"}),
    );
    assert_eq!(duplicate_on_b.status, 409, "{}", duplicate_on_b.body);
    let bob = token(b.port, "bob@example.com", "bob-password");
    assert_eq!(me(a.port, &bob).status, 200);

    // Logging out on B ends the session on A, which had it cached.
    let logout = http(
        b.port,
        "POST",
        "/api/auth/logout",
        &[("Authorization", &bearer(&bob))],
        None,
    );
    assert_eq!(logout.status, 204);
    assert!(
        wait_for(PROPAGATION, || me(a.port, &bob).status == 401),
        "a session ended on B still works on A"
    );

    // Deleting a user on A ends their sessions on B at once (B had it cached).
    let carol = post_json(
        a.port,
        "/api/users",
        &[("Authorization", &bearer(&admin))],
        &json!({"name": "Carol", "email": "carol@example.com", "password": "carol-password"}),
    );
    assert_eq!(carol.status, 201, "{}", carol.body);
    let carol_id = carol.json()["user"]["id"].as_i64().unwrap();
    let carol_token = token(a.port, "carol@example.com", "carol-password");
    assert_eq!(me(b.port, &carol_token).status, 200);
    let deleted = http(
        a.port,
        "DELETE",
        &format!("/api/users/{carol_id}"),
        &[("Authorization", &bearer(&admin))],
        None,
    );
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert!(
        wait_for(PROPAGATION, || me(b.port, &carol_token).status == 401),
        "a deleted user's session still works on B"
    );
    assert_eq!(me(a.port, &carol_token).status, 401);

    // The login rate limit counts across replicas: 3 failures on A, 2 on B, and
    // the email is locked on both.
    let mut statuses = Vec::new();
    for port in [a.port, a.port, a.port, b.port, b.port] {
        statuses.push(login(port, "bob@example.com", "wrong password").status);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401]);
    assert_eq!(login(a.port, "bob@example.com", "bob-password").status, 429);
    let limited = login(b.port, "bob@example.com", "bob-password");
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.header("retry-after").is_some());

    // Status shows the tier and each dependency, passwords redacted.
    let status = b.run(&["--json", "gateway", "status"]);
    status.expect_code(0);
    assert_no_secrets(&status.stdout);
    let status_json = status.json();
    assert_eq!(status_json["tier"], "team");
    assert_eq!(status_json["health"], "ok");
    assert_eq!(status_json["admin_present"], json!(true));
    assert_eq!(status_json["dependencies"]["postgres"]["status"], "ok");
    assert_eq!(status_json["dependencies"]["valkey"]["status"], "ok");
    assert_eq!(
        status_json["dependencies"]["postgres"]["address"],
        json!(format!(
            "postgres://mosaic:***@127.0.0.1:{}/mosaic?sslmode=disable",
            postgres.port
        ))
    );
    let human = b.run(&["gateway", "status"]);
    assert!(
        human
            .stdout
            .contains("PostgreSQL:       ok (postgres://mosaic:***@"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("Valkey:           ok (redis://:***@"),
        "{}",
        human.stdout
    );
    assert_no_secrets(&human.stdout);

    // Killing A (its supervisor first, so nothing brings it back) loses nothing:
    // B serves A's session and every user.
    let a_pid = a.daemon_pid().unwrap();
    for pid in a.supervisor_processes().into_iter().chain([a_pid]) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
    }
    assert!(wait_for(Duration::from_secs(10), || !a.healthy()));
    assert_eq!(me(b.port, &admin).status, 200);
    let listed = http(
        b.port,
        "GET",
        "/api/users",
        &[("Authorization", &bearer(&admin))],
        None,
    );
    let emails: Vec<String> = listed.json()["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["email"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(emails, ["ada@example.com", "bob@example.com"]);
    a.run(&["gateway", "start"]).expect_code(0);
    assert_eq!(me(a.port, &admin).status, 200);
    let log = std::fs::read_to_string(a.log_file()).unwrap();
    assert_no_secrets(&log);
}

#[test]
fn replicas_starting_at_once_migrate_the_database_once() {
    let postgres = Postgres::start();
    let valkey = Valkey::start();
    let environment = team_environment(&postgres, &valkey);
    let replicas: Vec<GatewaySandbox> = (0..3).map(|_| GatewaySandbox::new()).collect();
    for replica in &replicas {
        install_team(replica, &environment).expect_code(0);
        replica.run(&["gateway", "stop"]).expect_code(0);
    }
    // A fresh database again. An open transaction that creates the gateway's schema
    // holds every replica's migration at its first step until all of them wait;
    // rolling it back lets them go at the same moment.
    postgres.superuser_sql("DROP SCHEMA mosaic_gateway CASCADE");
    let blocker = postgres.open_transaction("CREATE SCHEMA mosaic_gateway");
    let starts: Vec<std::process::Child> = replicas
        .iter()
        .map(|replica| {
            replica
                .sandbox
                .command(["gateway", "start"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let waiting = || {
        postgres.superuser_sql(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE application_name = 'mosaic-gateway' AND wait_event_type = 'Lock'",
        )
    };
    assert!(
        wait_for(Duration::from_secs(30), || waiting() == "3"),
        "the replicas did not all reach the migration ({} waiting)",
        waiting()
    );
    blocker.roll_back();
    for start in starts {
        Run::from_output(start.wait_with_output().unwrap()).expect_code(0);
    }
    for replica in &replicas {
        let answer = health(replica.port);
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    assert_eq!(
        postgres.superuser_sql(
            "SELECT count(*) = max(version) AND min(version) = 1 \
             FROM mosaic_gateway.schema_migrations"
        ),
        "t",
        "each migration ran exactly once, in order"
    );
    // No replica's migration failed on the way (a lost race would have started it
    // degraded, to retry later).
    for replica in &replicas {
        let log = std::fs::read_to_string(replica.log_file()).unwrap();
        assert!(!log.contains("starts degraded"), "{log}");
        assert!(!log.contains("ERROR"), "{log}");
    }
}

#[test]
fn postgres_outage_degrades_health_and_recovers_by_itself() {
    let postgres = Postgres::start();
    let valkey = Valkey::start();
    let gateway = GatewaySandbox::new();
    install_team(&gateway, &team_environment(&postgres, &valkey)).expect_code(0);
    let port = gateway.port;
    let session = token(port, ADMIN_EMAIL, ADMIN_PASSWORD);

    postgres.stop();
    let degraded = health(port);
    assert_eq!(degraded.status, 503, "{}", degraded.body);
    let body = degraded.json();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["failing"], json!(["postgres"]));
    assert_eq!(body["dependencies"]["postgres"]["status"], "unavailable");
    assert_eq!(body["dependencies"]["valkey"]["status"], "ok");
    // Requests that need PostgreSQL fail fast with a clear error; sessions (in
    // Valkey) still work.
    let refused = login(port, ADMIN_EMAIL, ADMIN_PASSWORD);
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "dependency_unavailable");
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("PostgreSQL is unavailable"),
        "{}",
        refused.body
    );
    let users = http(
        port,
        "GET",
        "/api/users",
        &[("Authorization", &bearer(&session))],
        None,
    );
    assert_eq!(users.status, 503, "{}", users.body);
    assert_eq!(me(port, &session).status, 200);
    let status = gateway.run(&["gateway", "status"]);
    status.expect_code(0);
    assert!(
        status
            .stdout
            .contains("health:           degraded: postgres unavailable"),
        "{}",
        status.stdout
    );
    assert!(
        status
            .stdout
            .contains("PostgreSQL:       unavailable: PostgreSQL at postgres://mosaic:***@"),
        "{}",
        status.stdout
    );
    assert_no_secrets(&status.stdout);

    postgres.start_again();
    assert!(
        wait_for(RECOVERY, || health(port).status == 200),
        "the gateway did not recover after PostgreSQL came back: {}",
        health(port).body
    );
    token(port, ADMIN_EMAIL, ADMIN_PASSWORD);
    let log = std::fs::read_to_string(gateway.log_file()).unwrap();
    assert!(log.contains("PostgreSQL"), "{log}");
    assert_no_secrets(&log);
}

#[test]
fn valkey_outage_degrades_health_and_recovers_by_itself() {
    let postgres = Postgres::start();
    let valkey = Valkey::start();
    let gateway = GatewaySandbox::new();
    install_team(&gateway, &team_environment(&postgres, &valkey)).expect_code(0);
    let port = gateway.port;
    let session = token(port, ADMIN_EMAIL, ADMIN_PASSWORD);
    assert_eq!(me(port, &session).status, 200);

    valkey.stop();
    let degraded = health(port);
    assert_eq!(degraded.status, 503, "{}", degraded.body);
    let body = degraded.json();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["failing"], json!(["valkey"]));
    assert_eq!(body["dependencies"]["postgres"]["status"], "ok");
    // Sessions live in Valkey: checking one fails fast with a clear error (the
    // replica's cache is not trusted without its event channel).
    assert!(
        wait_for(PROPAGATION, || me(port, &session).status == 503),
        "a session was served while Valkey was down"
    );
    let answer = me(port, &session);
    assert_eq!(answer.json()["error"]["code"], "dependency_unavailable");
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Valkey is unavailable"),
        "{}",
        answer.body
    );
    assert_eq!(login(port, ADMIN_EMAIL, ADMIN_PASSWORD).status, 503);
    let status = gateway.run(&["--json", "gateway", "status"]);
    assert_eq!(
        status.json()["dependencies"]["valkey"]["status"],
        "unavailable"
    );

    valkey.start_again();
    assert!(
        wait_for(RECOVERY, || health(port).status == 200),
        "the gateway did not recover after Valkey came back: {}",
        health(port).body
    );
    // This Valkey keeps nothing across a restart, so the old session is gone; a
    // new login works.
    assert_eq!(me(port, &session).status, 401);
    let fresh = token(port, ADMIN_EMAIL, ADMIN_PASSWORD);
    assert_eq!(me(port, &fresh).status, 200);
}

#[test]
fn a_wrong_password_in_either_url_is_refused_before_anything_is_written() {
    let postgres = Postgres::start();
    let valkey = Valkey::start();

    let wrong_database = "not-the-pg-password";
    let gateway = GatewaySandbox::new();
    let install = gateway.install_with(&[
        ("MOSAIC_STORAGE_TIER", "team"),
        (
            "MOSAIC_DATABASE_URL",
            &postgres.url_with_password(wrong_database),
        ),
        ("MOSAIC_VALKEY_URL", &valkey.url()),
    ]);
    assert_ne!(install.code, 0, "{}", install.stdout);
    assert!(
        install
            .stderr
            .contains("PostgreSQL at postgres://mosaic:***@127.0.0.1"),
        "{}",
        install.stderr
    );
    assert!(
        install.stderr.contains("password authentication failed"),
        "{}",
        install.stderr
    );
    assert!(!install.stderr.contains("Valkey at"), "{}", install.stderr);
    assert!(!install.stderr.contains(wrong_database) && !install.stdout.contains(wrong_database));
    assert_no_secrets(&install.stderr);
    assert!(!gateway.config_file().exists(), "config.json was written");
    assert!(gateway.daemon_processes().is_empty());

    let wrong_valkey = "not-the-valkey-password";
    let install = gateway.install_with(&[
        ("MOSAIC_STORAGE_TIER", "team"),
        ("MOSAIC_DATABASE_URL", &postgres.url()),
        ("MOSAIC_VALKEY_URL", &valkey.url_with_password(wrong_valkey)),
    ]);
    assert_ne!(install.code, 0, "{}", install.stdout);
    assert!(
        install.stderr.contains("Valkey at redis://:***@127.0.0.1"),
        "{}",
        install.stderr
    );
    assert!(
        !install.stderr.contains("PostgreSQL at"),
        "{}",
        install.stderr
    );
    assert!(!install.stderr.contains(wrong_valkey) && !install.stdout.contains(wrong_valkey));
    assert_no_secrets(&install.stderr);
    assert!(!gateway.config_file().exists(), "config.json was written");
    assert!(gateway.daemon_processes().is_empty());
    // PostgreSQL passed its check, which ran in a transaction that was rolled back.
    assert_eq!(
        postgres
            .superuser_sql("SELECT count(*) FROM pg_namespace WHERE nspname = 'mosaic_gateway'"),
        "0"
    );
}
