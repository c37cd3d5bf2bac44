//! The Anthropic Messages API proxy through a real install: the daemon pointed at a
//! local stand-in of the API (gateway_support/anthropic_standin.rs), keys made with
//! `mosaic gateway keys create`. Relaying (whole and streamed, event by event),
//! usage recorded per key, errors in Anthropic's shape, refused keys, budgets and
//! rate limits, and what the stand-in and the log file never see.

// The stand-in serves other tests too (Claude Code's agent loop): not all of it is used here.
#[allow(dead_code)]
#[path = "gateway_support/anthropic_standin.rs"]
mod anthropic_standin;
mod gateway_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anthropic_standin::{AnthropicStandIn, Mode, STREAM_DELTAS, STREAM_OUTPUT_TOKENS, USAGE};
use gateway_support::*;
use serde_json::json;

/// The "real" Anthropic key the gateway holds in these tests.
const REAL_KEY: &str = "sk-ant-api03-standin-REAL-KEY-never-shown";

fn assert_anthropic_error(response: &Response, status: u16, kind: &str, words: &str) {
    assert_eq!(response.status, status, "{}", response.body);
    let body = response.json();
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], kind, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(words), "`{words}` not in: {message}");
    assert!(!message.contains(REAL_KEY));
}

fn assert_log_holds_no_key(gateway: &GatewaySandbox, mosaic_key: &str) {
    let log = std::fs::read_to_string(gateway.log_file()).unwrap_or_default();
    assert!(!log.is_empty(), "the daemon wrote no log");
    assert!(
        !log.contains(REAL_KEY),
        "the real key is in the log:\n{log}"
    );
    assert!(
        !log.contains(mosaic_key),
        "a Mosaic key is in the log:\n{log}"
    );
    assert!(
        !log.contains("Hello from the stand-in"),
        "a body is in the log"
    );
}

#[test]
fn whole_answers_are_relayed_with_the_real_key_and_metered() {
    let standin = AnthropicStandIn::start();
    let gateway = GatewaySandbox::calling(REAL_KEY, &standin.url());
    let key = gateway.create_key_text("agent-a", &["--agent", "a"]);

    let answer = post_message(gateway.port, &key, false);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.json()["content"][0]["text"],
        "Hello from the stand-in"
    );
    assert_eq!(answer.header("request-id"), Some("req_standin"));
    // Claude Code's ANTHROPIC_AUTH_TOKEN arrives as a bearer token, and its beta
    // endpoint has a query string.
    let bearer = format!("Bearer {key}");
    let beta = http(
        gateway.port,
        "POST",
        "/v1/messages?beta=true",
        &[
            ("authorization", &bearer),
            ("anthropic-version", "2023-06-01"),
            ("anthropic-beta", "tools-2024-05-16"),
        ],
        Some(&message_body(false)),
    );
    assert_eq!(beta.status, 200, "{}", beta.body);
    let counted = http(
        gateway.port,
        "POST",
        "/v1/messages/count_tokens",
        &[("x-api-key", &key)],
        Some(&message_body(false)),
    );
    assert_eq!(counted.json()["input_tokens"], 42);
    let models = http(
        gateway.port,
        "GET",
        "/v1/models",
        &[("x-api-key", &key)],
        None,
    );
    assert_eq!(models.json()["data"][0]["id"], "claude-sonnet-4-5");

    let seen = standin.seen();
    assert_eq!(seen[0].path, "/v1/messages");
    assert_eq!(seen[0].header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(seen[1].path, "/v1/messages?beta=true");
    assert_eq!(seen[1].header("anthropic-beta"), Some("tools-2024-05-16"));
    assert_eq!(
        (seen[3].method.as_str(), seen[3].path.as_str()),
        ("GET", "/v1/models")
    );
    standin.assert_saw_only_key(REAL_KEY);

    // Two messages metered (count_tokens and models are free).
    let usage = gateway.usage_with_total(2);
    let row = &usage["rows"][0];
    let (input, output, cache_read, cache_write) = USAGE;
    assert_eq!(row["group"], "agent-a");
    assert_eq!(row["input_tokens"], 2 * input);
    assert_eq!(row["output_tokens"], 2 * output);
    assert_eq!(row["cache_read_tokens"], 2 * cache_read);
    assert_eq!(row["cache_write_tokens"], 2 * cache_write);
    assert_eq!(row["errors"], 0);
    // Sonnet 4.5: 3 / 15 / 0.30 / 3.75 USD per million tokens.
    let one = (input * 3_000_000
        + output * 15_000_000
        + cache_read * 300_000
        + cache_write * 3_750_000
        + 500_000)
        / 1_000_000;
    assert_eq!(row["cost_micros"], 2 * one);
    assert_log_holds_no_key(&gateway, &key);
}

