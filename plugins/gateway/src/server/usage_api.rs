//! `GET /api/usage?by=key|user|agent|model|day&since=…&until=…`: the proxy's usage
//! summed per group, as `mosaic gateway usage --json` shows it. An admin sees every
//! request; any other signed-in user only those made with their own keys.
//!
//! `since` is a date (`YYYY-MM-DD`, from 00:00 UTC), `today`, or a duration ago
//! (`7d`); `until` the last date included; `by` defaults to `key`.

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::auth::SignedIn;
use super::error::ApiError;
use super::AppState;
use crate::clock::unix_now;
use crate::keys::FieldNames;
use crate::storage::keys::{UsageQuery, UsageRow};
use crate::storage::{Role, StoreError};
use crate::usage_report::{usage_query, UsageReport};

/// The parameters of the query string; an unknown or repeated one is refused.
fn parameters(query: Option<&str>) -> Result<[Option<&str>; 3], ApiError> {
    let mut found: [Option<&str>; 3] = [None; 3];
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
    {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match name {
            "by" => 0,
            "since" => 1,
            "until" => 2,
            other => {
                return Err(ApiError::invalid(format!(
                    "unknown query parameter `{other}`: expected by, since or until"
                )))
            }
        };
        if found[slot].replace(value).is_some() {
            return Err(ApiError::invalid(format!("`{name}` is given twice")));
        }
    }
    Ok(found)
}

/// `GET /api/usage`.
pub async fn summary(
    State(state): State<AppState>,
    signed_in: SignedIn,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let [by, since, until] = parameters(query.as_deref())?;
    let mut query = usage_query(
        by.unwrap_or("key"),
        since,
        until,
        unix_now(),
        FieldNames::Json,
    )
    .map_err(ApiError::invalid)?;
    let rows = summarize_for(&state, &signed_in, &mut query).await?;
    Ok(Json(UsageReport::new(&query, rows)).into_response())
}

/// Sums the usage `query` asks for as `viewer` may see it: an admin every
/// request, another user only those made with their own keys (`query` is narrowed
/// to them).
pub async fn summarize_for(
    state: &AppState,
    viewer: &SignedIn,
    query: &mut UsageQuery,
) -> Result<Vec<UsageRow>, StoreError> {
    let user = &viewer.session.user;
    if user.role != Role::Admin {
        query.user_id = Some(user.id);
    }
    state.backend().usage.summarize(query).await
}
