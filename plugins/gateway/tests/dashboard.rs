//! The dashboard's server side through the real router in-process
//! (`ServiceExt::oneshot`) over a real SQLite store: the pages' access rules and
//! security headers, the session cookie, CSRF, password resets, the assets, the
//! usage chart, and the agent API fed by a stand-in `mosaic` (a shell script that
//! answers like fleet and hooks, or like a host without the fleet plugin).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use mosaic_gateway::clock::unix_now;
use mosaic_gateway::secrets::{hash_password, new_token, token_hash};
use mosaic_gateway::server::dashboard;
use mosaic_gateway::server::dashboard::csrf::csrf_token;
use mosaic_gateway::server::dashboard::CONTENT_SECURITY_POLICY;
use mosaic_gateway::server::{router, AppState, BootstrapGate, MosaicCommand};
use mosaic_gateway::settings::Tier;
use mosaic_gateway::storage::keys::UsageRecord;
use mosaic_gateway::storage::memory_limiter::MemoryLimiter;
use mosaic_gateway::storage::sqlite::SqliteStore;
use mosaic_gateway::storage::{Backend, NewUser, Role, User};
use serde_json::{json, Value};
use tower::ServiceExt as _;

const CORS_ORIGIN: &str = "http://localhost:3000";
const HOST: &str = "127.0.0.1:14242";
const PASSWORD: &str = "correct horse battery";

/// What a page, an asset or the API answered.
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text()))
    }

    fn error_code(&self) -> Value {
        self.json()["error"]["code"].clone()
    }
}

/// A router over a fresh store with an admin and a user (and a session of each),
/// whose agent API runs `mosaic_stand_in`.
struct Fixture {
    directory: tempfile::TempDir,
    state: AppState,
    router: Router,
    admin: User,
    admin_session: String,
    user: User,
    user_session: String,
}

impl Fixture {
    async fn new() -> Fixture {
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
        let gate = BootstrapGate::prepare(&directory.path().join("bootstrap-token"), true).unwrap();
        let hash = hash_password(PASSWORD).unwrap();
        let admin = backend
            .users
            .create_first_admin(NewUser {
                name: "Ada".into(),
                email: "ada@example.com".into(),
                password_hash: hash.clone(),
                role: Role::Admin,
            })
            .await
            .unwrap();
        let user = backend
            .users
            .create_user(NewUser {
                name: "Bob".into(),
                email: "bob@example.com".into(),
                password_hash: hash,
                role: Role::User,
            })
            .await
            .unwrap();
        let state = AppState::new(backend, Tier::Local, CORS_ORIGIN.into(), gate);
        let stand_in = write_stand_in(directory.path());
        assert!(state.use_mosaic_command(MosaicCommand::new(stand_in, Vec::new())));
        let mut fixture = Fixture {
            router: router(state.clone()),
            state,
            admin_session: String::new(),
            user_session: String::new(),
            admin,
            user,
            directory,
        };
        fixture.admin_session = fixture.session_of(&fixture.admin.clone()).await;
        fixture.user_session = fixture.session_of(&fixture.user.clone()).await;
        fixture
    }

    async fn session_of(&self, user: &User) -> String {
        let token = new_token();
        self.state
            .backend()
            .sessions
            .create_session(token_hash(&token), user, unix_now() + 3600)
            .await
            .unwrap();
        token
    }

    /// Makes the stand-in answer `words` (e.g. `fleet ps`) with `output` on stdout.
    fn answer(&self, words: &str, output: &str) {
        std::fs::write(self.answer_file(words), output).unwrap();
    }

    fn answer_file(&self, words: &str) -> PathBuf {
        self.directory.path().join(words.replace(' ', "-"))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, HOST);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        let mut request = request.body(body).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.send(Method::GET, path, headers, None).await
    }
}

fn cookie(session: &str) -> String {
    format!("mosaic_session={session}")
}

fn bearer(session: &str) -> String {
    format!("Bearer {session}")
}

/// A `mosaic` stand-in: for `fleet ps`, `config hooks audit` and `fleet logs` it
/// prints the file the test wrote for them (`fleet-ps`, …), or when there is none
/// says what the host says without the plugin.
fn write_stand_in(directory: &Path) -> PathBuf {
    let script = directory.join("mosaic");
    let answers = directory.display();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             # $1 is --json; then the command words.\n\
             case \"$2 $3\" in\n\
             'fleet ps') file='{answers}/fleet-ps'; plugin=fleet;;\n\
             'fleet logs') file='{answers}/fleet-logs'; plugin=fleet;;\n\
             'config hooks') file='{answers}/config-hooks-audit'; plugin=hooks;;\n\
             *) echo \"error: unexpected $*\" >&2; exit 1;;\n\
             esac\n\
             echo \"$*\" >> '{answers}/calls'\n\
             if [ -f \"$file\" ]; then cat \"$file\"; exit 0; fi\n\
             echo \"error: \\`$2\\` is provided by the $plugin plugin, which is not installed (install it)\" >&2\n\
             exit 2\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    script
}

