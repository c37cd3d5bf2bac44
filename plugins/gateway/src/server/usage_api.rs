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

/// The values of the query string's parameters `names`, in that order: an empty
/// value counts as absent; an unknown or repeated parameter is refused (naming it,
/// cut to 40 characters, and the ones expected).
pub fn query_parameters<'a, const N: usize>(
    query: Option<&'a str>,
    names: [&str; N],
) -> Result<[Option<&'a str>; N], ApiError> {
    let mut found: [Option<&str>; N] = [None; N];
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
    {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(slot) = names.iter().position(|known| *known == name) else {
            return Err(ApiError::invalid(format!(
                "unknown query parameter `{}`: expected {}",
                name.chars().take(40).collect::<String>(),
                names.join(", ")
            )));
        };
        if found[slot].replace(value).is_some() {
            return Err(ApiError::invalid(format!("`{name}` is given twice")));
        }
    }
    Ok(found.map(|value| value.filter(|value| !value.is_empty())))
}

/// `GET /api/usage`.
pub async fn summary(
    State(state): State<AppState>,
    signed_in: SignedIn,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let [by, since, until] = query_parameters(query.as_deref(), ["by", "since", "until"])?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_ignore_empty_values_and_refuse_others() {
        let [since, until] =
            query_parameters(Some("since=&until=2025-03-01"), ["since", "until"]).unwrap();
        assert_eq!((since, until), (None, Some("2025-03-01")));
        assert!(query_parameters(Some("by=day"), ["since", "until"]).is_err());
        assert!(query_parameters(Some("since=1d&since=2d"), ["since", "until"]).is_err());
    }
}
