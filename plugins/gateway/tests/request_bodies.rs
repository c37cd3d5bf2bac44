//! Property tests of every request body the gateway accepts: arbitrary JSON
//! values, bodies of the right shape with values of any type, unknown fields, and
//! arbitrary bytes, sent to the real router in-process (`ServiceExt::oneshot`) over
//! a real SQLite store in a temp dir.
//!
//! For every answer: no panic, never a 5xx, every error is the API's JSON error
//! shape `{"error": {"code", "message"}}`, and the users table changes only when
//! the answer says it did (201 created one, 204 deleted one).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use mosaic_gateway::clock::unix_now;
use mosaic_gateway::secrets::{hash_password, new_token, token_hash};
use mosaic_gateway::server::{router, AppState, BootstrapGate, BODY_LIMIT_BYTES};
use mosaic_gateway::settings::Tier;
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
                let answer = send(
                    &fixture.router,
                    method.clone(),
                    path,
                    Some(&fixture.token),
                    content_type,
                    body.clone(),
                )
                .await;
                let what = format!(
                    "{method} {path} with {:?}",
                    String::from_utf8_lossy(&body[..body.len().min(300)])
                );
                check_answer(&answer, &what)?;
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
                let answer = send(
                    &fixture.router,
                    Method::DELETE,
                    &path,
                    Some(&fixture.token),
                    Some("application/json"),
                    body,
                )
                .await;
                check_answer(&answer, &format!("DELETE {path}"))?;
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
        let created = send(
            &fixture.router,
            Method::POST,
            "/api/users",
            Some(&fixture.token),
            Some("application/json"),
            json!({"name": "Bob", "email": "bob@example.com", "password": "a long password"})
                .to_string()
                .into_bytes(),
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
