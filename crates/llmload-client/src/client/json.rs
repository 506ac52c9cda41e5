//! The client's JSON calls beside the measured requests: `GET /v1/models`,
//! `/version`, `POST /tokenize`.

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{race, Client, Stop};
use crate::body::{body_message, read_all};
use crate::error::ClientError;

/// A model `GET /v1/models` lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedModel {
    /// The model id requests name.
    pub id: String,
    /// vLLM's `root`: the local directory (or hub id) the model was loaded
    /// from; `None` when the server does not say.
    pub root: Option<String>,
}

impl Client {
    /// `GET` a JSON document (`/v1/models`, `/version`, ...). Any answer other
    /// than 2xx JSON is an error.
    pub async fn get_json(&self, route: &str) -> Result<Value, ClientError> {
        let limit = self.inner.timeout.or(Some(Duration::from_secs(60)));
        self.json_call(Method::GET, route, Bytes::new(), limit)
            .await
    }

    /// `GET` a text document (`/metrics`) within `limit`, connecting included.
    pub async fn get_text(&self, route: &str, limit: Duration) -> Result<String, ClientError> {
        let path = self.inner.target.path(route);
        match tokio::time::timeout(
            limit,
            self.call(Method::GET, route, Bytes::new(), Some(limit)),
        )
        .await
        {
            Ok(body) => Ok(String::from_utf8_lossy(&body?).into_owned()),
            Err(_) => Err(ClientError::timeout(format!("GET {path} timed out"))),
        }
    }

    /// `POST` a JSON body to `route` (`/tokenize`, ...) and read a JSON
    /// answer, all of it (connecting included) within `limit`. Any answer
    /// other than 2xx JSON is an error.
    pub async fn post_json(
        &self,
        route: &str,
        body: &Value,
        limit: Duration,
    ) -> Result<Value, ClientError> {
        let path = self.inner.target.path(route);
        let body = Bytes::from(body.to_string());
        match tokio::time::timeout(
            limit,
            self.json_call(Method::POST, route, body, Some(limit)),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(ClientError::timeout(format!("POST {path} timed out"))),
        }
    }

    /// One JSON request on a pooled connection, each read within `limit`.
    async fn json_call(
        &self,
        method: Method,
        route: &str,
        body: Bytes,
        limit: Option<Duration>,
    ) -> Result<Value, ClientError> {
        let path = self.inner.target.path(route);
        let body = self.call(method.clone(), route, body, limit).await?;
        serde_json::from_slice(&body)
            .map_err(|e| ClientError::parse(format!("{method} {path}: not JSON: {e}")))
    }

    /// One request on a pooled connection, each read within `limit`: the
    /// body of a 2xx answer.
    async fn call(
        &self,
        method: Method,
        route: &str,
        body: Bytes,
        limit: Option<Duration>,
    ) -> Result<Bytes, ClientError> {
        let never = CancellationToken::new();
        let path = self.inner.target.path(route);
        let mut conn = self.inner.pool.checkout().await?;
        let uri = path
            .parse()
            .map_err(|_| ClientError::parse(format!("bad path {path:?}")))?;
        let req = self.request(method.clone(), uri, body);
        let resp = match race(conn.sender.send_request(req), limit, &never, || {
            ClientError::timeout(format!("{method} {path} timed out"))
        })
        .await
        {
            Ok(r) => r.map_err(|e| ClientError::reset(format!("{method} {path}: {e}")))?,
            Err(Stop::Failed(e)) => return Err(e),
            Err(Stop::Cancelled) => unreachable!("never cancelled"),
        };
        let status = resp.status();
        let body = read_all(resp.into_body(), limit, 16 << 20)
            .await
            .map_err(|e| ClientError::reset(format!("{method} {path}: {e}")))?;
        self.inner.pool.checkin(conn);
        if !status.is_success() {
            return Err(ClientError::http(
                status.as_u16(),
                format!("{method} {path}: {}", body_message(&body)),
            ));
        }
        Ok(body)
    }

    /// Model ids from `GET /v1/models`, in the server's order.
    pub async fn models(&self) -> Result<Vec<String>, ClientError> {
        Ok(self
            .models_with_roots()
            .await?
            .into_iter()
            .map(|m| m.id)
            .collect())
    }

    /// The models `GET /v1/models` lists, in the server's order, each with
    /// the `root` vLLM reports (the path or id it loaded the model from).
    pub async fn models_with_roots(&self) -> Result<Vec<ServedModel>, ClientError> {
        let v = self.get_json("/v1/models").await?;
        Ok(v.get("data")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|m| {
                        let id = m.get("id").and_then(Value::as_str)?;
                        let root = m.get("root").and_then(Value::as_str);
                        Some(ServedModel {
                            id: id.to_string(),
                            root: root.filter(|r| !r.is_empty()).map(String::from),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}
