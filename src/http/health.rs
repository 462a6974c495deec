//! `/healthz` (the process answers) and `/readyz` (its dependencies answer).

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use crate::{db, state::AppState};

/// The process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers and, with `REDIS_URL`, Redis answers and the subscription receives:
/// 200, else 503 naming what failed (`database: down`, `redis: unreachable` or `redis:
/// stale`; the cause goes to the log).
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = match db::ping(&state.db).await {
        Ok(()) => "ok",
        Err(error) => {
            tracing::warn!(error = %error, "readiness check: database does not answer");
            "down"
        }
    };
    let mut body = json!({ "database": database });
    let mut ready = database == "ok";
    if let Some(cluster) = &state.cluster {
        let redis = match cluster.readiness().await {
            Ok(()) => "ok",
            Err(not_ready) => {
                tracing::warn!(redis = not_ready.as_str(), "readiness check: Redis is not ready");
                ready = false;
                not_ready.as_str()
            }
        };
        body["redis"] = json!(redis);
    }
    body["status"] = json!(if ready { "ready" } else { "unavailable" });
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body))
}