/// Sends a streamed request and returns each SSE event's name with the time it
/// arrived.
fn stream_events(port: u16, key: &str) -> (Vec<(String, Instant)>, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = message_body(true);
    write!(
        stream,
        "POST /v1/messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-api-key: {key}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    let mut events = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let read = stream.read(&mut buffer).unwrap();
        if read == 0 {
            break;
        }
        let now = Instant::now();
        raw.push_str(&String::from_utf8_lossy(&buffer[..read]));
        let found: Vec<String> = raw
            .match_indices("event: ")
            .map(|(at, _)| raw[at + 7..].lines().next().unwrap_or("").to_string())
            .collect();
        for name in found.into_iter().skip(events.len()) {
            events.push((name, now));
        }
    }
    (events, raw)
}

#[test]
fn streams_are_relayed_event_by_event_and_metered() {
    let standin = AnthropicStandIn::start();
    standin.set_mode(Mode::Normal {
        delay: Duration::from_millis(200),
    });
    let gateway = GatewaySandbox::calling(REAL_KEY, &standin.url());
    let key = gateway.create_key_text("streamer", &[]);
    let (events, raw) = stream_events(gateway.port, &key);
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names.first(), Some(&"message_start"), "{raw}");
    assert_eq!(names.last(), Some(&"message_stop"), "{raw}");
    assert_eq!(names.len(), 5 + STREAM_DELTAS, "{raw}");
    // The stand-in sends one event every 200 ms: the client sees them apart, not
    // all at the end.
    for pair in events.windows(2) {
        let gap = pair[1].1 - pair[0].1;
        assert!(
            gap >= Duration::from_millis(120),
            "{} arrived {gap:?} after {}",
            pair[1].0,
            pair[0].0
        );
    }
    let usage = gateway.usage_with_total(1);
    let (input, _, cache_read, cache_write) = USAGE;
    assert_eq!(usage["rows"][0]["input_tokens"], input);
    assert_eq!(usage["rows"][0]["output_tokens"], STREAM_OUTPUT_TOKENS);
    assert_eq!(usage["rows"][0]["cache_read_tokens"], cache_read);
    assert_eq!(usage["rows"][0]["cache_write_tokens"], cache_write);
    standin.assert_saw_only_key(REAL_KEY);
    assert_log_holds_no_key(&gateway, &key);
}

#[test]
fn upstream_errors_reach_the_client_in_anthropic_shape_and_are_counted() {
    let standin = AnthropicStandIn::start();
    let gateway = GatewaySandbox::calling(REAL_KEY, &standin.url());
    let key = gateway.create_key_text("errors", &[]);

    let overloaded =
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
    standin.set_mode(Mode::Error {
        status: 529,
        body: overloaded.to_string(),
    });
    let answer = post_message(gateway.port, &key, false);
    assert_anthropic_error(&answer, 529, "overloaded_error", "Overloaded");

    standin.set_mode(Mode::Error {
        status: 429,
        body:
            json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})
                .to_string(),
    });
    let answer = post_message(gateway.port, &key, true);
    assert_anthropic_error(&answer, 429, "rate_limit_error", "slow down");

    // Not in Anthropic's shape (a proxy's HTML page): wrapped in it.
    standin.set_mode(Mode::Error {
        status: 502,
        body: "<html>bad gateway</html>".into(),
    });
    let answer = post_message(gateway.port, &key, false);
    assert_anthropic_error(&answer, 502, "api_error", "answered HTTP 502");

    // A stream cut in the middle ends with an SSE error event.
    standin.set_mode(Mode::CutStream);
    let (events, raw) = stream_events(gateway.port, &key);
    assert_eq!(
        events.first().map(|event| event.0.as_str()),
        Some("message_start")
    );
    assert_eq!(
        events.last().map(|event| event.0.as_str()),
        Some("error"),
        "{raw}"
    );
    assert!(raw.contains("\"type\":\"api_error\""), "{raw}");
    assert!(raw.contains("cut"), "{raw}");

    let usage = gateway.usage_with_total(4);
    assert_eq!(usage["rows"][0]["errors"], 4, "{usage}");
    // The cut stream is charged what it used before the cut.
    assert_eq!(usage["rows"][0]["input_tokens"], USAGE.0, "{usage}");
    standin.assert_saw_only_key(REAL_KEY);
}

#[test]
fn an_unreachable_api_is_a_502_naming_it() {
    let standin = AnthropicStandIn::start();
    let gateway = GatewaySandbox::new();
    let closed = format!("http://127.0.0.1:{}", free_port());
    gateway
        .install_with(&[
            ("MOSAIC_ANTHROPIC_API_KEY", REAL_KEY),
            ("MOSAIC_ANTHROPIC_BASE_URL", &closed),
        ])
        .expect_code(0);
    let key = gateway.create_key_text("nowhere", &[]);
    let answer = post_message(gateway.port, &key, false);
    assert_anthropic_error(&answer, 502, "api_error", &closed);
    drop(standin);
    let usage = gateway.usage_with_total(1);
    assert_eq!(usage["rows"][0]["errors"], 1);
}

