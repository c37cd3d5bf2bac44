//! The proxy's API keys and usage reports through the installed binary:
//! `gateway keys create|list|revoke` (the key printed once, stored hashed), bad input
//! refused with one line and nothing written, the admin HTTP API (`/api/keys`,
//! `/api/usage`) refused to non-admins, `gateway usage` over recorded requests, and
//! the same in the team tier (PostgreSQL).
//!
//! Usage rows are written into the database directly here (the proxy that records
//! them is tested in `gateway_proxy.rs`), so the report is checked against exactly
//! known sums.

mod gateway_support;

use std::path::PathBuf;
use std::process::Command;

use gateway_support::services::{Postgres, Valkey};
use gateway_support::*;
use mosaic_tests::tool_or_skip;
use serde_json::{json, Value};

/// 2025-03-01 00:00:00 UTC, in milliseconds.
const MARCH_1_MS: i64 = 1_740_787_200_000;
const DAY_MS: i64 = 86_400_000;

fn database_file(gateway: &GatewaySandbox) -> PathBuf {
    gateway
        .sandbox
        .home()
        .join(".local/share/mosaic/gateway/gateway.db")
}

/// The database file and its WAL, as raw bytes (what a leak would be found in).
fn database_bytes(gateway: &GatewaySandbox) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal"] {
        let mut path = database_file(gateway).into_os_string();
        path.push(suffix);
        bytes.extend(std::fs::read(PathBuf::from(path)).unwrap_or_default());
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

fn keys_json(gateway: &GatewaySandbox) -> Vec<Value> {
    let run = gateway.run(&["--json", "gateway", "keys", "list"]);
    run.expect_code(0);
    run.json()["keys"].as_array().unwrap().clone()
}

