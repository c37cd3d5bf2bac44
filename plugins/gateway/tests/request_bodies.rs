//! Property tests of every request body the gateway accepts: arbitrary JSON
//! values, bodies of the right shape with values of any type, unknown fields, and
//! arbitrary bytes, sent to the real router in-process (`ServiceExt::oneshot`) over
//! a real SQLite store in a temp dir.
//!
//! For every answer: no panic, never a 5xx, every error is the API's JSON error
//! shape `{"error": {"code", "message"}}`, and the users table changes only when
//! the answer says it did (201 created one, 204 deleted one). The same for the
//! proxy's keys (`POST /api/keys`, `DELETE /api/keys/{name}`: a key is created or
//! revoked only when the answer says so) and `GET /api/usage` query strings. The
//! proxy's own routes (`/v1/...`) get arbitrary bodies and headers, without an
//! Anthropic key and with one but an API that cannot be reached: never a panic,
//! always Anthropic's error shape, never a key in an answer.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use mosaic_gateway::clock::unix_now;
use mosaic_gateway::secrets::{hash_password, new_token, token_hash};
use mosaic_gateway::server::proxy::Proxy;
use mosaic_gateway::server::{router, AppState, BootstrapGate, BODY_LIMIT_BYTES};
use mosaic_gateway::settings::{Secret, Settings, Tier};
use mosaic_gateway::storage::memory_limiter::MemoryLimiter;
use mosaic_gateway::storage::sqlite::SqliteStore;
use mosaic_gateway::storage::{Backend, NewUser, Role, User};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Map, Value};
use tower::ServiceExt as _;

const ADMIN_PASSWORD: &str = "correct horse battery";

/// A router over a fresh SQLite store, with an admin and their session (or, for
/// the bootstrap route, no admin and the bootstrap token).
struct Fixture {
    _directory: tempfile::TempDir,
    state: AppState,
    router: Router,
    /// A session of the admin, or the bootstrap token when there is no admin.
    token: String,
    admin: Option<User>,
}

impl Fixture {
    async fn new(with_admin: bool) -> Fixture {
        let directory = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&directory.path().join("gateway.db")).unwrap());
        let backend = Backend {
            users: store.clone(),
            sessions: store.clone(),
            keys: store.clone(),
            usage: store,
            limiter: Arc::new(MemoryLimiter::default()),
            dependencies: Vec::new(),
            cluster: None,
        };
        let token_file = directory.path().join("bootstrap-token");
        let gate = BootstrapGate::prepare(&token_file, with_admin).unwrap();
        let mut admin = None;
        let token = if with_admin {
            let user = backend
                .users
                .create_first_admin(NewUser {
                    name: "Ada".into(),
                    email: "ada@example.com".into(),
                    password_hash: hash_password(ADMIN_PASSWORD).unwrap(),
                    role: Role::Admin,
                })
                .await
                .unwrap();
            let token = new_token();
            backend
                .sessions
                .create_session(token_hash(&token), &user, unix_now() + 3600)
                .await
                .unwrap();
            admin = Some(user);
            token
        } else {
            std::fs::read_to_string(&token_file)
                .unwrap()
                .trim()
                .to_string()
        };
        let state = AppState::new(backend, Tier::Local, "http://localhost:3000".into(), gate);
        Fixture {
            _directory: directory,
            router: router(state.clone()),
            state,
            token,
            admin,
        }
    }

    /// `METHOD path` with the admin's session, checked by [`check_answer`]; a
    /// failure names `what`.
    async fn send_checked(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
        what: &str,
    ) -> Result<Answer, TestCaseError> {
        let answer = send(
            &self.router,
            method,
            path,
            Some(&self.token),
            content_type,
            body,
        )
        .await;
        check_answer(&answer, what)?;
        Ok(answer)
    }

    /// `DELETE path` with a JSON `body` and the admin's session, checked.
    async fn delete_checked(&self, path: &str, body: Vec<u8>) -> Result<Answer, TestCaseError> {
        let what = format!("DELETE {path}");
        self.send_checked(Method::DELETE, path, Some("application/json"), body, &what)
            .await
    }

    /// `POST path` of `body` as JSON with the admin's session.
    async fn post_json(&self, path: &str, body: &Value) -> Answer {
        send(
            &self.router,
            Method::POST,
            path,
            Some(&self.token),
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await
    }

    async fn user_count(&self) -> usize {
        self.state.backend().users.list_users().await.unwrap().len()
    }

    /// A session for a new ordinary user (for logout, which ends the session).
    async fn throwaway_session(&self) -> String {
        let users = &self.state.backend().users;
        let email = format!("{}@example.com", &new_token()[..12]);
        let user = users
            .create_user(NewUser {
                name: "Tmp".into(),
                email,
                password_hash: "not-a-hash".into(),
                role: Role::User,
            })
            .await
            .unwrap();
        let token = new_token();
        self.state
            .backend()
            .sessions
            .create_session(token_hash(&token), &user, unix_now() + 3600)
            .await
            .unwrap();
        token
    }
}