#[test]
fn keys_are_refused_with_the_reason() {
    let standin = AnthropicStandIn::start();
    let gateway = GatewaySandbox::calling(REAL_KEY, &standin.url());
    let port = gateway.port;

    let none = http(
        port,
        "POST",
        "/v1/messages",
        &[],
        Some(&message_body(false)),
    );
    assert_anthropic_error(&none, 401, "authentication_error", "no API key");
    let anthropic_key = post_message(port, "sk-ant-api03-something", false);
    assert_anthropic_error(
        &anthropic_key,
        401,
        "authentication_error",
        "not a Mosaic key",
    );
    let unknown = post_message(port, &format!("mosaic_sk_{}", "x".repeat(40)), false);
    assert_anthropic_error(&unknown, 401, "authentication_error", "invalid API key");

    let revoked = gateway.create_key_text("gone", &[]);
    assert_eq!(post_message(port, &revoked, false).status, 200);
    gateway
        .run(&["gateway", "keys", "revoke", "gone"])
        .expect_code(0);
    // The daemon trusts a key it found for up to a second (KEY_CACHE_TTL).
    let revoked_at = Instant::now();
    let mut served_after_revoking = 0;
    let answer = loop {
        let answer = post_message(port, &revoked, false);
        if answer.status != 200 || revoked_at.elapsed() > Duration::from_secs(3) {
            break answer;
        }
        served_after_revoking += 1;
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        revoked_at.elapsed() < Duration::from_millis(1_500),
        "a revoked key worked for {:?}",
        revoked_at.elapsed()
    );
    assert_anthropic_error(&answer, 401, "authentication_error", "revoked");

    let haiku_only = gateway.create_key_text("haiku-only", &["--models", "claude-haiku-4-5"]);
    let answer = post_message(port, &haiku_only, false);
    assert_anthropic_error(&answer, 403, "permission_error", "claude-sonnet-4-5");

    standin.assert_saw_only_key(REAL_KEY);
    assert_eq!(
        standin.seen().len(),
        1 + served_after_revoking,
        "only the allowed requests went out"
    );
}

#[test]
fn budgets_and_rate_limits_refuse_before_the_api_is_called() {
    let standin = AnthropicStandIn::start();
    let gateway = GatewaySandbox::calling(REAL_KEY, &standin.url());
    let port = gateway.port;

    // One answer uses 40 tokens: the first request passes, the next finds the
    // budget used up (even before the writer stored the first).
    let budget = gateway.create_key_text("budget", &["--budget-tokens", "30/day"]);
    assert_eq!(post_message(port, &budget, false).status, 200);
    let refused = post_message(port, &budget, false);
    assert_anthropic_error(&refused, 429, "rate_limit_error", "token budget");
    assert!(refused.body.contains("resets at"), "{}", refused.body);
    assert!(refused.header("retry-after").is_some());

    let dollars = gateway.create_key_text("dollars", &["--budget-usd", "0.0001/month"]);
    assert_eq!(post_message(port, &dollars, false).status, 200);
    let refused = post_message(port, &dollars, false);
    assert_anthropic_error(&refused, 429, "rate_limit_error", "USD budget");

    let rpm = gateway.create_key_text("rpm", &["--rpm", "2"]);
    assert_eq!(post_message(port, &rpm, false).status, 200);
    assert_eq!(post_message(port, &rpm, false).status, 200);
    let refused = post_message(port, &rpm, false);
    assert_anthropic_error(&refused, 429, "rate_limit_error", "rpm limit");
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");

    let tpm = gateway.create_key_text("tpm", &["--tpm", "10"]);
    assert_eq!(post_message(port, &tpm, false).status, 200);
    let refused = post_message(port, &tpm, false);
    assert_anthropic_error(&refused, 429, "rate_limit_error", "tpm limit");

    // 5 requests went out; the 4 refused never reached the stand-in.
    assert_eq!(standin.seen().len(), 5);
}

#[test]
fn without_an_anthropic_key_the_proxy_says_how_to_set_one() {
    let standin = AnthropicStandIn::start();
    let gateway = GatewaySandbox::new();
    gateway
        .install_with(&[("MOSAIC_ANTHROPIC_BASE_URL", &standin.url())])
        .expect_code(0);
    let key = gateway.create_key_text("early", &[]);
    let answer = post_message(gateway.port, &key, false);
    assert_anthropic_error(
        &answer,
        401,
        "authentication_error",
        "mosaic config set gateway.anthropic_api_key",
    );
    assert!(standin.seen().is_empty());
}

