//! Creating the first admin: `POST /api/bootstrap/admin`, authorised by a one-time
//! token the daemon writes to a 0600 file in the config directory when it starts
//! without an admin. Only the user who owns the config directory can read it; the
//! file is deleted as soon as the admin exists.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context as _, Result};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use mosaic_plugin_api::sdk::fs::{atomic_write, create_dir_all_with_mode};
use serde::Deserialize;
use serde_json::json;

use super::auth::bearer_token;
use super::error::{ApiError, ApiJson};
use super::AppState;
use crate::secrets::{new_token, token_hash};
use crate::storage::{ClusterEvent, NewUser, Role, TokenHash};
use mosaic_plugin_api::sdk::account::{validate_email, validate_name, validate_password};

/// The one-time bootstrap token, while no admin exists.
pub struct BootstrapGate {
    file: PathBuf,
    expected: Mutex<Option<TokenHash>>,
}

impl BootstrapGate {
    /// Without an admin: writes a fresh token to `file` (0600, in a 0700 directory)
    /// and expects it. With one: removes any stale token file.
    pub fn prepare(file: &Path, admin_exists: bool) -> Result<BootstrapGate> {
        let expected = if admin_exists {
            remove_token_file(file)?;
            None
        } else {
            if let Some(directory) = file.parent() {
                create_dir_all_with_mode(directory, 0o700)?;
            }
            let token = new_token();
            atomic_write(file, format!("{token}\n").as_bytes(), Some(0o600))
                .with_context(|| format!("cannot write the bootstrap token {}", file.display()))?;
            Some(token_hash(&token))
        };
        Ok(BootstrapGate {
            file: file.to_path_buf(),
            expected: Mutex::new(expected),
        })
    }

    fn matches(&self, token: &str) -> bool {
        let expected = self
            .expected
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        expected.is_some_and(|hash| hash == token_hash(token))
    }

    /// Voids the token (the first admin exists) and removes its file.
    pub fn consume(&self) {
        *self
            .expected
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = None;
        if let Err(error) = remove_token_file(&self.file) {
            tracing::warn!("{error:#}");
        }
    }
}

fn remove_token_file(file: &Path) -> Result<()> {
    match std::fs::remove_file(file) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error)
            .with_context(|| format!("cannot remove the used bootstrap token {}", file.display())),
    }
}

/// The body of `POST /api/bootstrap/admin`; unknown fields are refused (422).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminBody {
    name: String,
    email: String,
    password: String,
}

/// `POST /api/bootstrap/admin`: 409 once an admin exists, 401 without the token.
pub async fn create_admin(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AdminBody>,
) -> Result<Response, ApiError> {
    let users = &state.backend().users;
    if users.admin_exists().await? {
        return Err(ApiError::conflict(
            "an admin already exists; the bootstrap token is no longer valid",
        ));
    }
    let authorised = bearer_token(&headers).is_some_and(|token| state.bootstrap().matches(token));
    if !authorised {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_bootstrap_token",
            "a valid bootstrap token is required (Authorization: Bearer <token from \
             the gateway's bootstrap-token file>)",
        ));
    }
    let name = validate_name(&body.name).map_err(|error| ApiError::invalid(error.to_string()))?;
    let email =
        validate_email(&body.email).map_err(|error| ApiError::invalid(error.to_string()))?;
    validate_password(&body.password).map_err(|error| ApiError::invalid(error.to_string()))?;
    let password_hash = state.hash_password(body.password).await?;
    let admin = users
        .create_first_admin(NewUser {
            name,
            email,
            password_hash,
            role: Role::Admin,
        })
        .await?;
    state.bootstrap().consume();
    tracing::info!(user_id = admin.id, "first admin created");
    if let Some(cluster) = &state.backend().cluster {
        // The other replicas remove their bootstrap tokens; if this fails they
        // still refuse them (409: the admin exists) and remove them at restart.
        if let Err(error) = cluster.announce(ClusterEvent::AdminCreated).await {
            tracing::warn!("cannot tell the other replicas about the new admin: {error}");
        }
    }
    Ok((StatusCode::CREATED, Json(json!({ "user": admin }))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_token_file_is_private_and_removed_once_used() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("gateway/bootstrap-token");
        let gate = BootstrapGate::prepare(&file, false).unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let token = std::fs::read_to_string(&file).unwrap();
        assert!(gate.matches(token.trim()));
        assert!(!gate.matches(&new_token()));
        gate.consume();
        assert!(!file.exists());
        assert!(!gate.matches(token.trim()));
    }

    #[test]
    fn with_an_admin_a_stale_token_file_is_removed() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("bootstrap-token");
        std::fs::write(&file, "stale").unwrap();
        let gate = BootstrapGate::prepare(&file, true).unwrap();
        assert!(!file.exists());
        assert!(!gate.matches("stale"));
    }
}
