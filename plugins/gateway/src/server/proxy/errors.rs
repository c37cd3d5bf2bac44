//! Errors of the proxy in the Anthropic API's shape, so Claude Code and the SDKs
//! show them as they show the API's own:
//! `{"type":"error","error":{"type":"rate_limit_error","message":"..."}}`.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The status Anthropic's API answers when it is overloaded.
pub const OVERLOADED: u16 = 529;

/// A refusal that lasts longer than this (a used-up budget, until the period
/// resets) is answered with `x-should-retry: false`: the SDKs and Claude Code would
/// otherwise retry it with backoff for minutes, all in vain.
pub const LONGEST_USEFUL_RETRY: Duration = Duration::from_secs(60);

/// An error answered in Anthropic's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Anthropic's error type, e.g. `authentication_error`.
    pub kind: &'static str,
    /// One line for the person reading it.
    pub message: String,
    /// When the client may retry (the `retry-after` header, whole seconds).
    pub retry_after: Option<Duration>,
}

impl ProxyError {
    /// An error with Anthropic's type for `status`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ProxyError {
        ProxyError {
            status,
            kind: kind_for_status(status.as_u16()),
            message: message.into(),
            retry_after: None,
        }
    }

    /// 401 `authentication_error`.
    pub fn unauthorized(message: impl Into<String>) -> ProxyError {
        ProxyError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 429 `rate_limit_error`, retry after `retry_after`.
    pub fn rate_limited(message: impl Into<String>, retry_after: Duration) -> ProxyError {
        ProxyError {
            retry_after: Some(retry_after),
            ..ProxyError::new(StatusCode::TOO_MANY_REQUESTS, message)
        }
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        error_body(self.kind, &self.message)
    }
}

/// Anthropic's error body of `kind` with `message`.
pub fn error_body(kind: &str, message: &str) -> String {
    json!({"type": "error", "error": {"type": kind, "message": message}}).to_string()
}

/// Anthropic's error type for an HTTP status.
pub fn kind_for_status(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        OVERLOADED => "overloaded_error",
        // 400 and every other client error.
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body(),
        )
            .into_response();
        // A refused key stays refused: without this, Claude Code retries a 401 with
        // backoff for about three minutes before it gives up.
        if matches!(self.status.as_u16(), 401 | 403) {
            response
                .headers_mut()
                .insert("x-should-retry", HeaderValue::from_static("false"));
        }
        if let Some(after) = self.retry_after {
            let seconds = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            if after > LONGEST_USEFUL_RETRY {
                response
                    .headers_mut()
                    .insert("x-should-retry", HeaderValue::from_static("false"));
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_anthropic_shape_and_type() {
        let error = ProxyError::unauthorized("revoked");
        let body: serde_json::Value = serde_json::from_str(&error.body()).unwrap();
        assert_eq!(
            body,
            json!({"type": "error", "error": {"type": "authentication_error", "message": "revoked"}})
        );
        assert_eq!(kind_for_status(529), "overloaded_error");
        assert_eq!(kind_for_status(422), "invalid_request_error");
        assert_eq!(kind_for_status(502), "api_error");
        let response = ProxyError::unauthorized("revoked").into_response();
        assert_eq!(response.headers()["x-should-retry"], "false");
    }

    #[test]
    fn rate_limits_say_when_to_retry() {
        let response =
            ProxyError::rate_limited("rpm", Duration::from_millis(2_500)).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        assert!(response.headers().get("x-should-retry").is_none());
        // A budget used up until tomorrow: retrying now is pointless.
        let response =
            ProxyError::rate_limited("budget", Duration::from_secs(3_600)).into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "3600");
        assert_eq!(response.headers()["x-should-retry"], "false");
    }
}
