//! Sessions: logging in and out, the current user, and the extractors that make a
//! handler require a session ([`SignedIn`]) or an admin ([`Admin`]).
//!
//! A session token is 32 random bytes (hex), sent back both in the JSON body (for
//! API clients: `Authorization: Bearer …`) and as an HttpOnly, SameSite=Strict
//! cookie (for the dashboard). Stores keep only its SHA-256. Requests authenticated
//! by the cookie also need the session's CSRF token to change anything
//! ([`csrf_token`], checked by [`super::dashboard::csrf`]); login and
//! `GET /api/auth/me` hand it out. Every failure to authenticate is the same 401,
//! so a client cannot tell an unknown email from a wrong password, or a forged
//! token from an expired one.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiError, ApiJson};
use super::AppState;
use crate::clock::unix_now;
use crate::secrets::{hex, looks_like_token, new_token, token_hash};
use crate::storage::{Limit, Role, Session, TokenHash};
use sha2::{Digest, Sha256};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "mosaic_session";
/// How long a session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// Login attempts allowed per client address (any outcome).
pub const CLIENT_LOGIN_LIMIT: Limit = Limit {
    max: 30,
    window: Duration::from_secs(60),
};
/// Failed logins allowed per email before it is locked for the rest of the window.
pub const EMAIL_FAILURE_LIMIT: Limit = Limit {
    max: 5,
    window: Duration::from_secs(300),
};

/// The token of `Authorization: Bearer <token>`, if any.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// The session cookie's token, if the request has one.
pub fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
}

/// The session token of a request: the bearer token, else the cookie.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    bearer_token(headers).or_else(|| cookie_token(headers))
}

/// What the session token is prefixed with before hashing, so the CSRF token is
/// never the SHA-256 the stores keep.
const CSRF_CONTEXT: &str = "mosaic-csrf-v1:";

/// The CSRF token of a session: hex(sha256("mosaic-csrf-v1:" + session token)).
pub fn csrf_token(session_token: &str) -> String {
    hex(&Sha256::digest(
        format!("{CSRF_CONTEXT}{session_token}").as_bytes(),
    ))
}

/// A request with a valid session.
pub struct SignedIn {
    /// The session (and its user).
    pub session: Session,
    /// The stored hash of its token.
    pub token_hash: TokenHash,
    /// The session's CSRF token (see [`csrf_token`]).
    pub csrf_token: String,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = session_token(&parts.headers)
            .filter(|token| looks_like_token(token))
            .ok_or_else(ApiError::unauthenticated)?;
        let hash = token_hash(token);
        match state.backend().sessions.find_session(&hash).await? {
            Some(session) => Ok(SignedIn {
                session,
                token_hash: hash,
                csrf_token: csrf_token(token),
            }),
            None => Err(ApiError::unauthenticated()),
        }
    }
}

/// A request by an admin (403 for other users, 401 without a session).
pub struct Admin(pub SignedIn);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let signed_in = SignedIn::from_request_parts(parts, state).await?;
        if signed_in.session.user.role == Role::Admin {
            Ok(Admin(signed_in))
        } else {
            Err(ApiError::forbidden("only an admin may do this"))
        }
    }
}

/// The body of `POST /api/auth/login`; unknown fields are refused (422), so a
/// misspelt field is never silently ignored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    email: String,
    password: String,
}

/// The session cookie: never readable by scripts (HttpOnly) and never sent with a
/// request another site starts (SameSite=Strict).
pub fn session_cookie(token: &str, max_age: u64) -> HeaderValue {
    let cookie =
        format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `POST /api/auth/login`: a session for a correct email and password.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let email = body.email.trim().to_ascii_lowercase();
    let backend = state.backend();
    let email_key = format!("login-email:{email}");
    let client_key = format!("login-client:{}", client.ip());
    // Both attempts are counted before the password is checked (a success forgets
    // the email's count), so concurrent guesses cannot slip past the limit.
    backend.limiter.hit(&client_key, CLIENT_LOGIN_LIMIT).await?;
    backend.limiter.hit(&email_key, EMAIL_FAILURE_LIMIT).await?;
    let credentials = backend.users.credentials(&email).await?;
    let hash = credentials
        .as_ref()
        .map(|credentials| credentials.password_hash.clone());
    let valid = state.verify_password(body.password, hash).await?;
    let user = match credentials {
        Some(credentials) if valid => credentials.user,
        _ => {
            tracing::info!(client = %client.ip(), "failed login");
            return Err(ApiError::invalid_credentials());
        }
    };
    backend.limiter.reset(&email_key).await?;
    let token = new_token();
    let expires_at = unix_now() + SESSION_LIFETIME.as_secs() as i64;
    backend
        .sessions
        .create_session(token_hash(&token), &user, expires_at)
        .await?;
    tracing::info!(user_id = user.id, "login");
    let mut response = Json(json!({
        "token": token,
        "expires_at": expires_at,
        "user": user,
        "csrf_token": csrf_token(&token),
    }))
    .into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&token, SESSION_LIFETIME.as_secs()),
    );
    Ok(response)
}

/// `POST /api/auth/logout`: ends the session and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Response, ApiError> {
    state
        .backend()
        .sessions
        .delete_session(&signed_in.token_hash)
        .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie("", 0));
    Ok(response)
}

/// `GET /api/auth/me`: the signed-in user, and the session's CSRF token.
pub async fn me(signed_in: SignedIn) -> Response {
    Json(json!({
        "user": signed_in.session.user,
        "expires_at": signed_in.session.expires_at,
        "csrf_token": signed_in.csrf_token,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_the_bearer_header_or_the_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; mosaic_session=abc; b=2"),
        );
        assert_eq!(session_token(&headers), Some("abc"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer xyz"),
        );
        assert_eq!(session_token(&headers), Some("xyz"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic xyz"));
        assert_eq!(session_token(&headers), Some("abc"));
    }

    #[test]
    fn the_cookie_is_http_only_and_strict() {
        let cookie = session_cookie("t", 60);
        let text = cookie.to_str().unwrap();
        assert!(
            text.contains("; HttpOnly;")
                && text.contains("; SameSite=Strict;")
                && text.contains("; Path=/;")
                && text.contains("Max-Age=60"),
            "{text}"
        );
    }
}
