//! Probes for load balancers and orchestrators.

use axum::extract::State;
use axum::http::StatusCode;

use crate::state::AppState;

/// The process is up.
pub async fn live() -> &'static str {
    "ok"
}

/// The process can serve: its database answers.
pub async fn ready(State(app): State<AppState>) -> (StatusCode, &'static str) {
    if app.is_ready().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    }
}
