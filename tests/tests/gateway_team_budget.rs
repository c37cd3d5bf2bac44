//! One token budget across the replicas of a team-tier gateway: two replicas on
//! the same PostgreSQL and Valkey (real throwaway servers, see
//! `gateway_support::services`), both calling the Messages API stand-in, hammered
//! concurrently with one key until its budget is used up. The budget is counted
//! once in Valkey (reserve before the upstream call, settle after), so the total
//! stays within one request of the limit; counted per replica, every request in
//! flight on either replica would pass the check and the total would overshoot by
//! many requests.

#[path = "gateway_support/anthropic_standin.rs"]
#[allow(dead_code)]
mod anthropic_standin;
mod gateway_support;

use std::time::{Duration, Instant};

use anthropic_standin::{AnthropicStandIn, Mode, STREAM_OUTPUT_TOKENS, USAGE};
use gateway_support::services::{Postgres, Valkey};
use gateway_support::*;
use serde_json::{json, Value};

/// The "real" Anthropic key the replicas hold.
const REAL_KEY: &str = "sk-ant-api03-standin-REAL-KEY-team-budget";
/// Tokens one streamed answer of the stand-in uses.
const TOKENS_PER_REQUEST: u64 = USAGE.0 + STREAM_OUTPUT_TOKENS + USAGE.2 + USAGE.3;
/// The key's budget: ten requests' worth.
const BUDGET: u64 = 10 * TOKENS_PER_REQUEST;
/// Concurrent clients per replica.
const CLIENTS_PER_REPLICA: usize = 8;

fn install_replica(
    postgres: &Postgres,
    valkey: &Valkey,
    standin: &AnthropicStandIn,
) -> GatewaySandbox {
    let gateway = GatewaySandbox::new();
    let (database, cache, upstream) = (postgres.url(), valkey.url(), standin.url());
    gateway
        .install_with(&[
            ("MOSAIC_STORAGE_TIER", "team"),
            ("MOSAIC_DATABASE_URL", &database),
            ("MOSAIC_VALKEY_URL", &cache),
            ("MOSAIC_ANTHROPIC_API_KEY", REAL_KEY),
            ("MOSAIC_ANTHROPIC_BASE_URL", &upstream),
        ])
        .expect_code(0);
    gateway
}

/// What one client saw.
#[derive(Debug, Default)]
struct Outcome {
    passed: u64,
    used_up: u64,
    held: u64,
    other: Vec<String>,
}

/// Sends streamed messages with `key` to `port` until the budget is used up (or
/// a minute passed).
/// A streamed Messages request.
fn message_body() -> String {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 20, "stream": true,
        "messages": [{"role": "user", "content": "Hello"}]})
    .to_string()
}

fn hammer(port: u16, key: &str) -> Outcome {
    let body = message_body();
    let mut outcome = Outcome::default();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let answer = http(
            port,
            "POST",
            "/v1/messages",
            &[("x-api-key", key), ("anthropic-version", "2023-06-01")],
            Some(&body),
        );
        match answer.status {
            200 => outcome.passed += 1,
            429 if answer.body.contains("is used up") => {
                outcome.used_up += 1;
                return outcome;
            }
            429 if answer.body.contains("in flight") => {
                outcome.held += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => outcome
                .other
                .push(format!("{} {}", answer.status, answer.body)),
        }
    }
    outcome
}

#[test]
fn two_replicas_under_load_enforce_one_token_budget() {
    let postgres = Postgres::start();
    let valkey = Valkey::start();
    let standin = AnthropicStandIn::start();
    // Each answer streams for ~100 ms, so many requests are in flight at once.
    standin.set_mode(Mode::Normal {
        delay: Duration::from_millis(15),
    });
    let a = install_replica(&postgres, &valkey, &standin);
    let b = install_replica(&postgres, &valkey, &standin);

    let budget = format!("{BUDGET}/day");
    let created = a.run(&[
        "gateway",
        "keys",
        "create",
        "shared",
        "--budget-tokens",
        &budget,
        "--json",
    ]);
    created.expect_code(0);
    let key = created.json()["key"].as_str().unwrap().to_string();

    // Each replica serves one request of the budget first, so both are seen to
    // spend it: in the rush below, which replica's clients get the rest is up to
    // timing (on a loaded machine one replica's clients can take all of it).
    for port in [a.port, b.port] {
        let answer = http(
            port,
            "POST",
            "/v1/messages",
            &[("x-api-key", &key), ("anthropic-version", "2023-06-01")],
            Some(&message_body()),
        );
        assert_eq!(answer.status, 200, "port {port}: {}", answer.body);
    }
    let warm_up = 2;

    let clients: Vec<_> = [a.port, b.port]
        .into_iter()
        .flat_map(|port| std::iter::repeat_n(port, CLIENTS_PER_REPLICA))
        .map(|port| {
            let key = key.clone();
            std::thread::spawn(move || hammer(port, &key))
        })
        .collect();
    let outcomes: Vec<Outcome> = clients
        .into_iter()
        .map(|client| client.join().unwrap())
        .collect();
    for outcome in &outcomes {
        assert!(
            outcome.other.is_empty(),
            "unexpected answers: {:?}",
            outcome.other
        );
        assert_eq!(
            outcome.used_up, 1,
            "a client never saw the budget used up: {outcome:?}"
        );
    }
    let passed: u64 = warm_up + outcomes.iter().map(|outcome| outcome.passed).sum::<u64>();
    let answered = standin.answered();
    assert_eq!(answered.messages, passed, "{outcomes:?}");

    // The stored usage agrees, on either replica.
    let mut usage = Value::Null;
    let stored = wait_for(Duration::from_secs(20), || {
        let run = b.run(&["gateway", "usage", "--by", "key", "--json"]);
        if run.code != 0 {
            return false;
        }
        usage = run.json();
        usage["total"]["requests"].as_u64() == Some(passed)
    });
    assert!(stored, "usage never reached {passed} requests: {usage}");
    let total = usage["rows"][0]["input_tokens"].as_u64().unwrap()
        + usage["rows"][0]["output_tokens"].as_u64().unwrap()
        + usage["rows"][0]["cache_read_tokens"].as_u64().unwrap()
        + usage["rows"][0]["cache_write_tokens"].as_u64().unwrap();
    assert_eq!(total, passed * TOKENS_PER_REQUEST, "{usage}");
    // Used up, and over the limit by at most one request.
    assert!(
        total >= BUDGET,
        "the budget was never reached: {total} of {BUDGET}"
    );
    assert!(
        total <= BUDGET + TOKENS_PER_REQUEST,
        "{total} tokens used with a budget of {BUDGET}: more than one request ({TOKENS_PER_REQUEST}) \
         over ({passed} requests passed: {outcomes:?})"
    );
    // A refused request says when the budget resets and is not to be retried soon.
    let refused = http(
        a.port,
        "POST",
        "/v1/messages",
        &[("x-api-key", &key)],
        Some(
            &json!({"model": "claude-sonnet-4-5", "max_tokens": 20,
            "messages": [{"role": "user", "content": "Hello"}]})
            .to_string(),
        ),
    );
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(refused.body.contains("resets at"), "{}", refused.body);
    assert_eq!(refused.header("x-should-retry"), Some("false"));
}
