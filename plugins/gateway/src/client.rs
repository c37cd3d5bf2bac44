//! The CLI's blocking HTTP client to its own daemon (ureq): the health check and
//! the admin bootstrap. Plain HTTP on this machine, short timeouts.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use serde::Deserialize;
use serde_json::{json, Value};

/// What `GET /health` answers (200 `ok`, or 503 `degraded` on the team tier).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: String,
    /// The daemon's version.
    pub version: String,
    /// Its storage tier.
    pub tier: String,
    /// Seconds since it started.
    pub uptime_s: u64,
    /// Team tier: each dependency's state, by name (`postgres`, `valkey`).
    #[serde(default)]
    pub dependencies: BTreeMap<String, DependencyState>,
}

/// One dependency in `/health`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DependencyState {
    /// `ok` or `unavailable`.
    pub status: String,
    /// Why it is unavailable.
    #[serde(default)]
    pub error: Option<String>,
}

impl Health {
    /// "degraded: postgres unavailable (reason)", or `None` when healthy.
    pub fn degradation(&self) -> Option<String> {
        if self.status == "ok" {
            return None;
        }
        let failing: Vec<String> = self
            .dependencies
            .iter()
            .filter(|(_, state)| state.status != "ok")
            .map(|(name, state)| match &state.error {
                Some(error) => format!("{name} unavailable ({error})"),
                None => format!("{name} unavailable"),
            })
            .collect();
        Some(format!("{}: {}", self.status, failing.join(", ")))
    }
}

/// The outcome of creating the first admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// Created.
    Created,
    /// An admin existed already (409).
    AdminExists,
}

/// A client for the daemon at `base_url`.
pub struct GatewayClient {
    agent: ureq::Agent,
    base_url: String,
}

fn error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|value| {
            value
                .pointer("/error/message")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.trim().to_string())
}

impl GatewayClient {
    /// A client with a per-request timeout.
    pub fn new(base_url: &str, timeout: Duration) -> GatewayClient {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        GatewayClient {
            agent,
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    /// `GET /health`; a degraded gateway (503 with its health) is an answer too.
    pub fn health(&self) -> Result<Health> {
        let url = format!("{}/health", self.base_url);
        let mut response = self
            .agent
            .get(&url)
            .call()
            .map_err(|error| anyhow!("{url}: {error}"))?;
        let status = response.status();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|error| anyhow!("{url}: cannot read the answer: {error}"))?;
        // 503 with a health body is a running but degraded gateway.
        if status.as_u16() == 503 {
            if let Ok(health) = serde_json::from_str::<Health>(&body) {
                return Ok(health);
            }
        }
        if !status.is_success() {
            bail!("{url} answered {status}: {}", error_message(&body));
        }
        serde_json::from_str(&body)
            .with_context(|| format!("{url} answered something that is not the gateway's health"))
    }

    /// `POST /api/bootstrap/admin` with the one-time token.
    pub fn bootstrap_admin(
        &self,
        token: &str,
        name: &str,
        email: &str,
        password: &str,
    ) -> Result<Bootstrap> {
        let url = format!("{}/api/bootstrap/admin", self.base_url);
        let body = json!({"name": name, "email": email, "password": password}).to_string();
        let mut response = self
            .agent
            .post(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(body.as_str())
            .map_err(|error| anyhow!("{url}: {error}"))?;
        let status = response.status();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        match status.as_u16() {
            200 | 201 => Ok(Bootstrap::Created),
            409 => Ok(Bootstrap::AdminExists),
            _ => bail!(
                "creating the admin failed ({status}): {}",
                error_message(&text)
            ),
        }
    }
}