/// `METHOD path with BODY` (the body's first 300 bytes), for failure messages.
fn described(method: &Method, path: &str, body: &[u8]) -> String {
    format!(
        "{method} {path} with {:?}",
        String::from_utf8_lossy(&body[..body.len().min(300)])
    )
}

/// A different client address for each request, so the per-client login limit
/// does not turn most cases into 429s.
fn next_client() -> SocketAddr {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    SocketAddr::from(([10, (n >> 16) as u8, (n >> 8) as u8, n as u8], 40000))
}

struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    body: Vec<u8>,
}

async fn send(
    router: &Router,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Answer {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = bearer {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(content_type) = content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    let mut request = builder.body(Body::from(body)).unwrap();
    request.extensions_mut().insert(ConnectInfo(next_client()));
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        content_type,
        body,
    }
}

/// No 5xx; errors in the documented shape; successes are JSON (or empty for 204).
fn check_answer(answer: &Answer, what: &str) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(&answer.body);
    prop_assert!(
        !answer.status.is_server_error(),
        "{what}: {} {text}",
        answer.status
    );
    if answer.status == StatusCode::NO_CONTENT {
        return Ok(());
    }
    prop_assert_eq!(
        answer.content_type.as_deref(),
        Some("application/json"),
        "{}: {}",
        what,
        text
    );
    let value: Value = serde_json::from_slice(&answer.body)
        .map_err(|error| TestCaseError::fail(format!("{what}: not JSON ({error}): {text}")))?;
    if answer.status.is_client_error() {
        let error = value.get("error").and_then(Value::as_object);
        let shaped = value.as_object().is_some_and(|top| top.len() == 1)
            && error.is_some_and(|error| {
                error.len() == 2
                    && error.get("code").is_some_and(Value::is_string)
                    && error.get("message").is_some_and(Value::is_string)
            });
        prop_assert!(shaped, "{what}: not the error shape: {text}");
    }
    Ok(())
}

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |number| number.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        plausible_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(field_name(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Strings that could pass validation: names, emails, passwords, roles.
fn plausible_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}@[a-z]{1,8}\\.(com|org)",
        "[A-Za-z ]{0,20}",
        "[ -~]{6,24}",
        Just("admin".to_string()),
        Just("user".to_string()),
        Just(String::new()),
        Just(" ".repeat(3)),
        "\\PC{0,12}",
    ]
}

/// Field names: the API's own and others.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("name".to_string()),
        Just("email".to_string()),
        Just("password".to_string()),
        Just("role".to_string()),
        "[a-z_]{1,10}",
        ".{0,8}",
    ]
}

/// An object with some of `fields` (values of any type, often plausible strings)
/// and sometimes an unknown field.
fn shaped(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let value = prop_oneof![
        3 => plausible_string().prop_map(Value::from),
        1 => any_json(),
    ];
    (
        prop::collection::vec(prop::option::weighted(0.8, value), fields.len()),
        prop::option::weighted(0.2, ("[a-z_]{1,10}", any_json())),
    )
        .prop_map(move |(values, unknown)| {
            let mut object = Map::new();
            for (field, value) in fields.iter().zip(values) {
                if let Some(value) = value {
                    object.insert((*field).to_string(), value);
                }
            }
            if let Some((key, value)) = unknown {
                object.insert(key, value);
            }
            Value::Object(object)
        })
}

