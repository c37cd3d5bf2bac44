//! Who is calling: the Mosaic key in `x-api-key` or `Authorization: Bearer`, looked
//! up by its SHA-256. Unknown, revoked and expired keys get 401 saying which; a model
//! the key may not use gets 403. The key itself never appears in a message.
//!
//! A key found in storage is kept in memory for [`KEY_CACHE_TTL`], so a busy agent
//! does not cost a storage lookup per request (the lookup was most of what the
//! proxy added to a request's latency). `mosaic gateway keys revoke` writes the
//! storage directly, so a revoked key is refused within that time; unknown keys
//! are never cached, so a new key works at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, StatusCode};

use super::errors::ProxyError;
use crate::secrets;
use crate::storage::keys::{ApiKey, KeyStore, KEY_PREFIX};
use crate::storage::TokenHash;

/// How long a key found in storage is used without asking the storage again.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(1);
/// Keys kept at most; beyond, the cache starts over (a flood of distinct valid
/// keys cannot grow it without bound).
const KEY_CACHE_LIMIT: usize = 10_000;

/// Live keys recently found in storage, by hash.
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<TokenHash, (ApiKey, Instant)>>,
}

impl KeyCache {
    fn get(&self, hash: &TokenHash, now: Instant) -> Option<ApiKey> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let (key, found_at) = entries.get(hash)?;
        (now.duration_since(*found_at) < KEY_CACHE_TTL).then(|| key.clone())
    }

    fn put(&self, hash: TokenHash, key: &ApiKey, now: Instant) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if entries.len() >= KEY_CACHE_LIMIT {
            entries.clear();
        }
        entries.insert(hash, (key.clone(), now));
    }
}

/// The key the client sent, if any: `x-api-key` first (Anthropic's SDKs,
/// `ANTHROPIC_API_KEY`), else `Authorization: Bearer` (`ANTHROPIC_AUTH_TOKEN`).
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get("x-api-key") {
        return value.to_str().ok().map(str::trim);
    }
    let authorization = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = authorization.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The key of the request, if it is known, not revoked and not expired at `now`
/// (Unix seconds).
pub async fn authenticate(
    keys: &dyn KeyStore,
    cache: &KeyCache,
    headers: &HeaderMap,
    now: i64,
) -> Result<ApiKey, ProxyError> {
    let Some(presented) = presented_key(headers).filter(|key| !key.is_empty()) else {
        return Err(ProxyError::unauthorized(format!(
            "no API key: send a Mosaic key ({KEY_PREFIX}…) in x-api-key or Authorization: \
             Bearer (create one with `mosaic gateway keys create NAME`)"
        )));
    };
    if !presented.starts_with(KEY_PREFIX) {
        return Err(ProxyError::unauthorized(format!(
            "this is not a Mosaic key: the gateway takes keys that start with {KEY_PREFIX} \
             (create one with `mosaic gateway keys create NAME`), never an Anthropic key"
        )));
    }
    let hash = secrets::token_hash(presented);
    let found = match cache.get(&hash, Instant::now()) {
        Some(key) => Some(key),
        None => {
            let found = keys.find_key(&hash).await.map_err(|error| {
                ProxyError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("the gateway cannot check the key: {error}"),
                )
            })?;
            if let Some(key) = found.as_ref().filter(|key| key.revoked_at.is_none()) {
                cache.put(hash, key, Instant::now());
            }
            found
        }
    };
    let Some(key) = found else {
        return Err(ProxyError::unauthorized(
            "invalid API key: no Mosaic key matches it",
        ));
    };
    if key.revoked_at.is_some() {
        return Err(ProxyError::unauthorized(format!(
            "the API key `{}` was revoked; ask for a new one",
            key.name
        )));
    }
    if key.limits.expires_at.is_some_and(|expires| expires <= now) {
        return Err(ProxyError::unauthorized(format!(
            "the API key `{}` expired; ask for a new one",
            key.name
        )));
    }
    Ok(key)
}

/// Refuses (403) a model the key may not use.
pub fn check_model(key: &ApiKey, model: Option<&str>) -> Result<(), ProxyError> {
    let allowed = &key.limits.models;
    if allowed.is_empty() {
        return Ok(());
    }
    match model {
        Some(model) if allowed.iter().any(|allowed| allowed == model) => Ok(()),
        Some(model) => Err(ProxyError::new(
            StatusCode::FORBIDDEN,
            format!(
                "the API key `{}` may not use the model `{model}`; it may use: {}",
                key.name,
                allowed.join(", ")
            ),
        )),
        None => Err(ProxyError::new(
            StatusCode::FORBIDDEN,
            format!(
                "the API key `{}` may only use these models, and the request names none: {}",
                key.name,
                allowed.join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::keys::test_key;
    use axum::http::HeaderValue;

    #[test]
    fn a_cached_key_is_trusted_for_at_most_the_ttl() {
        let cache = KeyCache::default();
        let key = test_key(1, "a");
        let found_at = Instant::now();
        cache.put([7; 32], &key, found_at);
        assert_eq!(cache.get(&[7; 32], found_at), Some(key));
        assert_eq!(cache.get(&[8; 32], found_at), None);
        assert_eq!(cache.get(&[7; 32], found_at + KEY_CACHE_TTL), None);
    }

    #[test]
    fn the_key_comes_from_either_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(presented_key(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer mosaic_sk_b"),
        );
        assert_eq!(presented_key(&headers), Some("mosaic_sk_b"));
        headers.insert("x-api-key", HeaderValue::from_static("mosaic_sk_a"));
        assert_eq!(presented_key(&headers), Some("mosaic_sk_a"));
        let mut basic = HeaderMap::new();
        basic.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(presented_key(&basic), None);
    }
}
