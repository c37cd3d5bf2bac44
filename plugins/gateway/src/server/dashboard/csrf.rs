//! Cross-site request forgery protection for the API.
//!
//! Two rules, for every state-changing request (POST, PUT, PATCH, DELETE) to
//! `/api/*`:
//!
//! - **Origin:** when the request has an `Origin` header, it must be the gateway's
//!   own origin (`http://` + the request's `Host`) or the configured
//!   `gateway.cors_origin`; otherwise 403 `csrf`. Browsers send `Origin` with every
//!   cross-origin POST, so a form or script on another site is refused here.
//! - **Token:** a request authenticated by the session cookie (no bearer token)
//!   must carry `X-CSRF-Token` equal to [`csrf_token`] of that session; otherwise
//!   403 `csrf`. The token is derived from the session token, which only the
//!   signed-in page learns (from the login answer or `GET /api/auth/me`), so another
//!   site cannot forge it even where a browser would send the cookie.
//!
//! Requests with `Authorization: Bearer …` (API clients, fleet) need no token: a
//! browser never adds that header by itself. Login and the first-admin bootstrap
//! authenticate with what they carry, not the cookie, so only the Origin rule
//! applies to them.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub use crate::server::auth::csrf_token;
use crate::server::auth::{bearer_token, cookie_token};
use crate::server::error::ApiError;
use crate::server::AppState;

/// The request header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Routes a cookie does not authenticate (they carry their own credentials).
const TOKENLESS_ROUTES: [&str; 2] = ["/api/auth/login", "/api/bootstrap/admin"];

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `Origin` names another site.
    ForeignOrigin,
    /// Cookie-authenticated without the right `X-CSRF-Token`.
    MissingToken,
}

impl Refusal {
    fn message(self) -> &'static str {
        match self {
            Refusal::ForeignOrigin => {
                "this request comes from another origin; only the gateway's own pages and \
                 gateway.cors_origin may change anything"
            }
            Refusal::MissingToken => {
                "a request signed in by the session cookie must send the session's \
                 X-CSRF-Token header (csrf_token of the login answer or GET /api/auth/me)"
            }
        }
    }
}

fn changes_state(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// Whether two strings are equal, in a time that does not depend on where they
/// differ.
fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

/// Applies both rules to a request; `cors_origin` is `gateway.cors_origin`.
pub fn check(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    cors_origin: &str,
) -> Result<(), Refusal> {
    if !changes_state(method) || !(path == "/api" || path.starts_with("/api/")) {
        return Ok(());
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().map_err(|_| Refusal::ForeignOrigin)?;
        let own = headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .map(|host| format!("http://{host}"));
        if origin != cors_origin && own.as_deref() != Some(origin) {
            return Err(Refusal::ForeignOrigin);
        }
    }
    if TOKENLESS_ROUTES.contains(&path) || bearer_token(headers).is_some() {
        return Ok(());
    }
    let Some(session_token) = cookie_token(headers) else {
        // Not signed in by a cookie: the route's own check answers 401.
        return Ok(());
    };
    let given = headers
        .get(CSRF_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if same_secret(given, &csrf_token(session_token)) {
        Ok(())
    } else {
        Err(Refusal::MissingToken)
    }
}

/// The middleware applying [`check`] to the API routes.
pub async fn protect(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match check(
        request.method(),
        request.uri().path(),
        request.headers(),
        state.cors_origin(),
    ) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            tracing::info!(path = request.uri().path(), "refused: {refusal:?}");
            ApiError::new(StatusCode::FORBIDDEN, "csrf", refusal.message()).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const ALLOWED: &str = "http://localhost:3000";
    const SESSION: &str = "ab12";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:14242"));
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn post(path: &str, pairs: &[(&'static str, &str)]) -> Result<(), Refusal> {
        check(&Method::POST, path, &headers(pairs), ALLOWED)
    }

    #[test]
    fn the_token_is_the_documented_hash() {
        // echo -n 'mosaic-csrf-v1:ab12' | sha256sum
        assert_eq!(
            csrf_token(SESSION),
            "fce493739648278d387004e85d999f552efcc3f08d6ae0b1f70118dec9c2252e"
        );
        assert_ne!(csrf_token(SESSION), csrf_token("ab13"));
    }

    #[test]
    fn cookie_requests_need_the_token() {
        let cookie = format!("mosaic_session={SESSION}");
        let token = csrf_token(SESSION);
        assert_eq!(
            post("/api/keys", &[("cookie", &cookie)]),
            Err(Refusal::MissingToken)
        );
        assert_eq!(
            post(
                "/api/keys",
                &[("cookie", &cookie), (CSRF_HEADER, &csrf_token("other"))]
            ),
            Err(Refusal::MissingToken)
        );
        assert_eq!(
            post("/api/keys", &[("cookie", &cookie), (CSRF_HEADER, &token)]),
            Ok(())
        );
        // Reading needs no token; neither does a bearer request or a login.
        assert_eq!(
            check(
                &Method::GET,
                "/api/keys",
                &headers(&[("cookie", &cookie)]),
                ALLOWED
            ),
            Ok(())
        );
        assert_eq!(
            post(
                "/api/keys",
                &[("cookie", &cookie), ("authorization", "Bearer x")]
            ),
            Ok(())
        );
        assert_eq!(post("/api/auth/login", &[("cookie", &cookie)]), Ok(()));
        assert_eq!(
            post("/api/keys", &[]),
            Ok(()),
            "no cookie: the route says 401"
        );
        // The proxy's routes are not the API's.
        assert_eq!(post("/v1/messages", &[("cookie", &cookie)]), Ok(()));
    }

    #[test]
    fn foreign_origins_are_refused_even_with_the_token() {
        let cookie = format!("mosaic_session={SESSION}");
        let token = csrf_token(SESSION);
        for origin in [
            "http://evil.example",
            "http://127.0.0.1:14243",
            "https://127.0.0.1:14242",
            "null",
        ] {
            assert_eq!(
                post(
                    "/api/keys",
                    &[
                        ("cookie", &cookie),
                        (CSRF_HEADER, &token),
                        ("origin", origin)
                    ]
                ),
                Err(Refusal::ForeignOrigin),
                "{origin}"
            );
            assert_eq!(
                post("/api/auth/login", &[("origin", origin)]),
                Err(Refusal::ForeignOrigin)
            );
            for method in [Method::PUT, Method::PATCH, Method::DELETE] {
                assert_eq!(
                    check(
                        &method,
                        "/api/users/2",
                        &headers(&[("origin", origin), ("authorization", "Bearer x")]),
                        ALLOWED
                    ),
                    Err(Refusal::ForeignOrigin)
                );
            }
        }
        for origin in ["http://127.0.0.1:14242", ALLOWED] {
            assert_eq!(
                post(
                    "/api/keys",
                    &[
                        ("cookie", &cookie),
                        (CSRF_HEADER, &token),
                        ("origin", origin)
                    ]
                ),
                Ok(()),
                "{origin}"
            );
        }
    }
}