/// Bytes that are not (or not quite) JSON: random bytes, broken JSON texts, and
/// the known-hard ones: deep nesting, huge numbers, a BOM, an oversized body.
fn odd_bytes(fields: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let fixed: Vec<Vec<u8>> = vec![
        "[".repeat(100_000).into_bytes(),
        format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000)).into_bytes(),
        format!("{{\"a\":{}}}", "{\"a\":".repeat(3_000)).into_bytes(),
        br#"{"email": 1e999, "password": 123456789012345678901234567890}"#.to_vec(),
        br#"{"email": -0.0e-99999, "password": 18446744073709551616}"#.to_vec(),
        b"\xef\xbb\xbf{\"email\":\"a@b.c\",\"password\":\"x\"}".to_vec(),
        b"{\"email\":\"a\0b\",\"password\":\"\\ud800\"}".to_vec(),
        b"{\"email\":\"a@b.c\",\"email\":\"c@d.e\",\"password\":\"x\"}".to_vec(),
        vec![b' '; BODY_LIMIT_BYTES + 1],
        format!("{{\"name\":\"{}\"}}", "x".repeat(BODY_LIMIT_BYTES)).into_bytes(),
        Vec::new(),
        b"null".to_vec(),
    ];
    prop_oneof![
        prop::sample::select(fixed),
        prop::collection::vec(any::<u8>(), 0..256),
        (shaped(fields), any::<prop::sample::Index>(), any::<u8>()).prop_map(
            |(value, index, byte)| {
                // A valid body with one byte replaced or the text cut short.
                let mut text = value.to_string().into_bytes();
                let at = index.index(text.len().max(1)).min(text.len());
                if byte % 2 == 0 {
                    text.truncate(at);
                } else if at < text.len() {
                    text[at] = byte;
                }
                text
            }
        ),
    ]
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        8 => Just(Some("application/json")),
        1 => Just(Some("application/json; charset=utf-8")),
        1 => Just(None),
        1 => Just(Some("text/plain")),
    ]
}

/// A body as sent: a JSON value serialized, or raw bytes.
fn body(fields: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => any_json().prop_map(|value| value.to_string().into_bytes()),
        4 => shaped(fields).prop_map(|value| value.to_string().into_bytes()),
        3 => odd_bytes(fields),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Sends generated bodies to `method path` and checks every answer and that the
/// number of users changes only as the status says.
fn probe_route(
    fixture_has_admin: bool,
    method: Method,
    path: &'static str,
    fields: &'static [&'static str],
    cases: u32,
) {
    let runtime = runtime();
    let fixture = runtime.block_on(Fixture::new(fixture_has_admin));
    runner(cases)
        .run(&(body(fields), content_type()), |(body, content_type)| {
            runtime.block_on(async {
                let before = fixture.user_count().await;
                let what = described(&method, path, &body);
                let answer = fixture
                    .send_checked(method.clone(), path, content_type, body, &what)
                    .await?;
                let after = fixture.user_count().await;
                let expected = if answer.status == StatusCode::CREATED {
                    before + 1
                } else {
                    before
                };
                prop_assert_eq!(after, expected, "{}: {}", what, answer.status);
                if answer.status == StatusCode::CREATED {
                    let value: Value = serde_json::from_slice(&answer.body).unwrap();
                    prop_assert!(value["user"]["id"].is_i64(), "{}", value);
                    prop_assert!(value["user"].get("password_hash").is_none());
                }
                Ok(())
            })
        })
        .unwrap();
}

#[test]
fn login_bodies_never_crash_and_errors_keep_the_shape() {
    // Few cases: a well-formed body costs one argon2 check.
    probe_route(
        true,
        Method::POST,
        "/api/auth/login",
        &["email", "password"],
        48,
    );
}

#[test]
fn user_creation_bodies_never_crash_or_create_from_invalid_input() {
    probe_route(
        true,
        Method::POST,
        "/api/users",
        &["name", "email", "password", "role"],
        96,
    );
}

#[test]
fn bootstrap_bodies_never_crash_or_create_from_invalid_input() {
    probe_route(
        false,
        Method::POST,
        "/api/bootstrap/admin",
        &["name", "email", "password"],
        96,
    );
}

