//! The admin API as `inlet listen` uses it, with its failures told apart: unreachable (wait
//! and reconnect), the token refused (stop: exit 1), an answer that is not a success.

use bytes::Bytes;
use serde_json::Value;

use crate::cli::admin::AdminClient;

/// Why a call to the admin API did not give what was asked.
#[derive(Debug)]
pub enum Failure {
    /// No answer (inlet is down, restarting, or the network dropped).
    Unreachable(String),
    /// 401: the token is wrong or missing.
    Refused,
    /// Any other answer that is not a success.
    Answered(u16, String),
}

impl Failure {
    /// Whether waiting and asking again can help.
    pub fn passes(&self) -> bool {
        match self {
            Failure::Unreachable(_) => true,
            Failure::Answered(status, _) => *status >= 500,
            Failure::Refused => false,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unreachable(why) => write!(f, "{why}"),
            Failure::Refused => write!(
                f,
                "the admin API refused the token (401): pass --token or set INLET_ADMIN_TOKEN"
            ),
            Failure::Answered(status, detail) if detail.is_empty() => write!(f, "the admin API answered {status}"),
            Failure::Answered(status, detail) => write!(f, "the admin API answered {status}: {detail}"),
        }
    }
}

pub struct Api {
    pub client: AdminClient,
}

impl Api {
    async fn get(&self, path: &str) -> Result<reqwest::Response, Failure> {
        let response = self
            .client
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .map_err(|e| {
                Failure::Unreachable(format!(
                    "cannot reach inlet at {}: {}",
                    self.client.base(),
                    e.without_url()
                ))
            })?;
        match response.status().as_u16() {
            200..=299 => Ok(response),
            401 => Err(Failure::Refused),
            status => {
                let bytes = response.bytes().await.unwrap_or_default();
                let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                Err(Failure::Answered(
                    status,
                    body["detail"].as_str().unwrap_or("").to_string(),
                ))
            }
        }
    }

    /// A JSON answer.
    pub async fn json(&self, path: &str) -> Result<Value, Failure> {
        let (bytes, _) = self.bytes(path).await?;
        serde_json::from_slice(&bytes).map_err(|e| Failure::Answered(200, format!("not JSON: {e}")))
    }

    /// A raw answer and its content type.
    pub async fn bytes(&self, path: &str) -> Result<(Bytes, Option<String>), Failure> {
        let response = self.get(path).await?;
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response
            .bytes()
            .await
            .map_err(|e| Failure::Unreachable(format!("the answer from inlet broke off: {}", e.without_url())))?;
        Ok((body, content_type))
    }
}
