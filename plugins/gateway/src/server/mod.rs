//! The daemon's HTTP API (axum): routes, shared state, and serving until SIGTERM or
//! SIGINT with a graceful shutdown.
//!
//! | route | who | what |
//! | --- | --- | --- |
//! | `GET /health` | anyone | `{status, version, tier, uptime_s}` (+ `dependencies`, team tier; 503 when degraded) |
//! | `POST /api/bootstrap/admin` | bootstrap token | the first admin (once) |
//! | `POST /api/auth/login` | anyone (rate-limited) | a session token + cookie |
//! | `POST /api/auth/logout` | session | ends the session |
//! | `GET /api/auth/me` | session | the current user |
//! | `GET/POST /api/users` | admin | list / create users |
//! | `DELETE /api/users/{id}` | admin | delete a user |
//! | `POST /api/users/{id}/password` | admin | reset a user's password (ends their sessions) |
//! | `GET/POST /api/keys` | admin | list / create the proxy's API keys |
//! | `DELETE /api/keys/{name}` | admin | revoke a key |
//! | `GET /api/usage` | session | usage per key, user, agent, model or day (a user: their own keys) |
//! | `GET /api/usage/chart.svg` | session | tokens and cost per day as an SVG chart ([`dashboard::chart`]) |
//! | `GET /api/agents`, `GET /api/agents/{name}` | session | the fleet's agents ([`dashboard::agents`]) |
//! | `GET /`, `/login`, `/agents`, `/usage`, `/keys`, `/users`, `/assets/*` | see [`dashboard`] | the web dashboard |
//! | `POST /v1/messages`, `POST /v1/messages/count_tokens`, `GET /v1/models` | Mosaic API key | the Anthropic API proxy ([`proxy`]) |
//!
//! The API routes share a request timeout, a small body limit, CORS and CSRF
//! protection ([`dashboard::csrf`]); the proxy
//! routes have neither timeout (streams last minutes) nor CORS, and their own body
//! limit ([`proxy::PROXY_BODY_LIMIT_BYTES`]).
//!
//! Connection handling (timeouts, the connection cap) is in [`connections`].

mod auth;
mod bootstrap;
pub mod connections;
pub mod cors;
pub mod dashboard;
pub mod error;
mod keys_api;
pub mod proxy;
pub(crate) mod usage_api;
mod users;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use bootstrap::BootstrapGate;
pub use connections::{ConnectionLimits, SHUTDOWN_GRACE};
pub use dashboard::agents::MosaicCommand;

use crate::secrets;
use crate::settings::Tier;
use crate::storage::Backend;
use error::ApiError;

/// The largest request body accepted (every API body is a small JSON object).
pub const BODY_LIMIT_BYTES: usize = 16 * 1024;
/// How long one request may take once its headers are read: reading the body and
/// answering (a client trickling its body is cut off with 408).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The gateway's version, as `/health` reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<StateInner>,
}

struct StateInner {
    backend: Backend,
    tier: Tier,
    cors_origin: String,
    started: Instant,
    bootstrap: BootstrapGate,
    /// Password hashing takes ~19 MiB and tens of milliseconds each: at most this
    /// many run at once, whatever the number of concurrent logins.
    hashing: Semaphore,
    /// A hash of a password nobody knows, checked instead of a user's for a login
    /// with an unknown email so both cost the same. Built with the state, before
    /// the first connection: built on first use, the first unknown-email login after
    /// a start took twice as long and told that the email does not exist.
    dummy_hash: String,
    /// What the last `/health` found, so a change is logged once.
    degraded: AtomicBool,
    /// The Anthropic API proxy.
    proxy: proxy::Proxy,
    /// The dashboard's agent list (set on first use: this same `mosaic` binary,
    /// unless [`AppState::use_mosaic_command`] chose another).
    agents: OnceLock<dashboard::agents::AgentsSource>,
}

