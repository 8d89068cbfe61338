//! Probes for load balancers and orchestrators.

use axum::extract::State;
use axum::http::StatusCode;

use crate::state::AppState;

/// The process is up.
pub async fn live() -> &'static str {
    "ok"
}

/// The process can serve: its database and its blob store answer.
pub async fn ready(State(app): State<AppState>) -> (StatusCode, &'static str) {
    match app.unready().await {
        None => (StatusCode::OK, "ready"),
        Some(problem) => (StatusCode::SERVICE_UNAVAILABLE, problem),
    }
}
