//! The proxy's API keys over HTTP, admins only: `POST /api/keys` (the key is in
//! the 201 answer, once), `GET /api/keys`, `DELETE /api/keys/{name}` (revokes).
//!
//! The body of `POST /api/keys` has the fields of `mosaic gateway keys create`
//! ([`KeySpec`]: `name`, `user` (an email), `agent`, `budget_tokens` (`N/day`,
//! `N/month`), `budget_usd` (`X/month`), `rpm`, `tpm`, `expires` (`7d`), `models` (a
//! list)), checked by the same code.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::auth::Admin;
use super::error::{ApiError, ApiJson};
use super::AppState;
use crate::clock::unix_now;
use crate::keys::{create_key, FieldNames, KeyError, KeySpec, KeyView};
use crate::storage::StoreError;

/// `GET /api/keys`: every key (revoked and expired ones included), oldest first;
/// never a key itself.
pub async fn list(State(state): State<AppState>, _admin: Admin) -> Result<Response, ApiError> {
    let backend = state.backend();
    let keys = backend.keys.list_keys().await?;
    let users = backend.users.list_users().await?;
    let views = KeyView::all(keys, &users, unix_now());
    Ok(Json(json!({ "keys": views })).into_response())
}

/// `POST /api/keys`: creates a key; 201 with `key` (shown this once) and the key as
/// `GET /api/keys` lists it.
pub async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(spec): ApiJson<KeySpec>,
) -> Result<Response, ApiError> {
    let backend = state.backend();
    let created = create_key(
        backend.users.as_ref(),
        backend.keys.as_ref(),
        &spec,
        FieldNames::Json,
    )
    .await;
    let (secret, view) = match created {
        Ok(created) => created,
        Err(KeyError::Store(error)) => return Err(error.into()),
        Err(error @ (KeyError::Invalid(_) | KeyError::UnknownUser(_))) => {
            return Err(ApiError::invalid(error.to_string()))
        }
    };
    tracing::info!(
        key_id = view.key.id,
        by = admin.session.user.id,
        "API key created"
    );
    let mut body = serde_json::to_value(&view).map_err(|error| ApiError::internal(&error))?;
    body["key"] = serde_json::Value::String(secret);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `DELETE /api/keys/{name}`: revokes the key (its name and usage stay); 200 with
/// the revoked key. Revoking a revoked key changes nothing.
pub async fn revoke(
    State(state): State<AppState>,
    Admin(admin): Admin,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Ok(Path(name)) = name else {
        return Err(StoreError::KeyNotFound.into());
    };
    let key = state.backend().keys.revoke_key(&name).await?;
    tracing::info!(
        key_id = key.id,
        by = admin.session.user.id,
        "API key revoked"
    );
    let view = KeyView::new(key, None, unix_now());
    Ok(Json(json!({ "key": view })).into_response())
}
