//! The Anthropic Messages API proxy on the daemon's port, so
//! `ANTHROPIC_BASE_URL=http://127.0.0.1:14242` with a Mosaic key works for Claude
//! Code and the Anthropic SDKs:
//!
//! | route | what |
//! | --- | --- |
//! | `POST /v1/messages` | a message, streamed or not; metered and limited |
//! | `POST /v1/messages/count_tokens` | token counting (free: not metered) |
//! | `GET /v1/models`, `GET /v1/models/{id}` | the models |
//!
//! A request is authenticated with its Mosaic key ([`auth`]), checked against the
//! key's model list and limits ([`limits`]) before anything is sent, and sent to
//! `gateway.anthropic_base_url` with the real key ([`upstream`]); the answer is
//! relayed ([`relay`]) and metered ([`usage`]). Every error is in Anthropic's
//! shape ([`errors`]). Request and response bodies are never logged.

pub mod auth;
pub mod errors;
pub mod limits;
pub mod relay;
pub mod upstream;
pub mod usage;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use bytes::Bytes;
use serde::Deserialize;

use super::AppState;
use crate::settings::prices::{ModelPrice, PriceTable};
use crate::settings::Settings;
use crate::storage::keys::UsageStore;
use errors::ProxyError;
use relay::{MeteredStream, PendingRecord};
use upstream::{Upstream, FORWARDED_RESPONSE_HEADERS, RESPONSE_TIMEOUT};
use usage::{Meter, MeterWriter};

/// The largest request body the proxy takes (Claude Code sends whole
/// conversations with files and images).
pub const PROXY_BODY_LIMIT_BYTES: usize = 32 * 1024 * 1024;

/// How to set the Anthropic key, as the proxy tells a client when there is none.
pub const SET_KEY_HINT: &str =
    "printf %s \"$KEY\" | mosaic config set gateway.anthropic_api_key && mosaic gateway restart";

/// The proxy's share of the daemon's state.
pub struct Proxy {
    /// `None`: no Anthropic key is configured.
    configured: Option<Configured>,
    prices: PriceTable,
    /// Models without a price that were already warned about.
    unpriced_warned: Mutex<HashSet<String>>,
    /// Keys recently found in storage.
    keys: auth::KeyCache,
}

struct Configured {
    upstream: Upstream,
    base_url: String,
    meter: Meter,
}

impl Proxy {
    /// A proxy without an Anthropic key: it answers every request with how to set
    /// one.
    pub fn without_key() -> Proxy {
        Proxy {
            configured: None,
            prices: PriceTable::default(),
            unpriced_warned: Mutex::new(HashSet::new()),
            keys: auth::KeyCache::default(),
        }
    }

    /// The proxy of `settings`, metering into `usage` (its writer task starts on
    /// the current runtime); the writer is returned to be finished at shutdown.
    pub fn start(
        settings: &Settings,
        usage: Arc<dyn UsageStore>,
    ) -> Result<(Proxy, Option<MeterWriter>)> {
        let Some(api_key) = &settings.anthropic_api_key else {
            return Ok((
                Proxy {
                    prices: settings.prices.clone(),
                    ..Proxy::without_key()
                },
                None,
            ));
        };
        let upstream = Upstream::new(&settings.anthropic_base_url, api_key)?;
        let (meter, writer) = Meter::start(usage);
        Ok((
            Proxy {
                configured: Some(Configured {
                    upstream,
                    base_url: settings.anthropic_base_url.clone(),
                    meter,
                }),
                prices: settings.prices.clone(),
                unpriced_warned: Mutex::new(HashSet::new()),
                keys: auth::KeyCache::default(),
            },
            Some(writer),
        ))
    }

    /// The price of `model`; an unknown model costs 0, with a warning once.
    fn price(&self, model: &str) -> Option<ModelPrice> {
        let price = self.prices.lookup(model);
        if price.is_none() {
            let mut warned = self
                .unpriced_warned
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            if warned.len() < 1_000 && warned.insert(model.to_string()) {
                tracing::warn!(
                    "no price for the model `{model}`: its requests cost 0; add it to \
                     gateway.prices in config.json"
                );
            }
        }
        price
    }
}

/// The proxy's routes, without the API's request timeout and body limit.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/messages", with_405(post(messages)))
        .route("/v1/messages/count_tokens", with_405(post(count_tokens)))
        .route("/v1/models", with_405(get(models)))
        .route("/v1/models/{id}", with_405(get(models)))
}

fn with_405(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.fallback(|| async {
        ProxyError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "this method is not allowed on this path",
        )
    })
}

async fn messages(State(state): State<AppState>, request: Request) -> Response {
    forward(&state, request, true).await
}

async fn count_tokens(State(state): State<AppState>, request: Request) -> Response {
    forward(&state, request, false).await
}

