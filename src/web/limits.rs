//! Time limits that a slow but working link survives. A request with a body (an upload)
//! may take as long as it needs while bytes keep arriving, and is given up only when the
//! body pauses for longer than the idle limit; a request without a body has an overall
//! limit. A whole-request limit would cut a 1 GiB upload from court Wi-Fi half way.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use crate::state::AppState;
use crate::web::error::AppError;

/// The body stopped arriving for longer than the idle limit.
#[derive(Debug, thiserror::Error)]
#[error("the request body paused for longer than the idle limit")]
pub struct BodyIdle;

/// Even a request with a body that keeps moving is cut after this long: a 1 GiB upload at
/// 100 KiB/s takes under three hours.
pub const UPLOAD_HOURS: u64 = 4;

pub async fn limit_time(State(app): State<AppState>, request: Request, next: Next) -> Response {
    if has_body(&request) {
        let idle = Duration::from_secs(app.config.idle_read_seconds);
        let (parts, body) = request.into_parts();
        let chunks =
            futures_util::stream::unfold(Some(body.into_data_stream()), move |body| async move {
                let mut body = body?;
                match tokio::time::timeout(idle, body.next()).await {
                    Ok(Some(Ok(bytes))) => Some((Ok(bytes), Some(body))),
                    Ok(Some(Err(error))) => Some((Err(error), None)),
                    Ok(None) => None,
                    Err(_) => Some((Err(axum::Error::new(BodyIdle)), None)),
                }
            });
        let whole = Duration::from_secs(UPLOAD_HOURS * 3600);
        let request = Request::from_parts(parts, Body::from_stream(chunks));
        return match tokio::time::timeout(whole, next.run(request)).await {
            Ok(response) => response,
            Err(_) => AppError::TimedOut.into_response(),
        };
    }
    let limit = Duration::from_secs(app.config.request_seconds);
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => AppError::TimedOut.into_response(),
    }
}

fn has_body(request: &Request) -> bool {
    let headers = request.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|length| length.trim() != "0")
}