const PAGES: [&str; 6] = [
    "/agents",
    "/agents/api%20one",
    "/usage",
    "/keys",
    "/users",
    "/login",
];

#[track_caller]
fn assert_page_headers(answer: &Answer, what: &str) {
    assert_eq!(
        answer.header("content-security-policy"),
        Some(CONTENT_SECURITY_POLICY),
        "{what}"
    );
    assert_eq!(
        CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    assert_eq!(
        answer.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        answer.header("referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(answer.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(answer.header("cache-control"), Some("no-store"), "{what}");
}

#[tokio::test]
async fn pages_carry_the_security_headers() {
    let fixture = Fixture::new().await;
    let admin = cookie(&fixture.admin_session);
    for path in PAGES {
        let answer = fixture.get(path, &[("cookie", &admin)]).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(
            answer.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        assert_page_headers(&answer, path);
    }
    let login = fixture.get("/login", &[]).await;
    assert_eq!(login.status, StatusCode::OK);
    assert_page_headers(&login, "/login without a session");
    // nosniff on every answer, the API's and its errors included.
    for path in ["/health", "/api/auth/me", "/no/such/route"] {
        let answer = fixture.get(path, &[]).await;
        assert_eq!(
            answer.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn without_a_session_pages_lead_to_the_login_and_the_api_says_401() {
    let fixture = Fixture::new().await;
    for (path, next) in [
        ("/agents", "/agents"),
        ("/agents/api%20one", "/agents/api%2520one"),
        ("/usage", "/usage"),
        ("/keys", "/keys"),
        ("/users", "/users"),
    ] {
        for headers in [vec![], vec![("cookie", "mosaic_session=forged")]] {
            let answer = fixture.get(path, &headers).await;
            assert_eq!(answer.status, StatusCode::SEE_OTHER, "{path}");
            assert_eq!(
                answer.header("location"),
                Some(format!("/login?next={next}").as_str()),
                "{path}"
            );
        }
    }
    let root = fixture.get("/", &[]).await;
    assert_eq!(root.status, StatusCode::SEE_OTHER);
    assert_eq!(root.header("location"), Some("/login"));
    let signed_in = fixture
        .get("/", &[("cookie", &cookie(&fixture.user_session))])
        .await;
    assert_eq!(signed_in.header("location"), Some("/agents"));
    for path in [
        "/api/agents",
        "/api/agents/api",
        "/api/usage/chart.svg",
        "/api/auth/me",
    ] {
        let answer = fixture.get(path, &[]).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(answer.error_code(), "unauthenticated");
    }
}

#[tokio::test]
async fn a_user_who_is_not_an_admin_gets_no_admin_page_or_api() {
    let fixture = Fixture::new().await;
    let user = cookie(&fixture.user_session);
    let forbidden_page =
        std::fs::read_to_string(asset_path("forbidden.html")).expect("forbidden.html");
    for path in ["/keys", "/users"] {
        let answer = fixture.get(path, &[("cookie", &user)]).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(answer.text(), forbidden_page);
        assert_page_headers(&answer, path);
    }
    for path in ["/agents", "/usage"] {
        let answer = fixture.get(path, &[("cookie", &user)]).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
    }
    let by_bearer = bearer(&fixture.user_session);
    for (method, path, body) in [
        (Method::GET, "/api/keys", None),
        (Method::GET, "/api/users", None),
        (
            Method::POST,
            "/api/keys",
            Some(json!({"name": "mine", "user": "bob@example.com"})),
        ),
        (
            Method::POST,
            &*format!("/api/users/{}/password", fixture.admin.id),
            Some(json!({"password": "a new long password"})),
        ),
        (
            Method::DELETE,
            &*format!("/api/users/{}", fixture.admin.id),
            None,
        ),
    ] {
        let answer = fixture
            .send(method.clone(), path, &[("authorization", &by_bearer)], body)
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(answer.error_code(), "forbidden");
    }
}

#[tokio::test]
async fn the_login_sets_a_strict_http_only_cookie_and_hands_out_the_csrf_token() {
    let fixture = Fixture::new().await;
    let login = fixture
        .send(
            Method::POST,
            "/api/auth/login",
            &[("origin", &format!("http://{HOST}"))],
            Some(json!({"email": "bob@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text());
    let body = login.json();
    let token = body["token"].as_str().unwrap();
    assert_eq!(body["csrf_token"], csrf_token(token));
    let set_cookie = login.header("set-cookie").unwrap();
    assert_eq!(
        set_cookie,
        format!("mosaic_session={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=604800")
    );
    let me = fixture
        .get("/api/auth/me", &[("cookie", &cookie(token))])
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["csrf_token"], csrf_token(token));
    assert_eq!(me.json()["user"]["email"], "bob@example.com");

    // Logout clears the cookie the same way (with the token: it is a cookie POST).
    let logout = fixture
        .send(
            Method::POST,
            "/api/auth/logout",
            &[
                ("cookie", &cookie(token)),
                ("x-csrf-token", &csrf_token(token)),
            ],
            None,
        )
        .await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    assert!(logout
        .header("set-cookie")
        .unwrap()
        .starts_with("mosaic_session=; HttpOnly; SameSite=Strict;"));
}

#[tokio::test]
async fn state_changes_by_cookie_need_the_csrf_token_and_a_friendly_origin() {
    let fixture = Fixture::new().await;
    let session = &fixture.admin_session;
    let by_cookie = cookie(session);
    let right = csrf_token(session);
    let wrong = csrf_token(&fixture.user_session);
    let key = |name: &str| Some(json!({"name": name}));
    let create = |headers: Vec<(&'static str, String)>, name: &'static str| {
        let fixture = &fixture;
        async move {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(name, value)| (*name, value.as_str()))
                .collect();
            fixture
                .send(Method::POST, "/api/keys", &headers, key(name))
                .await
        }
    };

    let none = create(vec![("cookie", by_cookie.clone())], "k1").await;
    assert_eq!(none.status, StatusCode::FORBIDDEN);
    assert_eq!(none.error_code(), "csrf");
    let wrong_token = create(
        vec![("cookie", by_cookie.clone()), ("x-csrf-token", wrong)],
        "k2",
    )
    .await;
    assert_eq!(wrong_token.status, StatusCode::FORBIDDEN);
    assert_eq!(wrong_token.error_code(), "csrf");
    let foreign = create(
        vec![
            ("cookie", by_cookie.clone()),
            ("x-csrf-token", right.clone()),
            ("origin", "http://evil.example".into()),
        ],
        "k3",
    )
    .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert_eq!(foreign.error_code(), "csrf");
    let keys = fixture.state.backend().keys.list_keys().await.unwrap();
    assert!(keys.is_empty(), "a refused request created {keys:?}");

    for (origin, name) in [(format!("http://{HOST}"), "k4"), (CORS_ORIGIN.into(), "k5")] {
        let allowed = create(
            vec![
                ("cookie", by_cookie.clone()),
                ("x-csrf-token", right.clone()),
                ("origin", origin.clone()),
            ],
            name,
        )
        .await;
        assert_eq!(
            allowed.status,
            StatusCode::CREATED,
            "{origin}: {}",
            allowed.text()
        );
    }
    let bearer_only = create(vec![("authorization", bearer(session))], "k6").await;
    assert_eq!(
        bearer_only.status,
        StatusCode::CREATED,
        "{}",
        bearer_only.text()
    );

    // DELETE is guarded too; a login from another origin is refused.
    let revoke = fixture
        .send(
            Method::DELETE,
            "/api/keys/k4",
            &[("cookie", &by_cookie)],
            None,
        )
        .await;
    assert_eq!(revoke.status, StatusCode::FORBIDDEN);
    let login = fixture
        .send(
            Method::POST,
            "/api/auth/login",
            &[("origin", "http://evil.example")],
            Some(json!({"email": "ada@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
    assert_eq!(login.error_code(), "csrf");
    // Reading needs no token.
    let listed = fixture.get("/api/keys", &[("cookie", &by_cookie)]).await;
    assert_eq!(listed.status, StatusCode::OK);
}

#[tokio::test]
async fn an_admin_resets_a_password_and_the_user_is_signed_out() {
    let fixture = Fixture::new().await;
    let admin = bearer(&fixture.admin_session);
    let path = format!("/api/users/{}/password", fixture.user.id);
    let short = fixture
        .send(
            Method::POST,
            &path,
            &[("authorization", &admin)],
            Some(json!({"password": "short"})),
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST, "{}", short.text());
    let unknown = fixture
        .send(
            Method::POST,
            "/api/users/9999/password",
            &[("authorization", &admin)],
            Some(json!({"password": "a new long password"})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let extra = fixture
        .send(
            Method::POST,
            &path,
            &[("authorization", &admin)],
            Some(json!({"password": "a new long password", "role": "admin"})),
        )
        .await;
    assert_eq!(extra.status, StatusCode::UNPROCESSABLE_ENTITY);

    let reset = fixture
        .send(
            Method::POST,
            &path,
            &[
                ("cookie", &cookie(&fixture.admin_session)),
                ("x-csrf-token", &csrf_token(&fixture.admin_session)),
            ],
            Some(json!({"password": "a new long password"})),
        )
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{}", reset.text());
    let old_session = fixture
        .get(
            "/api/auth/me",
            &[("authorization", &bearer(&fixture.user_session))],
        )
        .await;
    assert_eq!(old_session.status, StatusCode::UNAUTHORIZED);
    let login = |password: &'static str| {
        fixture.send(
            Method::POST,
            "/api/auth/login",
            &[],
            Some(json!({"email": "bob@example.com", "password": password})),
        )
    };
    assert_eq!(login(PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(login("a new long password").await.status, StatusCode::OK);
    // The admin's own session is untouched.
    let still = fixture
        .get("/api/auth/me", &[("authorization", &admin)])
        .await;
    assert_eq!(still.status, StatusCode::OK);
}

fn asset_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/server/dashboard/assets")
        .join(name)
}

#[tokio::test]
async fn assets_are_revalidated_with_etags() {
    let fixture = Fixture::new().await;
    for (path, file, content_type) in [
        ("/assets/app.css", "app.css", "text/css; charset=utf-8"),
        ("/assets/app.js", "app.js", "text/javascript; charset=utf-8"),
    ] {
        let answer = fixture.get(path, &[]).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(answer.header("content-type"), Some(content_type));
        assert_eq!(answer.header("cache-control"), Some("no-cache"));
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(answer.body, std::fs::read(asset_path(file)).unwrap());
        let etag = answer.header("etag").unwrap().to_string();
        let again = fixture.get(path, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        assert!(again.body.is_empty());
    }
    let icon = fixture.get("/favicon.ico", &[]).await;
    assert_eq!(icon.status, StatusCode::NO_CONTENT);
}

#[test]
fn pages_hold_no_inline_script_or_style() {
    for page in [
        "login.html",
        "agents.html",
        "agent.html",
        "usage.html",
        "keys.html",
        "users.html",
        "forbidden.html",
        "nav.html",
    ] {
        let html = std::fs::read_to_string(asset_path(page)).unwrap();
        let lower = html.to_ascii_lowercase();
        for (index, _) in lower.match_indices("<script") {
            let tag = &lower[index..index + lower[index..].find('>').unwrap_or(0)];
            assert!(tag.contains(" src="), "{page}: inline script {tag}");
        }
        assert!(!lower.contains(" style="), "{page}: style attribute");
        assert!(!lower.contains("<style"), "{page}: style element");
        assert!(
            !lower.contains(" onclick=") && !lower.contains(" onload="),
            "{page}"
        );
    }
}

fn ps_json(agents: Value) -> String {
    json!({"now": 1_764_800_000u64, "run_dir": "/run", "agents": agents, "problems": [],
           "gateway_usage": {"status": "unavailable", "reason": "--no-usage"}})
    .to_string()
}

#[tokio::test]
async fn without_fleet_the_agent_list_says_not_installed() {
    let fixture = Fixture::new().await;
    let user = cookie(&fixture.user_session);
    let answer = fixture.get("/api/agents", &[("cookie", &user)]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["fleet"], "not_installed");
    assert!(body["problem"].as_str().unwrap().contains("not installed"));
    assert_eq!(body["agents"], json!([]));
    let one = fixture.get("/api/agents/api", &[("cookie", &user)]).await;
    assert_eq!(one.status, StatusCode::NOT_FOUND);
    assert_eq!(one.error_code(), "not_found");
}

#[tokio::test]
async fn the_agent_list_is_sorted_with_usage_cached_and_compressed() {
    let fixture = Fixture::new().await;
    let hostile = "<script>alert(1)</script>";
    fixture.answer(
        "fleet ps",
        &ps_json(json!([
            {"agent": "idle-one", "status": "alive", "state": "idle", "runtime": "claude",
             "uptime_seconds": 60},
            {"agent": hostile, "status": "alive", "state": "waiting",
             "state_message": "\"><img src=x onerror=alert(1)>", "state_seconds": 12,
             "branch": "feat/x", "gateway_key": "fleet-k"},
            {"agent": "busy", "status": "stale", "state": "working",
             "activity": {"last_event": "PreToolUse", "last_event_at": 1_764_799_995u64,
                          "last_tool": "Bash", "last_tool_at": 1_764_799_995u64}},
        ])),
    );
    let today_ms = unix_now() * 1000;
    let record = |agent: &str, user_id: i64, tokens: u64| UsageRecord {
        at_ms: today_ms,
        key_id: 1,
        user_id: Some(user_id),
        agent: Some(agent.into()),
        model: "claude-sonnet-4-5".into(),
        input_tokens: tokens,
        output_tokens: 0,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        status: 200,
        latency_ms: 5,
        cost_micros: 12_345,
    };
    fixture
        .state
        .backend()
        .usage
        .record(&[
            record("busy", fixture.admin.id, 1000),
            record("busy", fixture.user.id, 234),
        ])
        .await
        .unwrap();

    let admin = cookie(&fixture.admin_session);
    let answer = fixture.get("/api/agents", &[("cookie", &admin)]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["fleet"], "ok");
    assert_eq!(body["usage"], "ok");
    assert_eq!(body["now"], 1_764_800_000u64);
    let names: Vec<&str> = body["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|agent| agent["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [hostile, "busy", "idle-one"]);
    assert_eq!(
        body["agents"][0],
        json!({"name": hostile, "status": "alive", "state": "waiting",
               "state_message": "\"><img src=x onerror=alert(1)>", "state_seconds": 12,
               "branch": "feat/x", "last_tool": null, "activity": null,
               "uptime_seconds": null, "runtime": null, "tokens_today": 0,
               "cost_usd_today": "0.0000"})
    );
    assert_eq!(body["agents"][1]["tokens_today"], 1234);
    assert_eq!(body["agents"][1]["cost_usd_today"], "0.0247");
    assert_eq!(body["agents"][1]["activity"], "Bash 5s ago");
    assert_eq!(body["agents"][1]["last_tool"], "Bash");
    assert_eq!(body["agents"][2]["tokens_today"], Value::Null);
    // A user sees only what their own keys used.
    let mine = fixture
        .get("/api/agents", &[("cookie", &cookie(&fixture.user_session))])
        .await
        .json();
    assert_eq!(mine["agents"][1]["tokens_today"], 234);

    // The same snapshot again: 304 for the same ETag; gzip when asked.
    let etag = answer.header("etag").unwrap().to_string();
    let unchanged = fixture
        .get(
            "/api/agents",
            &[("cookie", &admin), ("if-none-match", &etag)],
        )
        .await;
    assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);
    let compressed = fixture
        .get(
            "/api/agents",
            &[("cookie", &admin), ("accept-encoding", "gzip, deflate")],
        )
        .await;
    assert_eq!(compressed.header("content-encoding"), Some("gzip"));
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&compressed.body[..]),
        &mut text,
    )
    .unwrap();
    assert_eq!(text.as_bytes(), &answer.body[..]);
    let calls = std::fs::read_to_string(fixture.directory.path().join("calls")).unwrap();
    assert_eq!(
        calls.lines().collect::<Vec<_>>(),
        ["--json fleet ps --all --no-usage"],
        "one fleet ps served every request within a second"
    );
}

#[tokio::test]
async fn a_stale_agent_list_is_answered_at_once_while_a_new_one_is_taken() {
    let fixture = Fixture::new().await;
    let admin = cookie(&fixture.admin_session);
    fixture.answer(
        "fleet ps",
        &ps_json(json!([{"agent": "first", "status": "alive"}])),
    );
    let first = fixture
        .get("/api/agents", &[("cookie", &admin)])
        .await
        .json();
    assert_eq!(first["agents"][0]["name"], "first");

    // Past the snapshot's freshness: the old list answers at once, and the next
    // request after the background refresh sees the new one.
    fixture.answer(
        "fleet ps",
        &ps_json(json!([{"agent": "second", "status": "alive"}])),
    );
    tokio::time::sleep(dashboard::agents::SNAPSHOT_TTL + Duration::from_millis(100)).await;
    let stale = fixture
        .get("/api/agents", &[("cookie", &admin)])
        .await
        .json();
    assert_eq!(stale["agents"][0]["name"], "first");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let body = fixture
            .get("/api/agents", &[("cookie", &admin)])
            .await
            .json();
        if body["agents"][0]["name"] == "second" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the background refresh never landed: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let calls = std::fs::read_to_string(fixture.directory.path().join("calls")).unwrap();
    assert_eq!(
        calls.lines().count(),
        2,
        "one refresh per stale period: {calls}"
    );
}

#[tokio::test]
async fn an_agent_page_has_its_activity_and_pane() {
    let fixture = Fixture::new().await;
    fixture.answer(
        "fleet ps",
        &ps_json(json!([{"agent": "api", "status": "alive", "state": "working"}])),
    );
    fixture.answer(
        "config hooks audit",
        &json!({"entries": [
            {"timestamp_ms": 1000, "hook": "bash-guard", "event": "PreToolUse", "agent": "api",
             "tool": "Bash", "command": "rm -rf /", "decision": "deny", "rule": "rm-root",
             "reason": "no"},
            {"timestamp_ms": 2000, "hook": "activity", "event": "PostToolUse", "agent": "api",
             "tool": "Edit", "file_path": "/src/<b>.rs"},
        ]})
        .to_string(),
    );
    let user = cookie(&fixture.user_session);
    // No pane answer yet: the page says why instead.
    let without_pane = fixture.get("/api/agents/api", &[("cookie", &user)]).await;
    assert_eq!(
        without_pane.status,
        StatusCode::OK,
        "{}",
        without_pane.text()
    );
    let body = without_pane.json();
    assert_eq!(body["pane"], json!([]));
    assert!(body["pane_problem"]
        .as_str()
        .unwrap()
        .contains("not installed"));

    fixture.answer(
        "fleet logs",
        &json!({"agent": "api", "lines": ["$ cargo test", "ok"]}).to_string(),
    );
    let body = fixture
        .get("/api/agents/api", &[("cookie", &user)])
        .await
        .json();
    assert_eq!(body["agent"]["name"], "api");
    assert_eq!(body["pane"], json!(["$ cargo test", "ok"]));
    assert!(body.get("pane_problem").is_none());
    assert_eq!(
        body["activity"],
        json!([
            {"time_ms": 2000, "hook": "activity", "event": "PostToolUse", "tool": "Edit",
             "summary": "/src/<b>.rs", "decision": null, "rule": null, "reason": null},
            {"time_ms": 1000, "hook": "bash-guard", "event": "PreToolUse", "tool": "Bash",
             "summary": "rm -rf /", "decision": "deny", "rule": "rm-root", "reason": "no"},
        ])
    );
    let calls = std::fs::read_to_string(fixture.directory.path().join("calls")).unwrap();
    assert!(
        calls.contains("--json config hooks audit --agent=api -n 100"),
        "{calls}"
    );
    assert!(calls.contains("--json fleet logs -n 40 -- api"), "{calls}");
    let unknown = fixture.get("/api/agents/nope", &[("cookie", &user)]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_usage_chart_is_an_svg_of_the_viewers_usage() {
    let fixture = Fixture::new().await;
    let record = UsageRecord {
        at_ms: unix_now() * 1000,
        key_id: 1,
        user_id: Some(fixture.admin.id),
        agent: Some("<script>".into()),
        model: "m".into(),
        input_tokens: 1500,
        output_tokens: 0,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        status: 200,
        latency_ms: 1,
        cost_micros: 12_345,
    };
    fixture
        .state
        .backend()
        .usage
        .record(&[record])
        .await
        .unwrap();
    let admin = fixture
        .get(
            "/api/usage/chart.svg?since=&until=",
            &[("cookie", &cookie(&fixture.admin_session))],
        )
        .await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.text());
    assert_eq!(
        admin.header("content-type"),
        Some("image/svg+xml; charset=utf-8")
    );
    assert!(admin
        .header("content-security-policy")
        .unwrap()
        .starts_with("default-src 'none'"));
    let svg = admin.text();
    assert!(svg.starts_with("<svg "), "{svg}");
    assert!(svg.contains(">$0.0123<"), "{svg}");
    let user = fixture
        .get(
            "/api/usage/chart.svg",
            &[("cookie", &cookie(&fixture.user_session))],
        )
        .await
        .text();
    assert!(user.contains("No usage in this range"), "{user}");
    let bad = fixture
        .get(
            "/api/usage/chart.svg?since=yesterday",
            &[("cookie", &cookie(&fixture.admin_session))],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