#[test]
fn logout_ignores_any_body_and_ends_only_its_session() {
    let runtime = runtime();
    let fixture = runtime.block_on(Fixture::new(true));
    runner(48)
        .run(
            &(body(&["token"]), content_type()),
            |(body, content_type)| {
                runtime.block_on(async {
                    let session = fixture.throwaway_session().await;
                    let answer = send(
                        &fixture.router,
                        Method::POST,
                        "/api/auth/logout",
                        Some(&session),
                        content_type,
                        body,
                    )
                    .await;
                    check_answer(&answer, "POST /api/auth/logout")?;
                    // The admin's own session is untouched.
                    let me = send(
                        &fixture.router,
                        Method::GET,
                        "/api/auth/me",
                        Some(&fixture.token),
                        None,
                        Vec::new(),
                    )
                    .await;
                    prop_assert_eq!(me.status, StatusCode::OK);
                    Ok(())
                })
            },
        )
        .unwrap();
}

#[test]
fn user_deletion_ids_never_crash_or_delete_the_wrong_user() {
    let runtime = runtime();
    let fixture = runtime.block_on(Fixture::new(true));
    let admin_id = fixture.admin.as_ref().unwrap().id;
    let id = prop_oneof![
        any::<i64>().prop_map(|id| id.to_string()),
        Just(admin_id.to_string()),
        "[0-9]{15,40}",
        "-?[0-9]{1,4}",
        "[A-Za-z0-9._~%-]{0,24}",
        Just("%00".to_string()),
        Just("1%2F2".to_string()),
        // Decodes to bytes that are not UTF-8: axum's own rejection was plain text.
        Just("%a0".to_string()),
        Just("%ff%fe".to_string()),
    ];
    runner(96)
        .run(&(id, body(&[])), |(id, body)| {
            runtime.block_on(async {
                let before = fixture.user_count().await;
                let path = format!("/api/users/{id}");
                let answer = fixture.delete_checked(&path, body).await?;
                let after = fixture.user_count().await;
                // Only the admin exists, and the last admin is never deleted.
                prop_assert_eq!(after, before, "DELETE {}: {}", path, answer.status);
                prop_assert_ne!(answer.status, StatusCode::NO_CONTENT);
                Ok(())
            })
        })
        .unwrap();
}

#[test]
fn well_formed_bodies_still_work() {
    // The properties above would also hold for a router that refuses everything.
    let runtime = runtime();
    runtime.block_on(async {
        let fixture = Fixture::new(true).await;
        let created = fixture
            .post_json(
                "/api/users",
                &json!({"name": "Bob", "email": "bob@example.com", "password": "a long password"}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED);
        let login = send(
            &fixture.router,
            Method::POST,
            "/api/auth/login",
            None,
            Some("application/json"),
            json!({"email": "bob@example.com", "password": "a long password"})
                .to_string()
                .into_bytes(),
        )
        .await;
        assert_eq!(login.status, StatusCode::OK);
        let unknown_field = send(
            &fixture.router,
            Method::POST,
            "/api/auth/login",
            None,
            Some("application/json"),
            json!({"email": "bob@example.com", "password": "a long password", "admin": true})
                .to_string()
                .into_bytes(),
        )
        .await;
        assert_eq!(unknown_field.status, StatusCode::UNPROCESSABLE_ENTITY);
        check_answer(&unknown_field, "unknown field").unwrap();
        // serde would fill the struct from an array by position; the API refuses.
        let array = send(
            &fixture.router,
            Method::POST,
            "/api/auth/login",
            None,
            Some("application/json"),
            br#"["bob@example.com", "a long password"]"#.to_vec(),
        )
        .await;
        assert_eq!(array.status, StatusCode::UNPROCESSABLE_ENTITY);
        check_answer(&array, "array").unwrap();
    });
}

// ---------------------------------------------------------------------------
// The proxy's API keys and usage over HTTP, and the proxy itself.

/// The fields of `POST /api/keys`.
const KEY_FIELDS: &[&str] = &[
    "name",
    "user",
    "agent",
    "budget_tokens",
    "budget_usd",
    "rpm",
    "tpm",
    "expires",
    "models",
];

/// Values for the key fields: plausible ones of each kind (names, budgets with
/// good and bad periods, dollar amounts, durations, model lists), numbers of every
/// size and sign, and anything else.
fn key_field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => "[a-z][a-z0-9._-]{0,10}".prop_map(Value::from),
        1 => "[0-9_]{0,22}/(day|month|week|)".prop_map(Value::from),
        1 => "\\$?[0-9]{0,16}(\\.[0-9]{0,8})?(/month|/day)?".prop_map(Value::from),
        1 => "[0-9]{0,14}[smhdwx ]?".prop_map(Value::from),
        1 => prop::collection::vec("[a-z0-9.:@ -]{0,20}", 0..4).prop_map(Value::from),
        1 => Just(json!("ada@example.com")),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => prop::sample::select(vec![
            json!(0),
            json!(-1),
            json!(1.5),
            json!(u32::MAX),
            json!(u64::from(u32::MAX) + 1),
            json!(1e300),
        ]),
        1 => any_json(),
    ]
}

