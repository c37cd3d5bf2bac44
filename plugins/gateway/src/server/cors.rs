//! CORS for exactly one origin (`gateway.cors_origin`), with credentials.
//!
//! The decision is a pure function ([`decide`]) so it is tested on its own; the
//! middleware only applies it. Requests from the allowed origin get
//! `Access-Control-Allow-Origin: <origin>` and `…-Allow-Credentials: true`;
//! preflights from it are answered directly. Every other origin gets no allow
//! header at all (its preflight is refused with 403), so the browser blocks it.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;

/// Methods the API uses, announced in preflight answers.
pub const ALLOWED_METHODS: &str = "GET, POST, DELETE, OPTIONS";
/// Request headers a browser may send, announced in preflight answers.
pub const ALLOWED_HEADERS: &str = "authorization, content-type, x-csrf-token";
/// How long a browser may cache a preflight answer, in seconds.
pub const PREFLIGHT_MAX_AGE: &str = "600";

/// What to do with a request, CORS-wise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorsDecision {
    /// No `Origin` header: not a cross-origin browser request.
    NotCors,
    /// A preflight from the allowed origin: answer it with the allow headers.
    AllowPreflight,
    /// A preflight from another origin: refuse it, without allow headers.
    RefusePreflight,
    /// An actual request from the allowed origin: serve it and add allow headers.
    AllowRequest,
    /// An actual request from another origin: serve it without allow headers (the
    /// browser will not hand the answer to the page).
    ServeWithoutCors,
}

/// Decides from the configured origin, the request's `Origin`, its method and
/// whether it asks `Access-Control-Request-Method` (which makes an `OPTIONS` a
/// preflight). The comparison is exact (origins are normalised at install).
pub fn decide(
    allowed_origin: &str,
    origin: Option<&str>,
    method: &Method,
    requests_method: bool,
) -> CorsDecision {
    let Some(origin) = origin else {
        return CorsDecision::NotCors;
    };
    let allowed = origin == allowed_origin;
    let preflight = method == Method::OPTIONS && requests_method;
    match (preflight, allowed) {
        (true, true) => CorsDecision::AllowPreflight,
        (true, false) => CorsDecision::RefusePreflight,
        (false, true) => CorsDecision::AllowRequest,
        (false, false) => CorsDecision::ServeWithoutCors,
    }
}

fn add_allow_headers(headers: &mut HeaderMap, origin: &HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
}

fn add_vary(headers: &mut HeaderMap) {
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// The middleware applying [`decide`].
pub async fn cors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let decision = decide(
        state.cors_origin(),
        origin.as_ref().and_then(|value| value.to_str().ok()),
        request.method(),
        request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD),
    );
    match (decision, origin) {
        (CorsDecision::AllowPreflight, Some(origin)) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            let headers = response.headers_mut();
            add_allow_headers(headers, &origin);
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOWED_METHODS),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOWED_HEADERS),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(PREFLIGHT_MAX_AGE),
            );
            add_vary(headers);
            response
        }
        (CorsDecision::RefusePreflight, _) => {
            let mut response = ApiError::forbidden(
                "this origin is not allowed to call the gateway (see gateway.cors_origin)",
            )
            .into_response();
            add_vary(response.headers_mut());
            response
        }
        (CorsDecision::AllowRequest, Some(origin)) => {
            let mut response = next.run(request).await;
            add_allow_headers(response.headers_mut(), &origin);
            add_vary(response.headers_mut());
            response
        }
        (CorsDecision::ServeWithoutCors, _) => {
            let mut response = next.run(request).await;
            add_vary(response.headers_mut());
            response
        }
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOWED: &str = "http://localhost:3000";

    #[test]
    fn only_the_exact_origin_is_allowed() {
        use CorsDecision::*;
        let get = Method::GET;
        let options = Method::OPTIONS;
        assert_eq!(decide(ALLOWED, None, &get, false), NotCors);
        assert_eq!(decide(ALLOWED, Some(ALLOWED), &get, false), AllowRequest);
        assert_eq!(
            decide(ALLOWED, Some(ALLOWED), &options, true),
            AllowPreflight
        );
        for other in [
            "http://localhost:3001",
            "https://localhost:3000",
            "http://localhost:3000.evil.example",
            "http://evil.example",
            "null",
        ] {
            assert_eq!(
                decide(ALLOWED, Some(other), &options, true),
                RefusePreflight
            );
            assert_eq!(decide(ALLOWED, Some(other), &get, false), ServeWithoutCors);
        }
    }

    #[test]
    fn options_without_a_requested_method_is_not_a_preflight() {
        assert_eq!(
            decide(ALLOWED, Some(ALLOWED), &Method::OPTIONS, false),
            CorsDecision::AllowRequest
        );
    }
}
