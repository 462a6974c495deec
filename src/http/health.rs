//! `/healthz` (the process answers) and `/readyz` (its dependencies answer).

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use crate::{db, state::AppState};

/// The process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers: 200, else 503 with what failed (the cause goes to the log).
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match db::ping(&state.db).await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready", "database": "ok" }))),
        Err(error) => {
            tracing::warn!(error = %error, "readiness check: database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "database": "down" })))
        }
    }
}