/// A `POST /api/keys` body: some of the fields (an unknown one now and then).
fn key_spec_body() -> impl Strategy<Value = Vec<u8>> {
    let shaped = (
        prop::collection::vec(
            prop::option::weighted(0.5, key_field_value()),
            KEY_FIELDS.len(),
        ),
        prop::option::weighted(0.1, ("[a-z_]{1,10}", any_json())),
    )
        .prop_map(|(values, unknown)| {
            let mut object = Map::new();
            for (field, value) in KEY_FIELDS.iter().zip(values) {
                if let Some(value) = value {
                    object.insert((*field).to_string(), value);
                }
            }
            if let Some((key, value)) = unknown {
                object.insert(key, value);
            }
            Value::Object(object).to_string().into_bytes()
        });
    // Mostly valid: a fresh name and a few well-formed limits, so some keys are
    // created and the properties are checked on successes too.
    let mostly_valid = (
        "[a-z][a-z0-9]{3,12}",
        prop::option::of("[1-9][0-9]{0,6}/(day|month)"),
        prop::option::of(1u64..100_000),
        prop::option::of("[1-9][0-9]{0,2}[hdw]"),
        prop::option::weighted(0.2, ("[a-z_]{1,10}", any_json())),
    )
        .prop_map(|(name, budget, rpm, expires, unknown)| {
            let mut object = Map::new();
            object.insert("name".into(), Value::from(name));
            if let Some(budget) = budget {
                object.insert("budget_tokens".into(), Value::from(budget));
            }
            if let Some(rpm) = rpm {
                object.insert("rpm".into(), Value::from(rpm));
            }
            if let Some(expires) = expires {
                object.insert("expires".into(), Value::from(expires));
            }
            if let Some((key, value)) = unknown {
                object.insert(key, value);
            }
            Value::Object(object).to_string().into_bytes()
        });
    prop_oneof![
        6 => shaped,
        3 => mostly_valid,
        1 => body(KEY_FIELDS),
        1 => Just(br#"{"name": "huge", "rpm": 123456789012345678901234567890}"#.to_vec()),
        1 => Just(br#"{"name": "huge", "tpm": 1e999}"#.to_vec()),
    ]
}

impl Fixture {
    async fn keys(&self) -> Vec<mosaic_gateway::storage::keys::ApiKey> {
        self.state.backend().keys.list_keys().await.unwrap()
    }
}

#[test]
fn key_creation_bodies_never_crash_or_create_from_invalid_input() {
    let runtime = runtime();
    let fixture = runtime.block_on(Fixture::new(true));
    let created = AtomicU32::new(0);
    runner(192)
        .run(
            &(key_spec_body(), content_type()),
            |(body, content_type)| {
                runtime.block_on(async {
                    let before = fixture.keys().await.len();
                    let what = described(&Method::POST, "/api/keys", &body);
                    let answer = fixture
                        .send_checked(Method::POST, "/api/keys", content_type, body.clone(), &what)
                        .await?;
                    let after = fixture.keys().await.len();
                    if answer.status != StatusCode::CREATED {
                        prop_assert_eq!(after, before, "{}: {}", what, answer.status);
                        return Ok(());
                    }
                    prop_assert_eq!(after, before + 1, "{}", what);
                    created.fetch_add(1, Ordering::Relaxed);
                    // The key in the answer is the one stored (by its hash).
                    let value: Value = serde_json::from_slice(&answer.body).unwrap();
                    let key = value["key"].as_str().unwrap_or_default();
                    prop_assert!(key.starts_with("mosaic_sk_"), "{}", value);
                    prop_assert!(value.get("token_hash").is_none(), "{}", value);
                    let stored = fixture
                        .state
                        .backend()
                        .keys
                        .find_key(&token_hash(key))
                        .await
                        .unwrap();
                    prop_assert_eq!(
                        stored.map(|stored| stored.name),
                        value["name"].as_str().map(str::to_string)
                    );
                    Ok(())
                })
            },
        )
        .unwrap();
    // The properties would also hold for a route that refuses everything.
    assert!(created.into_inner() > 0, "no generated body created a key");
}

#[test]
fn key_revocation_names_never_crash_or_revoke_another_key() {
    let runtime = runtime();
    let fixture = runtime.block_on(Fixture::new(true));
    for name in ["alpha", "beta", "a.b_c-d"] {
        let created = runtime.block_on(fixture.post_json("/api/keys", &json!({ "name": name })));
        assert_eq!(created.status, StatusCode::CREATED);
    }
    let name = prop_oneof![
        Just("alpha".to_string()),
        Just("a.b_c-d".to_string()),
        Just("ALPHA".to_string()),
        Just("alpha%20".to_string()),
        "[A-Za-z0-9._~%-]{0,24}",
        Just("%00".to_string()),
        Just("a%2Fb".to_string()),
        // Decode to bytes that are not UTF-8.
        Just("%a0".to_string()),
        Just("%ff%fe".to_string()),
        Just("alpha%c3".to_string()),
    ];
    runner(128)
        .run(&(name, body(&[])), |(name, body)| {
            runtime.block_on(async {
                let active = |keys: &[mosaic_gateway::storage::keys::ApiKey]| {
                    keys.iter()
                        .filter(|key| key.revoked_at.is_none())
                        .map(|key| key.name.clone())
                        .collect::<Vec<_>>()
                };
                let before = active(&fixture.keys().await);
                let path = format!("/api/keys/{name}");
                let answer = fixture.delete_checked(&path, body).await?;
                let after = active(&fixture.keys().await);
                if answer.status == StatusCode::OK {
                    // Only the key named in the path (as decoded) is revoked.
                    let value: Value = serde_json::from_slice(&answer.body).unwrap();
                    let revoked = value["key"]["name"].as_str().unwrap_or_default();
                    prop_assert_eq!(value["key"]["state"].as_str(), Some("revoked"));
                    let expected: Vec<String> = before
                        .iter()
                        .filter(|known| known.as_str() != revoked)
                        .cloned()
                        .collect();
                    prop_assert_eq!(after, expected, "DELETE {}", path);
                } else {
                    prop_assert_eq!(after, before, "DELETE {}: {}", path, answer.status);
                }
                Ok(())
            })
        })
        .unwrap();
}

/// A query-string value: plausible ones (dates, durations, groups) and arbitrary
/// bytes, percent-encoded or raw where a URI allows them.
fn query_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("key".to_string()),
        Just("day".to_string()),
        Just("today".to_string()),
        "(key|user|agent|model|day|team|KEY)",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        "[0-9]{0,14}[smhdw]?",
        "[A-Za-z0-9._~+-]{0,16}",
        prop::collection::vec(any::<u8>(), 0..12)
            .prop_map(|bytes| { bytes.iter().map(|byte| format!("%{byte:02X}")).collect() }),
        Just("%".to_string()),
        Just("%zz".to_string()),
    ]
}

