//! The web dashboard, served by the daemon on its own port: static HTML pages, one
//! stylesheet and one script, all embedded in the library (no build step, nothing
//! fetched from other hosts). The script reads the JSON API and renders with DOM
//! text APIs; the pages hold no data and no inline script or style.
//!
//! | route | who | what |
//! | --- | --- | --- |
//! | `GET /` | anyone | 303 to `/agents` with a session, else to `/login` |
//! | `GET /login` | anyone | the login page |
//! | `GET /agents`, `/agents/{name}`, `/usage` | session (else 303 to `/login?next=…`) | the pages |
//! | `GET /keys`, `/users` | admin (another user: 403 page) | the admin pages |
//! | `GET /assets/app.css`, `/assets/app.js` | anyone | `Cache-Control: no-cache` + ETag |
//!
//! Every page carries [`CONTENT_SECURITY_POLICY`] (scripts, styles and images from
//! the gateway only, no inline script, no framing) and the other headers of
//! [`page_headers`]; every answer of the daemon carries `X-Content-Type-Options:
//! nosniff` ([`nosniff`]). The API the pages use is in [`agents`] (the fleet's
//! agents), [`chart`] (the usage chart) and the existing `/api/*` routes; [`csrf`]
//! guards every state-changing API request.

pub mod agents;
pub mod chart;
pub mod csrf;

use std::sync::{LazyLock, OnceLock};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use super::auth::SignedIn;
use super::AppState;
use crate::storage::Role;

/// The policy of every HTML page.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

const LOGIN_PAGE: &str = include_str!("assets/login.html");
const FORBIDDEN_PAGE: &str = include_str!("assets/forbidden.html");
static AGENTS_PAGE: LazyLock<String> =
    LazyLock::new(|| with_navigation(include_str!("assets/agents.html")));
static AGENT_PAGE: LazyLock<String> =
    LazyLock::new(|| with_navigation(include_str!("assets/agent.html")));
static USAGE_PAGE: LazyLock<String> =
    LazyLock::new(|| with_navigation(include_str!("assets/usage.html")));
static KEYS_PAGE: LazyLock<String> =
    LazyLock::new(|| with_navigation(include_str!("assets/keys.html")));
static USERS_PAGE: LazyLock<String> =
    LazyLock::new(|| with_navigation(include_str!("assets/users.html")));
/// The navigation header every signed-in page shares.
const NAVIGATION: &str = include_str!("assets/nav.html");
/// Where a page wants [`NAVIGATION`].
const NAVIGATION_MARKER: &str = "<!--#include nav.html-->\n";

/// `page` with its navigation marker replaced by the shared header (the file's
/// leading comment dropped).
fn with_navigation(page: &str) -> String {
    let header = NAVIGATION
        .find("<header")
        .map_or(NAVIGATION, |start| &NAVIGATION[start..]);
    page.replacen(NAVIGATION_MARKER, header, 1)
}
const APP_CSS: &str = include_str!("assets/app.css");
const APP_JS: &str = include_str!("assets/app.js");

/// The page routes (the API routes they call are in the daemon's router).
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/login", get(|| async { page(StatusCode::OK, LOGIN_PAGE) }))
        .route("/agents", get(agents_page))
        .route("/agents/{name}", get(agent_page))
        .route("/usage", get(usage_page))
        .route("/keys", get(keys_page))
        .route("/users", get(users_page))
        .route("/assets/app.css", get(app_css))
        .route("/assets/app.js", get(app_js))
        // Browsers ask for it on their own; "no content" instead of a 404 keeps
        // their consoles free of an error that is none.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
}