/// Runs SQL on the local tier's database with the sqlite3 tool.
fn sqlite(gateway: &GatewaySandbox, sqlite3: &PathBuf, sql: &str) -> String {
    let output = Command::new(sqlite3)
        .args(["-cmd", ".timeout 5000"])
        .arg(database_file(gateway))
        .arg(sql)
        .output()
        .expect("cannot run sqlite3");
    assert!(
        output.status.success(),
        "sqlite3 `{sql}` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The usage rows every report test records: key `a` (agent-a, bob's) with two
/// models over two days, one of them an error, and key `b` once.
fn usage_inserts(schema: &str, key_a: i64, key_b: i64, bob: i64) -> String {
    let rows = [
        (
            MARCH_1_MS,
            key_a,
            Some(bob),
            "'agent-a'",
            "claude-sonnet-4-5",
            100,
            10,
            5,
            1,
            200,
            1_500,
        ),
        (
            MARCH_1_MS + 1000,
            key_a,
            Some(bob),
            "'agent-a'",
            "claude-opus-4-1",
            200,
            20,
            0,
            0,
            200,
            120_000,
        ),
        (
            MARCH_1_MS + DAY_MS,
            key_a,
            Some(bob),
            "'agent-a'",
            "claude-sonnet-4-5",
            50,
            0,
            0,
            0,
            429,
            0,
        ),
        (
            MARCH_1_MS + DAY_MS + 5,
            key_b,
            None,
            "NULL",
            "claude-sonnet-4-5",
            7,
            3,
            0,
            0,
            200,
            66,
        ),
    ];
    rows.iter()
        .map(
            |(at, key, user, agent, model, input, output, read, write, status, cost)| {
                let user = user
                    .map(|id| id.to_string())
                    .unwrap_or_else(|| "NULL".into());
                format!(
                "INSERT INTO {schema}usage (at_ms, key_id, user_id, agent, model, input_tokens, \
                 output_tokens, cache_read_tokens, cache_write_tokens, status, latency_ms, \
                 cost_micros) VALUES ({at}, {key}, {user}, {agent}, '{model}', {input}, \
                 {output}, {read}, {write}, {status}, 12, {cost});"
            )
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// The sums of [`usage_inserts`], checked in both tiers.
fn assert_reports(gateway: &GatewaySandbox) {
    let by_key = gateway.run(&["--json", "gateway", "usage", "--by", "key"]);
    by_key.expect_code(0);
    let report = by_key.json();
    assert_eq!(report["by"], "key");
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{report}");
    assert_eq!(rows[0]["group"], "a");
    assert_eq!(rows[0]["requests"], 3);
    assert_eq!(rows[0]["input_tokens"], 350);
    assert_eq!(rows[0]["output_tokens"], 30);
    assert_eq!(rows[0]["cache_read_tokens"], 5);
    assert_eq!(rows[0]["cache_write_tokens"], 1);
    assert_eq!(rows[0]["errors"], 1);
    assert_eq!(rows[0]["cost_micros"], 121_500);
    assert_eq!(rows[1]["group"], "b");
    assert_eq!(report["total"]["requests"], 4);
    assert_eq!(report["total"]["cost_micros"], 121_566);

    let by_user = gateway.run(&["--json", "gateway", "usage", "--by", "user"]);
    let groups: Vec<Value> = by_user.json()["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["group"].clone())
        .collect();
    assert_eq!(groups, [json!("bob@example.com"), json!("-")]);

    // People's table: one line per day of the range, cost with 4 decimals, a total.
    let by_day = gateway.run(&[
        "gateway",
        "usage",
        "--by",
        "day",
        "--since",
        "2025-03-01",
        "--until",
        "2025-03-01",
    ]);
    by_day.expect_code(0);
    let lines: Vec<&str> = by_day.stdout.lines().collect();
    assert_eq!(
        lines[0], "Usage by day, from 2025-03-01 00:00:00 to 2025-03-02 00:00:00 UTC:",
        "{}",
        by_day.stdout
    );
    assert!(lines[1].starts_with("DAY "), "{}", by_day.stdout);
    assert!(lines[2].starts_with("2025-03-01  2 "), "{}", by_day.stdout);
    assert!(lines[2].ends_with("0.1215"), "{}", by_day.stdout);
    assert!(lines[3].starts_with("TOTAL "), "{}", by_day.stdout);
    assert_eq!(lines.len(), 4, "{}", by_day.stdout);

    let by_model = gateway.run(&["gateway", "usage", "--by", "model", "--since", "2025-03-02"]);
    by_model.expect_code(0);
    assert!(
        by_model.stdout.contains("claude-sonnet-4-5  2 "),
        "{}",
        by_model.stdout
    );
    assert!(!by_model.stdout.contains("opus"), "{}", by_model.stdout);
}

#[test]
fn keys_are_shown_once_stored_hashed_listed_and_revoked() {
    let gateway = GatewaySandbox::new();
    // Before an install there is nothing to keep keys in: refused, nothing made.
    let early = gateway.run(&["gateway", "keys", "create", "early"]);
    early.expect_code(1);
    assert!(early.stderr.contains("not installed"), "{}", early.stderr);
    assert!(!database_file(&gateway).exists());

    gateway.install().expect_code(0);
    let created = gateway.run(&[
        "gateway", "keys", "create", "reviewer", "--agent", "reviewer",
    ]);
    created.expect_code(0);
    let key = created.stdout.trim().to_string();
    assert_eq!(created.stdout.lines().count(), 1, "{}", created.stdout);
    assert!(key.starts_with("mosaic_sk_"), "{key}");
    assert_eq!(key.len(), 50, "{key}");
    assert!(
        created.stderr.contains("shown only this once"),
        "{}",
        created.stderr
    );
    assert!(!created.stderr.contains(&key), "the key was printed twice");

    let json_run = gateway.run(&[
        "--json",
        "gateway",
        "keys",
        "create",
        "ada-laptop",
        "--user",
        "ADA@example.com",
        "--budget-tokens",
        "2_000_000/day",
        "--budget-usd",
        "12.50/month",
        "--rpm",
        "60",
        "--tpm",
        "100000",
        "--expires",
        "4w",
        "--models",
        "claude-sonnet-4-5,claude-haiku-4-5",
    ]);
    json_run.expect_code(0);
    let second = json_run.json();
    let second_key = second["key"].as_str().unwrap().to_string();
    assert!(second_key.starts_with("mosaic_sk_"));
    assert_eq!(second["name"], "ada-laptop");
    assert_eq!(second["hint"], json!(&second_key[..14]));
    assert_eq!(second["user"], ADMIN_EMAIL);
    assert_eq!(second["state"], "active");
    assert_eq!(
        second["limits"]["budget_tokens"],
        json!({"tokens": 2_000_000, "period": "day"})
    );
    assert_eq!(second["limits"]["budget_usd_micros_month"], 12_500_000);
    assert_eq!(second["limits"]["rpm"], 60);
    assert_eq!(second["limits"]["tpm"], 100_000);
    assert_eq!(
        second["limits"]["models"],
        json!(["claude-sonnet-4-5", "claude-haiku-4-5"])
    );
    assert!(second["limits"]["expires_at"].as_i64().unwrap() > 0);

    // Stored hashed: neither key is in the database (or its WAL), only the hints.
    let stored = database_bytes(&gateway);
    assert!(!stored.is_empty());
    for secret in [&key, &second_key] {
        assert!(!contains(&stored, secret), "the key is stored in clear");
        assert!(
            !contains(&stored, &secret[14..]),
            "the key's secret part is stored"
        );
        assert!(contains(&stored, &secret[..14]), "the hint is not stored");
    }

    let list = gateway.run(&["gateway", "keys", "list"]);
    list.expect_code(0);
    assert!(list.stdout.starts_with("NAME"), "{}", list.stdout);
    assert!(list.stdout.contains("reviewer"), "{}", list.stdout);
    assert!(
        list.stdout
            .contains("2000000 tokens/day, $12.5000/month, 60 rpm, 100000 tpm"),
        "{}",
        list.stdout
    );
    assert!(list.stdout.contains("active until"), "{}", list.stdout);
    let listed = keys_json(&gateway);
    assert_eq!(listed.len(), 2);
    for text in [&list.stdout, &serde_json::to_string(&listed).unwrap()] {
        assert!(!text.contains(&key[14..]) && !text.contains(&second_key[14..]));
        assert!(!text.contains("token_hash"));
    }

    let revoke = gateway.run(&["gateway", "keys", "revoke", "reviewer"]);
    revoke.expect_code(0);
    assert!(
        revoke.stdout.contains("Revoked API key `reviewer`"),
        "{}",
        revoke.stdout
    );
    let again = gateway.run(&["gateway", "keys", "revoke", "reviewer"]);
    again.expect_code(0);
    assert!(again.stdout.contains("already revoked"), "{}", again.stdout);
    let unknown = gateway.run(&["gateway", "keys", "revoke", "nobody"]);
    unknown.expect_code(1);
    assert!(
        unknown.stderr.contains("no API key is named `nobody`"),
        "{}",
        unknown.stderr
    );
    let listed = keys_json(&gateway);
    assert_eq!(listed[0]["state"], "revoked");
    assert!(listed[0]["revoked_at"].as_i64().is_some());
    assert_eq!(listed[1]["state"], "active");
    let list = gateway.run(&["gateway", "keys", "list"]);
    assert!(list.stdout.contains("revoked 20"), "{}", list.stdout);

    // Names are never reused, a revoked key's included.
    let taken = gateway.run(&["gateway", "keys", "create", "reviewer"]);
    taken.expect_code(1);
    assert!(
        taken.stderr.contains("names are never reused"),
        "{}",
        taken.stderr
    );
    assert!(taken.stdout.is_empty(), "{}", taken.stdout);
}

#[test]
fn bad_key_requests_are_refused_in_one_line_and_write_nothing() {
    let gateway = GatewaySandbox::new();
    gateway.install().expect_code(0);
    gateway
        .run(&["gateway", "keys", "create", "existing"])
        .expect_code(0);
    let before = database_bytes(&gateway);
    let before_keys = keys_json(&gateway);
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["--budget-tokens", "lots"],
            2,
            "--budget-tokens `lots`: expected TOKENS/day or TOKENS/month",
        ),
        (
            &["--budget-tokens", "100/week"],
            2,
            "--budget-tokens `100/week`",
        ),
        (
            &["--budget-usd", "ten"],
            2,
            "--budget-usd `ten`: expected US dollars per month",
        ),
        (&["--budget-usd", "5/day"], 2, "--budget-usd `5/day`"),
        (
            &["--expires", "forever"],
            2,
            "--expires `forever`: expected a number and a unit",
        ),
        (&["--rpm", "0"], 2, "--rpm `0`"),
        (&["--models", "a b"], 2, "--models `a b`"),
        (&["--agent", "a/b"], 2, "--agent `a/b`"),
        (
            &["--user", "nobody@example.com"],
            1,
            "no gateway user has the email `nobody@example.com`",
        ),
    ];
    for (flags, code, message) in cases {
        let mut args = vec!["gateway", "keys", "create", "fresh"];
        args.extend_from_slice(flags);
        let run = gateway.run(&args);
        assert_eq!(run.code, *code, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
        assert_eq!(
            run.stderr.trim().lines().count(),
            1,
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    for (name, code, message) in [
        ("bad name", 2, "invalid key name `bad name`"),
        ("existing", 1, "an API key with this name exists"),
    ] {
        let run = gateway.run(&["gateway", "keys", "create", name]);
        assert_eq!(run.code, code, "{name}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{name}: {}", run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    }
    assert_eq!(keys_json(&gateway), before_keys);
    assert!(!contains(&database_bytes(&gateway), "fresh"));
    assert!(!before.is_empty());
}

#[test]
fn the_http_api_manages_keys_for_admins_and_reports_usage_per_user() {
    let Some(sqlite3) = tool_or_skip("the_http_api_manages_keys_for_admins", "sqlite3") else {
        return;
    };
    let gateway = GatewaySandbox::new();
    gateway.install().expect_code(0);
    let port = gateway.port;
    let admin = bearer(&token(port, ADMIN_EMAIL, ADMIN_PASSWORD));
    let admin_headers = [("Authorization", admin.as_str())];
    let created_user = post_json(
        port,
        "/api/users",
        &admin_headers,
        &json!({"name": "Bob", "email": "bob@example.com", "password": "bobs long password"}),
    );
    assert_eq!(created_user.status, 201, "{}", created_user.body);
    let bob_id = created_user.json()["user"]["id"].as_i64().unwrap();
    let bob = bearer(&token(port, "bob@example.com", "bobs long password"));
    let bob_headers = [("Authorization", bob.as_str())];

    let created = post_json(
        port,
        "/api/keys",
        &admin_headers,
        &json!({"name": "a", "user": "bob@example.com", "agent": "agent-a",
                "budget_tokens": "1000/month", "rpm": 5, "models": ["claude-sonnet-4-5"]}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let body = created.json();
    let key_a = body["key"].as_str().unwrap().to_string();
    assert!(key_a.starts_with("mosaic_sk_"));
    assert_eq!(body["user"], "bob@example.com");
    assert_eq!(body["limits"]["budget_tokens"]["period"], "month");
    let key_a_id = body["id"].as_i64().unwrap();
    let created = post_json(port, "/api/keys", &admin_headers, &json!({"name": "b"}));
    assert_eq!(created.status, 201, "{}", created.body);
    let key_b_id = created.json()["id"].as_i64().unwrap();

    // Refusals: the same checks as the CLI, in the API's error shape.
    for (body, status, message) in [
        (
            json!({"name": "c", "budget_usd": "lots"}),
            400,
            "budget_usd `lots`",
        ),
        (
            json!({"name": "c", "user": "nobody@example.com"}),
            400,
            "nobody@example.com",
        ),
        (
            json!({"name": "a"}),
            409,
            "an API key with this name exists",
        ),
        (json!({"name": "c", "colour": "red"}), 422, "colour"),
    ] {
        let answer = post_json(port, "/api/keys", &admin_headers, &body);
        assert_eq!(answer.status, status, "{body}: {}", answer.body);
        assert!(
            answer.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains(message),
            "{body}: {}",
            answer.body
        );
    }

    let listed = http(port, "GET", "/api/keys", &admin_headers, None);
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(
        !listed.body.contains(&key_a[14..]),
        "a listing shows the key"
    );
    assert_eq!(listed.json()["keys"].as_array().unwrap().len(), 2);
    assert!(!contains(&database_bytes(&gateway), &key_a[14..]));

    // Not an admin: 403; no session: 401.
    for (method, path) in [
        ("GET", "/api/keys"),
        ("POST", "/api/keys"),
        ("DELETE", "/api/keys/b"),
    ] {
        let body = (method == "POST").then_some(r#"{"name": "mine"}"#);
        let answer = http(port, method, path, &bob_headers, body);
        assert_eq!(answer.status, 403, "{method} {path}: {}", answer.body);
        let answer = http(port, method, path, &[], body);
        assert_eq!(answer.status, 401, "{method} {path}: {}", answer.body);
    }
    assert_eq!(keys_json(&gateway).len(), 2);

    // Usage: an admin sees every request, Bob only his own key's.
    sqlite(
        &gateway,
        &sqlite3,
        &usage_inserts("", key_a_id, key_b_id, bob_id),
    );
    let everything = http(port, "GET", "/api/usage?by=key", &admin_headers, None);
    assert_eq!(everything.status, 200, "{}", everything.body);
    assert_eq!(everything.json()["total"]["requests"], 4);
    let own = http(
        port,
        "GET",
        "/api/usage?by=model&since=2025-03-01",
        &bob_headers,
        None,
    );
    assert_eq!(own.status, 200, "{}", own.body);
    let own = own.json();
    assert_eq!(own["total"]["requests"], 3, "{own}");
    assert_eq!(own["rows"][0]["group"], "claude-opus-4-1");
    for (query, message) in [
        ("by=team", "by `team`"),
        ("since=yesterday", "since `yesterday`"),
        ("until=2025-02-30", "until `2025-02-30`"),
        ("colour=red", "colour"),
    ] {
        let answer = http(
            port,
            "GET",
            &format!("/api/usage?{query}"),
            &admin_headers,
            None,
        );
        assert_eq!(answer.status, 400, "{query}: {}", answer.body);
        assert!(answer.body.contains(message), "{query}: {}", answer.body);
    }
    assert_eq!(http(port, "GET", "/api/usage", &[], None).status, 401);

    // The CLI reads the same records.
    assert_reports(&gateway);

    // Revoking over the API.
    let revoked = http(port, "DELETE", "/api/keys/a", &admin_headers, None);
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(revoked.json()["key"]["state"], "revoked");
    let missing = http(port, "DELETE", "/api/keys/nobody", &admin_headers, None);
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(keys_json(&gateway)[0]["state"], "revoked");
}

#[test]
fn usage_without_records_says_so() {
    let gateway = GatewaySandbox::new();
    gateway.install().expect_code(0);
    let run = gateway.run(&["gateway", "usage", "--since", "7d"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .starts_with("No requests through the proxy (since "),
        "{}",
        run.stdout
    );
    let json_run = gateway.run(&["--json", "gateway", "usage"]);
    json_run.expect_code(0);
    assert_eq!(json_run.json()["total"]["requests"], 0);
    let bad = gateway.run(&[
        "gateway",
        "usage",
        "--since",
        "2025-03-02",
        "--until",
        "2025-03-01",
    ]);
    bad.expect_code(2);
    assert!(bad.stderr.contains("ends before --since"), "{}", bad.stderr);
}

#[test]
fn the_team_tier_keeps_keys_and_usage_in_postgres() {
    let postgres = Postgres::start();
    let valkey = Valkey::start();
    let gateway = GatewaySandbox::new();
    gateway.install_team(&postgres, &valkey).expect_code(0);
    let port = gateway.port;
    let admin = bearer(&token(port, ADMIN_EMAIL, ADMIN_PASSWORD));
    let created_user = post_json(
        port,
        "/api/users",
        &[("Authorization", admin.as_str())],
        &json!({"name": "Bob", "email": "bob@example.com", "password": "bobs long password"}),
    );
    assert_eq!(created_user.status, 201, "{}", created_user.body);
    let bob_id = created_user.json()["user"]["id"].as_i64().unwrap();

    // The CLI writes PostgreSQL (the daemon runs meanwhile); the API reads it back.
    let created = gateway.run(&[
        "--json",
        "gateway",
        "keys",
        "create",
        "a",
        "--user",
        "bob@example.com",
        "--agent",
        "agent-a",
    ]);
    created.expect_code(0);
    let key_a = created.json()["key"].as_str().unwrap().to_string();
    let key_a_id = created.json()["id"].as_i64().unwrap();
    let created = post_json(
        port,
        "/api/keys",
        &[("Authorization", admin.as_str())],
        &json!({"name": "b"}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let key_b_id = created.json()["id"].as_i64().unwrap();
    let names: Vec<Value> = keys_json(&gateway)
        .iter()
        .map(|key| key["name"].clone())
        .collect();
    assert_eq!(names, [json!("a"), json!("b")]);
    let stored = postgres.superuser_sql(
        "SELECT name || ' ' || hint || ' ' || encode(token_hash, 'hex') FROM mosaic_gateway.api_keys ORDER BY id",
    );
    assert!(
        !stored.contains(&key_a[14..]),
        "the key is stored in clear: {stored}"
    );
    assert!(stored.contains(&key_a[..14]), "{stored}");
    let taken = gateway.run(&["gateway", "keys", "create", "b"]);
    taken.expect_code(1);
    assert!(
        taken.stderr.contains("an API key with this name exists"),
        "{}",
        taken.stderr
    );

    postgres.superuser_sql(&usage_inserts(
        "mosaic_gateway.",
        key_a_id,
        key_b_id,
        bob_id,
    ));
    assert_reports(&gateway);
    let over_api = http(
        port,
        "GET",
        "/api/usage?by=agent",
        &[("Authorization", admin.as_str())],
        None,
    );
    assert_eq!(over_api.status, 200, "{}", over_api.body);
    assert_eq!(over_api.json()["rows"][0]["group"], "agent-a");

    gateway
        .run(&["gateway", "keys", "revoke", "a"])
        .expect_code(0);
    let listed = http(
        port,
        "GET",
        "/api/keys",
        &[("Authorization", admin.as_str())],
        None,
    );
    assert_eq!(
        listed.json()["keys"][0]["state"],
        "revoked",
        "{}",
        listed.body
    );
}