/// A query string of `by`, `since`, `until` (some repeated, some unknown names).
fn usage_query_string() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        3 => Just("by".to_string()),
        3 => Just("since".to_string()),
        3 => Just("until".to_string()),
        1 => "[a-z%0-9]{0,6}",
    ];
    prop::collection::vec((name, prop::option::weighted(0.9, query_value())), 0..5).prop_map(
        |pairs| {
            pairs
                .into_iter()
                .map(|(name, value)| match value {
                    Some(value) => format!("{name}={value}"),
                    None => name,
                })
                .collect::<Vec<_>>()
                .join("&")
        },
    )
}

#[test]
fn usage_query_strings_never_crash_and_errors_keep_the_shape() {
    let runtime = runtime();
    let fixture = runtime.block_on(Fixture::new(true));
    let answered = AtomicU32::new(0);
    runner(256)
        .run(&usage_query_string(), |query| {
            runtime.block_on(async {
                let path = format!("/api/usage?{query}");
                let answer = fixture
                    .send_checked(Method::GET, &path, None, Vec::new(), &format!("GET {path}"))
                    .await?;
                if answer.status == StatusCode::OK {
                    let value: Value = serde_json::from_slice(&answer.body).unwrap();
                    prop_assert!(value["rows"].is_array(), "{}", value);
                    prop_assert!(value["total"]["requests"].is_u64(), "{}", value);
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .unwrap();
    assert!(answered.into_inner() > 0, "no generated query was answered");
}

/// How the proxy of a fixture is set up.
#[derive(Clone, Copy, Debug)]
enum ProxySetup {
    /// No Anthropic key configured.
    WithoutKey,
    /// A key, and an upstream nothing listens on.
    UnreachableUpstream,
}

/// A fixture whose proxy is set up as `setup`, with a usable key, a revoked key
/// and an expired key (returned in that order).
async fn proxy_fixture(setup: ProxySetup) -> (Fixture, [String; 3]) {
    let fixture = Fixture::new(true).await;
    let proxy = match setup {
        ProxySetup::WithoutKey => Proxy::without_key(),
        ProxySetup::UnreachableUpstream => {
            let mut settings = Settings::from_file(&json!({})).unwrap();
            settings.anthropic_api_key = Some(Secret::new(REAL_KEY));
            // Port 1 on loopback: connections are refused at once.
            settings.anthropic_base_url = "http://127.0.0.1:1".to_string();
            let (proxy, _writer) =
                Proxy::start(&settings, fixture.state.backend().usage.clone()).unwrap();
            proxy
        }
    };
    let backend = fixture.state.backend().clone();
    let gate = BootstrapGate::prepare(&fixture._directory.path().join("token-2"), true).unwrap();
    let state = AppState::with_proxy(
        backend,
        Tier::Local,
        "http://localhost:3000".into(),
        gate,
        proxy,
    );
    let fixture = Fixture {
        router: router(state.clone()),
        state,
        ..fixture
    };
    let mut keys = Vec::new();
    for (name, spec) in [
        ("usable", json!({"name": "usable"})),
        ("revoked", json!({"name": "revoked"})),
        ("expired", json!({"name": "expired", "expires": "1s"})),
    ] {
        let created = fixture.post_json("/api/keys", &spec).await;
        assert_eq!(created.status, StatusCode::CREATED, "{name}");
        let value: Value = serde_json::from_slice(&created.body).unwrap();
        keys.push(value["key"].as_str().unwrap().to_string());
    }
    fixture
        .state
        .backend()
        .keys
        .revoke_key("revoked")
        .await
        .unwrap();
    // Until the expired key's second has passed.
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    (fixture, keys.try_into().unwrap())
}

/// The real Anthropic key of the proxy fixtures (it must never reach a client).
const REAL_KEY: &str = "sk-ant-api03-property-tests-REAL-KEY";

/// A header value as clients might send it: a key of the fixture, a key-like
/// string, or arbitrary bytes (only those a header may hold are sent).
fn key_header(keys: [String; 3]) -> impl Strategy<Value = Option<Vec<u8>>> {
    let [usable, revoked, expired] = keys;
    prop::option::weighted(
        0.85,
        prop_oneof![
            3 => Just(usable.into_bytes()),
            1 => Just(revoked.into_bytes()),
            1 => Just(expired.into_bytes()),
            1 => "mosaic_sk_[A-Za-z0-9]{0,44}".prop_map(String::into_bytes),
            1 => "sk-ant-[A-Za-z0-9-]{0,20}".prop_map(String::into_bytes),
            1 => prop::collection::vec(any::<u8>(), 0..48),
        ],
    )
}

/// One proxy request: method, path, headers, body.
fn proxy_request(keys: [String; 3]) -> impl Strategy<Value = ProxyRequest> {
    let method = prop::sample::select(vec![
        Method::POST,
        Method::POST,
        Method::POST,
        Method::GET,
        Method::PUT,
        Method::DELETE,
    ]);
    let path = prop::sample::select(vec![
        "/v1/messages",
        "/v1/messages?beta=true",
        "/v1/messages/count_tokens",
        "/v1/models",
        "/v1/models/claude-sonnet-4-5",
        "/v1/models/%ff",
    ]);
    let fields: &'static [&'static str] = &["model", "max_tokens", "stream", "messages", "system"];
    let body = prop_oneof![
        3 => shaped(fields).prop_map(|value| value.to_string().into_bytes()),
        1 => Just(
            json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "stream": true,
                "messages": [{"role": "user", "content": "Hi"}]})
            .to_string()
            .into_bytes()
        ),
        2 => body(fields),
    ];
    let other_header = prop::option::weighted(
        0.5,
        (
            prop::sample::select(vec![
                "anthropic-version",
                "anthropic-beta",
                "content-type",
                "accept",
                "content-encoding",
                "x-stainless-retry-count",
            ]),
            prop::collection::vec(any::<u8>(), 0..40),
        ),
    );
    (
        method,
        path,
        key_header(keys.clone()),
        key_header(keys),
        other_header,
        body,
    )
        .prop_map(
            |(method, path, api_key, bearer, other, body)| ProxyRequest {
                method,
                path,
                api_key,
                bearer,
                other,
                body,
            },
        )
}

#[derive(Debug, Clone)]
struct ProxyRequest {
    method: Method,
    path: &'static str,
    api_key: Option<Vec<u8>>,
    bearer: Option<Vec<u8>>,
    other: Option<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
}

impl ProxyRequest {
    fn build(&self) -> Request<Body> {
        let mut request = Request::builder()
            .method(self.method.clone())
            .uri(self.path)
            .body(Body::from(self.body.clone()))
            .unwrap();
        let headers = request.headers_mut();
        let mut add = |name: &'static str, value: &[u8]| {
            if let Ok(value) = header::HeaderValue::from_bytes(value) {
                headers.append(name, value);
            }
        };
        if let Some(key) = &self.api_key {
            add("x-api-key", key);
        }
        if let Some(token) = &self.bearer {
            let mut value = b"Bearer ".to_vec();
            value.extend_from_slice(token);
            add("authorization", &value);
        }
        if let Some((name, value)) = &self.other {
            add(name, value);
        }
        request.extensions_mut().insert(ConnectInfo(next_client()));
        request
    }
}

/// Sends generated requests to the proxy set up as `setup`: never a panic, and
/// (since no upstream answers) every answer is an error in Anthropic's shape that
/// holds neither the real key nor the Mosaic key sent.
fn probe_proxy(setup: ProxySetup, cases: u32) {
    let runtime = runtime();
    let (fixture, keys) = runtime.block_on(proxy_fixture(setup));
    let reached_upstream = AtomicU32::new(0);
    runner(cases)
        .run(&proxy_request(keys.clone()), |sent| {
            runtime.block_on(async {
                let response = fixture.router.clone().oneshot(sent.build()).await.unwrap();
                let status = response.status();
                let content_type = response
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_string);
                let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                    .await
                    .unwrap();
                let text = String::from_utf8_lossy(&body);
                let what = format!("{sent:?}: {status} {text}");
                prop_assert!(!status.is_success(), "{}", what);
                prop_assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{}", what);
                prop_assert_eq!(
                    content_type.as_deref(),
                    Some("application/json"),
                    "{}",
                    what
                );
                let value: Value = serde_json::from_slice(&body)
                    .map_err(|error| TestCaseError::fail(format!("not JSON ({error}): {what}")))?;
                let shaped = value["type"] == "error"
                    && value["error"]["type"].is_string()
                    && value["error"]["message"].is_string()
                    && value.as_object().is_some_and(|top| top.len() == 2);
                prop_assert!(shaped, "not Anthropic's error shape: {}", what);
                prop_assert!(!text.contains(REAL_KEY), "{}", what);
                for key in &keys {
                    prop_assert!(!text.contains(key.as_str()), "{}", what);
                }
                if status == StatusCode::BAD_GATEWAY {
                    reached_upstream.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .unwrap();
    // With a key, some requests got past authentication to the (unreachable) API.
    let reached_upstream = reached_upstream.into_inner();
    match setup {
        ProxySetup::WithoutKey => assert_eq!(reached_upstream, 0),
        ProxySetup::UnreachableUpstream => assert!(reached_upstream > 0, "no request got a 502"),
    }
}

#[test]
fn proxy_requests_without_an_anthropic_key_get_anthropic_errors() {
    probe_proxy(ProxySetup::WithoutKey, 192);
}

#[test]
fn proxy_requests_to_an_unreachable_api_get_anthropic_errors() {
    probe_proxy(ProxySetup::UnreachableUpstream, 192);
}
