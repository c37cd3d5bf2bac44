//! `gateway migrate` through the installed binary against real throwaway servers:
//! a local installation moves to the team tier (users copied, verified, able to
//! log in; the proxy's API keys copied with their hashes, so a key made before the
//! move still works through the proxy after it; usage records copied, totals equal;
//! the SQLite file kept unchanged as the backup) and back again.

#[allow(dead_code)]
#[path = "gateway_support/anthropic_standin.rs"]
mod anthropic_standin;
mod gateway_support;

use anthropic_standin::AnthropicStandIn;
use gateway_support::services::{Postgres, Valkey, DATABASE_PASSWORD, VALKEY_PASSWORD};
use gateway_support::*;
use mosaic_tests::Run;
use serde_json::{json, Value};

/// The "real" Anthropic key the gateway holds in these tests.
const REAL_KEY: &str = "sk-ant-api03-standin-REAL-KEY-for-migrate";

fn create_user(port: u16, admin: &str, name: &str, email: &str, password: &str) {
    let created = post_json(
        port,
        "/api/users",
        &[("Authorization", &bearer(admin))],
        &json!({"name": name, "email": email, "password": password}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
}

/// Creates a key for agent NAME; returns the key and its id.
#[track_caller]
fn create_key(gateway: &GatewaySandbox, name: &str) -> (String, i64) {
    let created = gateway.create_key(name, &["--agent", name]);
    (
        created["key"].as_str().unwrap().to_string(),
        created["id"].as_i64().unwrap(),
    )
}

/// The keys `gateway keys list --json` shows.
fn keys_listed(gateway: &GatewaySandbox) -> Vec<Value> {
    let run = gateway.run(&["gateway", "keys", "list", "--json"]);
    run.expect_code(0);
    run.json()["keys"].as_array().unwrap().clone()
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
    let standin = AnthropicStandIn::start();
    let gateway = GatewaySandbox::calling(REAL_KEY, &standin.url());
    let port = gateway.port;
    let admin = token(port, ADMIN_EMAIL, ADMIN_PASSWORD);
    create_user(port, &admin, "Bob", "bob@example.com", "bob-password");
    // Two keys: one used through the proxy, one revoked.
    let (alpha, alpha_id) = create_key(&gateway, "alpha");
    let (revoked, _) = create_key(&gateway, "revoked");
    gateway
        .run(&["gateway", "keys", "revoke", "revoked"])
        .expect_code(0);
    for _ in 0..3 {
        assert_eq!(post_message(port, &alpha, false).status, 200);
    }
    assert_eq!(post_message(port, &revoked, false).status, 401);
    let usage_before = gateway.usage_with_total(3);
    let keys_before = keys_listed(&gateway);
    assert_eq!(keys_before.len(), 2);
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
            .contains("Copied and verified 2 users, 2 API keys and 3 usage records"),
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
    // The keys came along with their hashes: the key made before the move works
    // through the proxy after it, the revoked one stays refused, and the listing
    // and the usage totals are the same on both sides.
    assert_eq!(keys_listed(&gateway), keys_before);
    assert_eq!(
        gateway.usage_with_total(3)["total"],
        usage_before["total"],
        "usage totals differ after the move"
    );
    assert_eq!(gateway.usage_with_total(3)["rows"], usage_before["rows"]);
    assert_eq!(post_message(port, &alpha, false).status, 200);
    assert_eq!(post_message(port, &revoked, false).status, 401);
    let usage_on_team = gateway.usage_with_total(4);
    assert_eq!(
        postgres.superuser_sql("SELECT count(*) FROM mosaic_gateway.usage"),
        "4"
    );
    // A new key continues after every key id the local tier handed out.
    let (_, beta_id) = create_key(&gateway, "beta");
    assert_eq!(beta_id, alpha_id + 2);
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
    // Keys and usage came back too: the same listing (beta included), the same
    // totals, and alpha still works.
    assert!(
        back.stdout.contains("3 API keys and 4 usage records"),
        "{}",
        back.stdout
    );
    let keys_back = keys_listed(&gateway);
    assert_eq!(keys_back.len(), 3);
    assert_eq!(keys_back[..2], keys_before[..]);
    assert_eq!(gateway.usage_with_total(4)["total"], usage_on_team["total"]);
    assert_eq!(post_message(port, &alpha, false).status, 200);
    assert_eq!(post_message(port, &revoked, false).status, 401);
    let (_, gamma_id) = create_key(&gateway, "gamma");
    assert_eq!(gamma_id, beta_id + 1);
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
