//! `gateway migrate` through the installed binary against real throwaway servers:
//! a local installation moves to the team tier (users copied, verified, able to
//! log in; the SQLite file kept unchanged as the backup) and back again.

mod gateway_support;

use gateway_support::services::{Postgres, Valkey, DATABASE_PASSWORD, VALKEY_PASSWORD};
use gateway_support::*;
use mosaic_tests::Run;
use serde_json::{json, Value};

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn create_user(port: u16, admin: &str, name: &str, email: &str, password: &str) {
    let created = post_json(
        port,
        "/api/users",
        &[("Authorization", &bearer(admin))],
        &json!({"name": name, "email": email, "password": password}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
}

fn tier_in_config(gateway: &GatewaySandbox) -> Value {
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(gateway.config_file()).unwrap()).unwrap();
    config["gateway"]["tier"].clone()
}

#[test]
fn a_local_gateway_moves_to_the_team_tier_and_back() {
    let postgres = Postgres::start();
    let valkey = Valkey::start();
    let gateway = GatewaySandbox::new();
    gateway.install().expect_code(0);
    let port = gateway.port;
    let admin = token(port, ADMIN_EMAIL, ADMIN_PASSWORD);
    create_user(port, &admin, "Bob", "bob@example.com", "bob-password");
    // The newest user (id 3) is deleted before the migration: no one may get that
    // id again, on either side of it.
    create_user(port, &admin, "Dan", "dan@example.com", "dan-password");
    let deleted = http(
        port,
        "DELETE",
        "/api/users/3",
        &[("Authorization", &bearer(&admin))],
        None,
    );
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let database = gateway
        .sandbox
        .home()
        .join(".local/share/mosaic/gateway/gateway.db");

    // A wrong password changes nothing: still local, still running.
    let refused = Run::from_output(
        gateway
            .sandbox
            .command(["gateway", "migrate", "--to", "team"])
            .env(
                "MOSAIC_DATABASE_URL",
                postgres.url_with_password("wrong-pw-1"),
            )
            .env("MOSAIC_VALKEY_URL", valkey.url())
            .output()
            .unwrap(),
    );
    assert_ne!(refused.code, 0);
    assert!(
        refused
            .stderr
            .contains("PostgreSQL at postgres://mosaic:***@"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("wrong-pw-1"), "{}", refused.stderr);
    assert_eq!(tier_in_config(&gateway), "local");
    assert!(gateway.healthy());

    // The real migration, with the daemon running: it is stopped, the users are
    // copied, and it comes back on the team tier.
    let migrated = Run::from_output(
        gateway
            .sandbox
            .command(["gateway", "migrate", "--to", "team"])
            .env("MOSAIC_DATABASE_URL", postgres.url())
            .env("MOSAIC_VALKEY_URL", valkey.url())
            .output()
            .unwrap(),
    );
    migrated.expect_code(0);
    assert!(
        migrated
            .stdout
            .contains("Copied and verified 2 users (count and password hashes match)."),
        "{}",
        migrated.stdout
    );
    assert!(
        migrated.stdout.contains(&format!(
            "Backup kept: the local database {}",
            database.display()
        )),
        "{}",
        migrated.stdout
    );
    for secret in [DATABASE_PASSWORD, VALKEY_PASSWORD] {
        assert!(!migrated.stdout.contains(secret) && !migrated.stderr.contains(secret));
    }
    assert_eq!(tier_in_config(&gateway), "team");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(gateway.config_file())
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let health = http(port, "GET", "/health", &[], None);
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(health.json()["tier"], "team");
    // The copied users log in (their password hashes came along) and keep their ids.
    let admin = token(port, ADMIN_EMAIL, ADMIN_PASSWORD);
    token(port, "bob@example.com", "bob-password");
    assert_eq!(
        postgres
            .superuser_sql("SELECT string_agg(email, ',' ORDER BY id) FROM mosaic_gateway.users"),
        "ada@example.com,bob@example.com"
    );
    // New users continue after every id the local tier handed out (Dan's 3 too).
    create_user(port, &admin, "Carol", "carol@example.com", "carol-password");
    assert_eq!(
        postgres
            .superuser_sql("SELECT id FROM mosaic_gateway.users WHERE email = 'carol@example.com'"),
        "4"
    );
    // The newest team user goes too, before the way back.
    create_user(port, &admin, "Erin", "erin@example.com", "erin-password");
    let deleted = http(
        port,
        "DELETE",
        "/api/users/5",
        &[("Authorization", &bearer(&admin))],
        None,
    );
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    // The SQLite database is kept, untouched, as the backup.
    assert!(database.exists());
    let backup_bytes = std::fs::read(&database).unwrap();

    // Migrating again is refused: the tier is already team.
    let again = gateway.run(&["gateway", "migrate", "--to", "team"]);
    assert_ne!(again.code, 0);
    assert!(
        again.stderr.contains("already uses the team tier"),
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read(&database).unwrap(), backup_bytes);

    // And back: every team user (Carol too) is copied into a fresh SQLite database;
    // the old one is kept beside it.
    let back = gateway.run(&["gateway", "migrate", "--to", "local"]);
    back.expect_code(0);
    assert!(
        back.stdout.contains("Copied and verified 3 users"),
        "{}",
        back.stdout
    );
    assert_eq!(tier_in_config(&gateway), "local");
    let health = http(port, "GET", "/health", &[], None);
    assert_eq!(health.json()["tier"], "local");
    token(port, "carol@example.com", "carol-password");
    let admin = token(port, ADMIN_EMAIL, ADMIN_PASSWORD);
    // Erin's id 5 stays used in the new SQLite database.
    create_user(port, &admin, "Finn", "finn@example.com", "finn-password");
    let users = http(
        port,
        "GET",
        "/api/users",
        &[("Authorization", &bearer(&admin))],
        None,
    );
    assert_eq!(users.status, 200, "{}", users.body);
    let finn = users.json()["users"]
        .as_array()
        .expect("a users array")
        .iter()
        .find(|user| user["email"] == "finn@example.com")
        .expect("finn is listed")["id"]
        .clone();
    assert_eq!(finn, 6, "{}", users.body);
    let kept: Vec<_> = std::fs::read_dir(database.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with("gateway.db.before-local-")
                && !name.ends_with("-wal")
                && !name.ends_with("-shm")
        })
        .collect();
    assert_eq!(kept.len(), 1, "the previous local database is kept");
    assert_eq!(std::fs::read(kept[0].path()).unwrap(), backup_bytes);
}