impl AppState {
    /// The state of a daemon serving `backend`, with a proxy that has no Anthropic
    /// key (see [`AppState::with_proxy`]). Takes one password hash's time (tens of
    /// milliseconds): it builds the dummy hash for unknown-email logins.
    pub fn new(
        backend: Backend,
        tier: Tier,
        cors_origin: String,
        bootstrap: BootstrapGate,
    ) -> AppState {
        AppState::with_proxy(
            backend,
            tier,
            cors_origin,
            bootstrap,
            proxy::Proxy::without_key(),
        )
    }

    /// Like [`AppState::new`], with the Anthropic API proxy `proxy`.
    pub fn with_proxy(
        backend: Backend,
        tier: Tier,
        cors_origin: String,
        bootstrap: BootstrapGate,
        proxy: proxy::Proxy,
    ) -> AppState {
        let parallel_hashes = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
            .max(1);
        let dummy_hash = secrets::hash_password(&secrets::new_token()).unwrap_or_else(|error| {
            // Never happens with the built-in parameters; a login of an unknown
            // email still fails, only faster.
            tracing::error!("cannot build the dummy password hash: {error:#}");
            String::new()
        });
        AppState {
            inner: Arc::new(StateInner {
                backend,
                tier,
                cors_origin,
                started: Instant::now(),
                bootstrap,
                hashing: Semaphore::new(parallel_hashes),
                dummy_hash,
                degraded: AtomicBool::new(false),
                proxy,
                agents: OnceLock::new(),
            }),
        }
    }

    /// The storage.
    pub fn backend(&self) -> &Backend {
        &self.inner.backend
    }

    /// The Anthropic API proxy.
    pub fn proxy(&self) -> &proxy::Proxy {
        &self.inner.proxy
    }

    /// The dashboard's agent list.
    pub fn agents(&self) -> &dashboard::agents::AgentsSource {
        self.inner
            .agents
            .get_or_init(|| dashboard::agents::AgentsSource::new(MosaicCommand::this_binary()))
    }

    /// Makes the dashboard ask `command` (instead of this `mosaic` binary) for the
    /// fleet's agents and the hooks' activity; false when the agent list was
    /// already used.
    pub fn use_mosaic_command(&self, command: MosaicCommand) -> bool {
        self.inner
            .agents
            .set(dashboard::agents::AgentsSource::new(command))
            .is_ok()
    }

    /// The one allowed CORS origin.
    pub fn cors_origin(&self) -> &str {
        &self.inner.cors_origin
    }

    /// The one-time bootstrap token of this replica.
    pub fn bootstrap(&self) -> &BootstrapGate {
        &self.inner.bootstrap
    }

    /// Runs password work (hashing or checking) on the blocking pool, a bounded
    /// number at a time.
    async fn password_work<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self
            .inner
            .hashing
            .acquire()
            .await
            .map_err(|error| ApiError::internal(&error))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|error| ApiError::internal(&error))
    }

    /// Hashes a password with argon2id.
    pub async fn hash_password(&self, password: String) -> Result<String, ApiError> {
        self.password_work(move || secrets::hash_password(&password))
            .await?
            .map_err(|error| ApiError::internal(&error))
    }

    /// Runs one password check the way a login does, before the first connection
    /// is accepted: the first login after a start then finds the blocking pool's
    /// thread and the hashing code warm, and costs what every later one does
    /// (otherwise its extra time would single out the first login after a start).
    pub async fn warm_up_password_checks(&self) {
        let _ = self.verify_password("warm-up".to_string(), None).await;
    }

    /// Checks a password; `None` for the hash spends the same work on a dummy hash
    /// and fails (unknown user).
    pub async fn verify_password(
        &self,
        password: String,
        hash: Option<String>,
    ) -> Result<bool, ApiError> {
        let known_user = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.inner.dummy_hash.clone());
        // The check runs first, so an unknown user costs one full check too.
        self.password_work(move || secrets::verify_password(&password, &hash) && known_user)
            .await
    }
}