#[test]
fn a_graceful_stop_stores_every_usage_record() {
    let standin = AnthropicStandIn::start();
    let gateway = GatewaySandbox::calling(REAL_KEY, &standin.url());
    let key = gateway.create_key_text("last-words", &[]);
    for _ in 0..5 {
        assert_eq!(post_message(gateway.port, &key, false).status, 200);
    }
    // Stopped at once, within the writer's 200 ms batching interval.
    gateway.run(&["gateway", "stop"]).expect_code(0);
    let run = gateway.run(&["gateway", "usage", "--by", "key", "--json"]);
    run.expect_code(0);
    assert_eq!(run.json()["total"]["requests"], 5, "{}", run.stdout);
}

/// Kills the gateway the hard way: SIGKILL to the supervisor first (so it cannot
/// start the daemon again), then to the daemon; waits until both are gone.
fn kill_9(gateway: &GatewaySandbox) {
    let kill = |pid: i32| {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    };
    let supervisors = gateway.supervisor_processes();
    assert!(!supervisors.is_empty(), "no supervisor to kill");
    supervisors.into_iter().for_each(kill);
    let daemons = gateway.daemon_processes();
    assert!(!daemons.is_empty(), "no daemon to kill");
    daemons.into_iter().for_each(kill);
    let gone = wait_for(Duration::from_secs(10), || {
        gateway.daemon_processes().is_empty() && gateway.supervisor_processes().is_empty()
    });
    assert!(gone, "the gateway survived SIGKILL");
}

/// The requests stored, read from the storage by `gateway usage` (the daemon is
/// gone: nothing can be added any more).
fn stored_requests(gateway: &GatewaySandbox) -> u64 {
    let run = gateway.run(&["gateway", "usage", "--by", "key", "--json"]);
    run.expect_code(0);
    run.json()["total"]["requests"].as_u64().unwrap()
}

#[test]
fn usage_a_second_old_survives_kill_9() {
    let standin = AnthropicStandIn::start();
    let gateway = GatewaySandbox::calling(REAL_KEY, &standin.url());
    let key = gateway.create_key_text("killed", &[]);
    const REQUESTS: u64 = 20;
    for index in 0..REQUESTS {
        assert_eq!(
            post_message(gateway.port, &key, index.is_multiple_of(2)).status,
            200
        );
    }
    // The bound: after kill -9, at most the last second may be missing.
    std::thread::sleep(Duration::from_secs(1));
    kill_9(&gateway);
    assert_eq!(stored_requests(&gateway), REQUESTS);
}

#[test]
fn kill_9_under_load_loses_at_most_the_last_second() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    let standin = AnthropicStandIn::start();
    let gateway = GatewaySandbox::calling(REAL_KEY, &standin.url());
    let key = gateway.create_key_text("busy", &[]);
    let stop = Arc::new(AtomicBool::new(false));
    // When each answered request's answer had arrived, and how many were sent.
    let answered = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let (stop, answered, sent, key) =
                (stop.clone(), answered.clone(), sent.clone(), key.clone());
            let port = gateway.port;
            std::thread::spawn(move || {
                let mut count = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    sent.fetch_add(1, Ordering::SeqCst);
                    let answer = send(
                        port,
                        "POST",
                        "/v1/messages",
                        &[("x-api-key", &key), ("anthropic-version", "2023-06-01")],
                        Some(&message_body((client + count).is_multiple_of(2))),
                    );
                    count += 1;
                    match answer {
                        Ok(answer) if answer.status == 200 => {
                            answered.lock().unwrap().push(Instant::now());
                        }
                        // The daemon is gone.
                        _ => break,
                    }
                }
            })
        })
        .collect();
    // Load for a while (a few writer batches), then kill in the middle of it.
    std::thread::sleep(Duration::from_millis(2_500));
    let killed_at = Instant::now();
    kill_9(&gateway);
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    let sent = sent.load(Ordering::SeqCst);
    let cutoff = killed_at - Duration::from_secs(1);
    let older_than_a_second = answered.iter().filter(|at| **at <= cutoff).count() as u64;
    assert!(
        older_than_a_second >= 20,
        "too little load to judge: {older_than_a_second} answers before the last second"
    );
    let stored = stored_requests(&gateway);
    assert!(
        stored >= older_than_a_second,
        "kill -9 lost usage older than a second: {stored} stored, {older_than_a_second} \
         answered more than a second before the kill ({} answered in all)",
        answered.len()
    );
    // Nothing is counted twice or invented.
    assert!(stored <= sent, "{stored} stored, only {sent} sent");
    eprintln!(
        "kill -9 under load: {} answered, {stored} stored, {} missing (all from the last \
         second)",
        answered.len(),
        (answered.len() as u64).saturating_sub(stored)
    );
}