/// The headers of every HTML page: [`CONTENT_SECURITY_POLICY`], no sniffing, no
/// referrer, no framing, no caching.
pub fn page_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Adds `X-Content-Type-Options: nosniff` to every answer.
pub async fn nosniff(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn page(status: StatusCode, html: &'static str) -> Response {
    let mut response = (status, html).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    page_headers(response.headers_mut());
    response
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    page_headers(response.headers_mut());
    response
}

/// `path` for a query-string value: everything but unreserved characters and `/`
/// percent-encoded.
fn encode_query_value(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Who asks for a page.
enum Visitor {
    /// No valid session: sent to the login page.
    Anonymous,
    /// Signed in, with this role.
    SignedIn(Role),
}

/// The visitor of a page request; a storage outage is answered as the API
/// answers it (503), not as a missing session.
async fn visitor(parts: &mut Parts, state: &AppState) -> Result<Visitor, Response> {
    match SignedIn::from_request_parts(parts, state).await {
        Ok(signed_in) => Ok(Visitor::SignedIn(signed_in.session.user.role)),
        Err(error) => {
            let response = error.into_response();
            if response.status() == StatusCode::UNAUTHORIZED {
                Ok(Visitor::Anonymous)
            } else {
                Err(response)
            }
        }
    }
}

/// Serves `html` to a signed-in visitor (an admin when `admin_only`), sends an
/// anonymous one to the login page, and shows another user the 403 page.
async fn guarded(
    state: &AppState,
    request: Request,
    html: &'static str,
    admin_only: bool,
) -> Response {
    let (mut parts, _body) = request.into_parts();
    match visitor(&mut parts, state).await {
        Err(response) => response,
        Ok(Visitor::Anonymous) => see_other(&format!(
            "/login?next={}",
            encode_query_value(parts.uri.path())
        )),
        Ok(Visitor::SignedIn(role)) if admin_only && role != Role::Admin => {
            page(StatusCode::FORBIDDEN, FORBIDDEN_PAGE)
        }
        Ok(Visitor::SignedIn(_)) => page(StatusCode::OK, html),
    }
}

async fn root(State(state): State<AppState>, request: Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    match visitor(&mut parts, &state).await {
        Err(response) => response,
        Ok(Visitor::Anonymous) => see_other("/login"),
        Ok(Visitor::SignedIn(_)) => see_other("/agents"),
    }
}

async fn agents_page(State(state): State<AppState>, request: Request) -> Response {
    guarded(&state, request, AGENTS_PAGE.as_str(), false).await
}

async fn agent_page(State(state): State<AppState>, request: Request) -> Response {
    guarded(&state, request, AGENT_PAGE.as_str(), false).await
}

async fn usage_page(State(state): State<AppState>, request: Request) -> Response {
    guarded(&state, request, USAGE_PAGE.as_str(), false).await
}

async fn keys_page(State(state): State<AppState>, request: Request) -> Response {
    guarded(&state, request, KEYS_PAGE.as_str(), true).await
}

async fn users_page(State(state): State<AppState>, request: Request) -> Response {
    guarded(&state, request, USERS_PAGE.as_str(), true).await
}

/// A strong ETag for `body`: its SHA-256 (the first 16 bytes, hex), quoted.
pub fn etag_of(body: &[u8]) -> String {
    format!("\"{}\"", crate::secrets::hex(&Sha256::digest(body)[..16]))
}

/// Whether `If-None-Match` lists `etag` (or `*`); weak forms match too.
pub fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|candidate| candidate.trim().trim_start_matches("W/"))
        .any(|candidate| candidate == "*" || candidate == etag)
}

/// A static file with its ETag.
struct Asset {
    body: &'static str,
    content_type: &'static str,
    etag: OnceLock<String>,
}

impl Asset {
    const fn new(body: &'static str, content_type: &'static str) -> Asset {
        Asset {
            body,
            content_type,
            etag: OnceLock::new(),
        }
    }

    fn etag(&self) -> &str {
        self.etag.get_or_init(|| etag_of(self.body.as_bytes()))
    }

    /// The file, or 304 when the client has this version; always revalidated.
    fn serve(&self, request_headers: &HeaderMap) -> Response {
        let mut response = if etag_matches(request_headers, self.etag()) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let mut response = self.body.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            );
            response
        };
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(self.etag()) {
            headers.insert(header::ETAG, value);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    }
}

static CSS: Asset = Asset::new(APP_CSS, "text/css; charset=utf-8");
static JS: Asset = Asset::new(APP_JS, "text/javascript; charset=utf-8");

async fn app_css(headers: HeaderMap) -> Response {
    CSS.serve(&headers)
}

async fn app_js(headers: HeaderMap) -> Response {
    JS.serve(&headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_in_pages_get_the_navigation_once() {
        for page in [
            &AGENTS_PAGE,
            &AGENT_PAGE,
            &USAGE_PAGE,
            &KEYS_PAGE,
            &USERS_PAGE,
        ] {
            assert_eq!(
                page.matches(r#"<nav id="nav""#).count(),
                1,
                "{}",
                page.as_str()
            );
            assert!(!page.contains("#include"), "{}", page.as_str());
        }
    }

    #[test]
    fn next_paths_are_encoded() {
        assert_eq!(encode_query_value("/agents/a%20b"), "/agents/a%2520b");
        assert_eq!(encode_query_value("/usage?x=1&y"), "/usage%3Fx%3D1%26y");
    }

    #[test]
    fn etags_match_strong_weak_and_star() {
        let mut headers = HeaderMap::new();
        assert!(!etag_matches(&headers, "\"a\""));
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"b\", W/\"a\""),
        );
        assert!(etag_matches(&headers, "\"a\""));
        assert!(!etag_matches(&headers, "\"c\""));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(etag_matches(&headers, "\"c\""));
    }

    #[test]
    fn the_policy_allows_no_inline_script() {
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
        assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self'"));
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    }
}
