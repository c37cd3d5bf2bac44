//! User management, admins only: `GET /api/users`, `POST /api/users`,
//! `DELETE /api/users/{id}`, `POST /api/users/{id}/password`.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::auth::Admin;
use super::error::{ApiError, ApiJson};
use super::AppState;
use crate::storage::{NewUser, Role};
use mosaic_plugin_api::sdk::account::{validate_email, validate_name, validate_password};

/// `GET /api/users`: every user, oldest first.
pub async fn list(State(state): State<AppState>, _admin: Admin) -> Result<Response, ApiError> {
    let users = state.backend().users.list_users().await?;
    Ok(Json(json!({ "users": users })).into_response())
}

/// The body of `POST /api/users`; unknown fields are refused (422).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    name: String,
    email: String,
    password: String,
    #[serde(default)]
    role: Option<String>,
}

/// `POST /api/users`: creates a user (`role` is `user` unless `admin` is asked).
pub async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Response, ApiError> {
    let name = validate_name(&body.name).map_err(|error| ApiError::invalid(error.to_string()))?;
    let email =
        validate_email(&body.email).map_err(|error| ApiError::invalid(error.to_string()))?;
    validate_password(&body.password).map_err(|error| ApiError::invalid(error.to_string()))?;
    let role = match body.role.as_deref() {
        None => Role::User,
        Some(text) => Role::parse(text).ok_or_else(|| {
            ApiError::invalid(format!("unknown role `{text}`: expected `user` or `admin`"))
        })?,
    };
    let password_hash = state.hash_password(body.password).await?;
    let user = state
        .backend()
        .users
        .create_user(NewUser {
            name,
            email,
            password_hash,
            role,
        })
        .await?;
    tracing::info!(
        user_id = user.id,
        by = admin.session.user.id,
        "user created"
    );
    Ok((StatusCode::CREATED, Json(json!({ "user": user }))).into_response())
}

/// The user id of a path; any id that is not a number (not even valid UTF-8 once
/// decoded) names no user.
fn user_id(id: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    id.ok()
        .and_then(|Path(id)| id.parse().ok())
        .ok_or_else(|| ApiError::not_found("no such user"))
}

/// The body of `POST /api/users/{id}/password`; unknown fields are refused (422).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    password: String,
}

/// `POST /api/users/{id}/password`: sets a user's password and ends every session
/// of theirs (an admin resetting their own password signs out too); 204.
pub async fn reset_password(
    State(state): State<AppState>,
    Admin(admin): Admin,
    id: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<Response, ApiError> {
    let id = user_id(id)?;
    validate_password(&body.password).map_err(|error| ApiError::invalid(error.to_string()))?;
    let password_hash = state.hash_password(body.password).await?;
    let backend = state.backend();
    backend.users.set_password_hash(id, password_hash).await?;
    backend.sessions.delete_user_sessions(id).await?;
    tracing::info!(user_id = id, by = admin.session.user.id, "password reset");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /api/users/{id}`: deletes a user and ends their sessions.
pub async fn remove(
    State(state): State<AppState>,
    Admin(admin): Admin,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = user_id(id)?;
    let backend = state.backend();
    backend.users.delete_user(id).await?;
    backend.sessions.delete_user_sessions(id).await?;
    tracing::info!(user_id = id, by = admin.session.user.id, "user deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}