async fn models(State(state): State<AppState>, request: Request) -> Response {
    forward(&state, request, false).await
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// The part of a request body the proxy reads.
#[derive(Deserialize)]
struct RequestHead {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    max_tokens: Option<u64>,
}

async fn forward(state: &AppState, request: Request, metered: bool) -> Response {
    match try_forward(state, request, metered).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn try_forward(
    state: &AppState,
    request: Request,
    metered: bool,
) -> Result<Response, ProxyError> {
    let started = Instant::now();
    let at_ms = unix_ms();
    let backend = state.backend();
    let proxy = state.proxy();
    let key =
        auth::authenticate(&*backend.keys, &proxy.keys, request.headers(), at_ms / 1000).await?;
    let Some(configured) = &proxy.configured else {
        return Err(ProxyError::unauthorized(format!(
            "the Mosaic gateway has no Anthropic API key to call the API with; an admin sets \
             one with: {SET_KEY_HINT}"
        )));
    };
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if announced.is_some_and(|length| length > PROXY_BODY_LIMIT_BYTES as u64) {
        return Err(too_large());
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, PROXY_BODY_LIMIT_BYTES)
        .await
        .map_err(|_| too_large())?;
    let (model, max_tokens) = if body.is_empty() {
        (None, None)
    } else {
        match serde_json::from_slice::<RequestHead>(&body) {
            Ok(head) => (head.model, head.max_tokens),
            Err(error) => {
                return Err(ProxyError::new(
                    StatusCode::BAD_REQUEST,
                    format!("the request body is not valid JSON: {error}"),
                ))
            }
        }
    };
    auth::check_model(&key, model.as_deref())?;
    let pending = if metered {
        let model = model.unwrap_or_default();
        let price = proxy.price(&model);
        let reservations = limits::check(
            &key,
            &*backend.usage,
            &configured.meter,
            &backend.limiter,
            limits::RequestBound::of(body.len(), max_tokens, price),
            at_ms,
        )
        .await?;
        Some(PendingRecord::start(
            configured.meter.clone(),
            &key,
            model,
            price,
            reservations,
            started,
            at_ms,
        ))
    } else {
        None
    };
    let sent = tokio::time::timeout(
        RESPONSE_TIMEOUT,
        configured
            .upstream
            .send(parts.method, &parts.uri, &parts.headers, body),
    )
    .await;
    let upstream_response = match sent {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => {
            return Err(upstream_failed(
                pending,
                StatusCode::BAD_GATEWAY,
                format!(
                    "cannot reach the Anthropic API at {}: {}",
                    configured.base_url,
                    error_chain(&error)
                ),
            ));
        }
        Err(_) => {
            return Err(upstream_failed(
                pending,
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "the Anthropic API did not answer within {} s",
                    RESPONSE_TIMEOUT.as_secs()
                ),
            ));
        }
    };
    let (head, upstream_body) = upstream_response.into_parts();
    let status = head.status;
    let mut headers = HeaderMap::new();
    for name in FORWARDED_RESPONSE_HEADERS {
        for value in head.headers.get_all(*name) {
            headers.append(axum::http::HeaderName::from_static(name), value.clone());
        }
    }
    let streamed = head
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/event-stream"));
    if status.is_success() && streamed {
        let body = Body::new(MeteredStream::new(upstream_body, pending));
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, "no-cache".parse().expect("valid"));
        return Ok(response);
    }
    let whole = match tokio::time::timeout(RESPONSE_TIMEOUT, relay::read_whole(upstream_body)).await
    {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) => {
            return Err(upstream_failed(
                pending,
                StatusCode::BAD_GATEWAY,
                format!("the answer of the Anthropic API was cut: {error}"),
            ));
        }
        Err(_) => {
            let error = ProxyError::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "the Anthropic API did not finish its answer within {} s",
                    RESPONSE_TIMEOUT.as_secs()
                ),
            );
            return Err(finish_with(pending, error));
        }
    };
    if !status.is_success() {
        if let Some(pending) = pending {
            pending.finish(Default::default(), status.as_u16());
        }
        if !is_anthropic_error(&whole) {
            tracing::warn!(
                "the Anthropic API answered {status} with a body not in its error shape"
            );
            let message = format!(
                "the Anthropic API at {} answered HTTP {status}",
                configured.base_url
            );
            let mut response = ProxyError::new(status, message).into_response();
            if let Some(value) = headers.get(header::RETRY_AFTER) {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, value.clone());
            }
            return Ok(response);
        }
        return Ok(whole_response(status, headers, whole));
    }
    if let Some(pending) = pending {
        pending.finish(usage::counts_of_message(&whole), status.as_u16());
    }
    Ok(whole_response(status, headers, whole))
}

fn whole_response(status: StatusCode, headers: HeaderMap, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// Records the request as `error` answered it, and returns the error.
/// A failure of the upstream API: logged, recorded against the key (if the request
/// is metered) and answered with `status` and `message`.
fn upstream_failed(
    pending: Option<PendingRecord>,
    status: StatusCode,
    message: String,
) -> ProxyError {
    let error = ProxyError::new(status, message);
    tracing::warn!("{}", error.message);
    finish_with(pending, error)
}

fn finish_with(pending: Option<PendingRecord>, error: ProxyError) -> ProxyError {
    if let Some(pending) = pending {
        pending.finish(Default::default(), error.status.as_u16());
    }
    error
}

fn too_large() -> ProxyError {
    ProxyError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the request body is larger than the gateway takes ({} MiB)",
            PROXY_BODY_LIMIT_BYTES / (1024 * 1024)
        ),
    )
}

/// Whether a body is an error in Anthropic's shape.
fn is_anthropic_error(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .is_ok_and(|value| value["type"] == "error" && value["error"]["type"].is_string())
}

/// An error and its causes on one line (hyper's client errors say little alone).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
