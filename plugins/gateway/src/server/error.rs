//! API errors: every failure is `{"error": {"code", "message"}}` with the right
//! HTTP status, including the ones axum produces itself (bad JSON, oversized
//! bodies, unknown routes).

use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::storage::{Refusal, StoreError};

/// An error answered to the client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<Duration>,
}

/// The one message for every failed login, whatever was wrong.
pub const INVALID_CREDENTIALS: &str = "invalid email or password";
/// The one message for every missing, unknown, expired or forged session.
pub const INVALID_SESSION: &str = "missing, invalid or expired session";

impl ApiError {
    /// An error with a status, a stable code and a message for people.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400: the request is malformed or a value is invalid.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 401 for a failed login (same for unknown user and wrong password).
    pub fn invalid_credentials() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            INVALID_CREDENTIALS,
        )
    }

    /// 401 for a request without a valid session (same for every reason).
    pub fn unauthenticated() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", INVALID_SESSION)
    }

    /// 403: authenticated but not allowed.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 413: the request body is larger than the API accepts.
    pub fn payload_too_large() -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        )
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(wait: Duration) -> ApiError {
        let seconds = wait.as_secs().max(1);
        ApiError {
            retry_after: Some(Duration::from_secs(seconds)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many login attempts; try again in {seconds} s"),
            )
        }
    }

    /// 503: a service the gateway depends on is down; it is named, the cause is
    /// logged.
    pub fn unavailable(dependency: crate::storage::Dependency, reason: &str) -> ApiError {
        if should_log_outage(dependency) {
            tracing::warn!(
                "{} unavailable: {reason} (requests that need it get 503; repeats within \
                 {} s are not logged)",
                dependency.describe(),
                OUTAGE_LOG_INTERVAL.as_secs()
            );
        }
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "dependency_unavailable",
            format!(
                "{} is unavailable, so the gateway cannot complete this request now; \
                 try again shortly (GET /health shows the gateway's dependencies)",
                dependency.describe()
            ),
        )
    }

    /// 500; the cause is logged, never sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {cause}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the gateway log",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::EmailTaken => ApiError::conflict("a user with this email already exists"),
            StoreError::AdminExists => ApiError::conflict("an admin already exists"),
            StoreError::NotFound => ApiError::not_found("no such user"),
            StoreError::KeyNameTaken => ApiError::conflict("an API key with this name exists"),
            StoreError::KeyNotFound => ApiError::not_found("no API key has this name"),
            StoreError::LastAdmin => {
                ApiError::conflict("the last admin cannot be deleted; create another admin first")
            }
            StoreError::Unavailable { dependency, reason } => {
                ApiError::unavailable(dependency, &reason)
            }
            StoreError::Backend(cause) => ApiError::internal(&format!("{cause:#}")),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        match refusal {
            Refusal::Limited(wait) => ApiError::rate_limited(wait),
            Refusal::Store(error) => error.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({"error": {"code": self.code, "message": self.message}}));
        let mut response = (self.status, body).into_response();
        if let Some(wait) = self.retry_after {
            if let Ok(value) = HeaderValue::from_str(&wait.as_secs().to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// How often one dependency's failures are logged during an outage.
const OUTAGE_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Whether to log this failure: once per [`OUTAGE_LOG_INTERVAL`] per dependency,
/// so an outage under load does not flood the log.
fn should_log_outage(dependency: crate::storage::Dependency) -> bool {
    static LAST: std::sync::Mutex<Vec<(crate::storage::Dependency, std::time::Instant)>> =
        std::sync::Mutex::new(Vec::new());
    let now = std::time::Instant::now();
    let mut last = LAST.lock().unwrap_or_else(|poison| poison.into_inner());
    match last.iter_mut().find(|(logged, _)| *logged == dependency) {
        Some((_, at)) if now.duration_since(*at) < OUTAGE_LOG_INTERVAL => false,
        Some((_, at)) => {
            *at = now;
            true
        }
        None => {
            last.push((dependency, now));
            true
        }
    }
}

/// A JSON request body whose rejections (wrong content type, bad JSON, too large)
/// are answered in the API's error format. The body must be a JSON object: serde
/// would also fill a struct from an array, by position, which no client means.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let object =
            match Json::<serde_json::Map<String, serde_json::Value>>::from_request(request, state)
                .await
            {
                Ok(Json(object)) => object,
                Err(rejection) => return Err(json_rejection(rejection)),
            };
        serde_json::from_value(serde_json::Value::Object(object))
            .map(ApiJson)
            .map_err(|error| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_request",
                    format!("the request body does not have the expected fields: {error}"),
                )
            })
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the request body must be JSON (Content-Type: application/json)",
        ),
        status => ApiError::new(status, "invalid_request", rejection.body_text()),
    }
}

/// The answer to a path no route has.
pub async fn route_not_found() -> ApiError {
    ApiError::not_found("no such API route")
}

/// The answer to a known path with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept this method",
    )
}
