//! The client of the Anthropic API: pooled keep-alive connections (HTTP/1.1, TLS
//! with rustls and the system's roots), and the request the proxy sends — the
//! client's method, path, query, body and Anthropic headers, with the real key in
//! place of the client's.

use std::time::Duration;

use anyhow::{Context as _, Result};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::settings::Secret;

/// How long connecting to the upstream may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the upstream may take to start answering (a long non-streamed answer
/// comes all at once at the end; Anthropic's SDKs wait 10 minutes too).
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a stream may stay silent (Anthropic sends `ping` events meanwhile).
pub const STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long an unused pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Request headers passed on to the upstream as they are.
const FORWARDED_REQUEST_HEADERS: &[&str] = &[
    "content-type",
    "accept",
    "anthropic-version",
    "anthropic-beta",
];

/// Response headers passed back to the client as they are.
pub const FORWARDED_RESPONSE_HEADERS: &[&str] = &[
    "content-type",
    "retry-after",
    "request-id",
    "x-should-retry",
];

/// The Anthropic API as the proxy calls it.
pub struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    base_url: String,
    api_key: HeaderValue,
}

impl Upstream {
    /// A client of `base_url` (no trailing `/`) that authenticates with `api_key`.
    pub fn new(base_url: &str, api_key: &Secret) -> Result<Upstream> {
        let base_url = base_url.trim_end_matches('/');
        format!("{base_url}/v1/messages")
            .parse::<Uri>()
            .with_context(|| {
                format!(
                    "gateway.anthropic_base_url `{base_url}` is not a usable URL; set it with \
                     `mosaic config set gateway.anthropic_base_url https://api.anthropic.com`"
                )
            })?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let tls = crate::storage::tls::client_config()
            .context("cannot set up TLS for the Anthropic API")?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector);
        let mut api_key = HeaderValue::from_str(api_key.expose().trim()).context(
            "the Anthropic API key in gateway.anthropic_api_key has characters a header cannot \
             hold; set it again",
        )?;
        api_key.set_sensitive(true);
        Ok(Upstream {
            client,
            base_url: base_url.to_string(),
            api_key,
        })
    }

    /// Sends the client's request upstream and waits for the response head.
    pub async fn send(
        &self,
        method: Method,
        uri: &Uri,
        client_headers: &HeaderMap,
        body: Bytes,
    ) -> Result<hyper::Response<Incoming>, hyper_util::client::legacy::Error> {
        let path = uri.path_and_query().map_or("/", |path| path.as_str());
        let target = format!("{}{path}", self.base_url);
        let mut request = Request::builder()
            .method(method)
            .uri(target)
            .body(Full::new(body))
            .expect("a base URL checked at start plus the request's own path is a valid URI");
        let headers = request.headers_mut();
        for name in FORWARDED_REQUEST_HEADERS {
            for value in client_headers.get_all(*name) {
                headers.append(HeaderName::from_static(name), value.clone());
            }
        }
        headers.insert("x-api-key", self.api_key.clone());
        self.client.request(request).await
    }
}