/// The daemon's router: the API routes with their layers (CORS, request timeout,
/// body limit), the proxy routes with theirs, and tracing and panic catching around
/// both.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(health))
        .route("/api/bootstrap/admin", post(bootstrap::create_admin))
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/auth/me", get(auth::me))
        .route("/api/users", get(users::list).post(users::create))
        .route("/api/users/{id}", delete(users::remove))
        .route("/api/users/{id}/password", post(users::reset_password))
        .route("/api/keys", get(keys_api::list).post(keys_api::create))
        .route("/api/keys/{name}", delete(keys_api::revoke))
        .route("/api/usage", get(usage_api::summary))
        .route("/api/usage/chart.svg", get(dashboard::chart::usage_chart))
        .route("/api/agents", get(dashboard::agents::list))
        .route("/api/agents/{name}", get(dashboard::agents::show))
        .merge(dashboard::page_routes())
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(from_fn(request_timeout))
        .layer(from_fn(refuse_announced_oversize))
        .layer(from_fn_with_state(state.clone(), dashboard::csrf::protect))
        .layer(from_fn_with_state(state.clone(), cors::cors));
    api.merge(proxy::routes())
        .layer(from_fn(dashboard::nosniff))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal(&"a request handler panicked").into_response()
        }))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Answers 413 at once when `Content-Length` announces a body over
/// [`BODY_LIMIT_BYTES`], instead of reading it (or waiting for it) first.
async fn refuse_announced_oversize(request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if announced.is_some_and(|length| length > BODY_LIMIT_BYTES as u64) {
        return ApiError::payload_too_large().into_response();
    }
    next.run(request).await
}

/// Answers 408 when a request (reading its body included) takes longer than
/// [`REQUEST_TIMEOUT`].
async fn request_timeout(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request took longer than {} s (was its body sent too slowly?)",
                REQUEST_TIMEOUT.as_secs()
            ),
        )
        .into_response(),
    }
}

/// `GET /health`: 200 `ok`, or 503 `degraded` naming each dependency that does not
/// answer (team tier), so a load balancer takes the replica out of rotation.
async fn health(State(state): State<AppState>) -> Response {
    let dependencies = state.backend().health().await;
    let failing: Vec<&str> = dependencies
        .iter()
        .filter(|health| health.error.is_some())
        .map(|health| health.dependency.as_str())
        .collect();
    let mut body = json!({
        "status": if failing.is_empty() { "ok" } else { "degraded" },
        "version": VERSION,
        "tier": state.inner.tier.as_str(),
        "uptime_s": state.inner.started.elapsed().as_secs(),
    });
    if !dependencies.is_empty() {
        let described: serde_json::Map<String, serde_json::Value> = dependencies
            .iter()
            .map(|health| {
                let value = match &health.error {
                    None => json!({"status": "ok"}),
                    Some(error) => json!({"status": "unavailable", "error": error}),
                };
                (health.dependency.as_str().to_string(), value)
            })
            .collect();
        body["dependencies"] = serde_json::Value::Object(described);
    }
    let was_degraded = state
        .inner
        .degraded
        .swap(!failing.is_empty(), Ordering::Relaxed);
    if failing.is_empty() {
        if was_degraded {
            tracing::info!("health: every dependency answers again");
        }
        return Json(body).into_response();
    }
    if !was_degraded {
        for health in dependencies.iter().filter(|health| health.error.is_some()) {
            tracing::warn!(
                "health: degraded: {} ({}) is unavailable: {}",
                health.dependency.describe(),
                health.address,
                health.error.as_deref().unwrap_or_default()
            );
        }
    }
    body["failing"] = json!(failing);
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

/// Serves `listener` until `shutdown` completes, then lets in-flight requests
/// finish for up to [`SHUTDOWN_GRACE`]; with the default [`ConnectionLimits`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    connections::serve_router(
        listener,
        router(state),
        ConnectionLimits::default(),
        shutdown,
    )
    .await
}
