//! Prometheus metrics: request counts and latencies per route (recorded by a middleware on
//! every page), scheduled job runs (recorded by `jobs`), and, read when scraped, the
//! notification queue's depth and the audit chain's verification state.
//!
//! `/metrics` is served only on its own listener (`CASEMAIL_METRICS_BIND`), never on the
//! address people use, so what it reveals (routes, volumes) stays on the operator's network.

use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::audit::ChainState;
use crate::state::AppState;

const LATENCY: &str = "casemail_http_request_duration_seconds";

/// Latency buckets, in seconds: fine below 50 ms, where the budgets are.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The process's recorder: one per process, however many servers it runs (tests run many).
static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

fn recorder() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(LATENCY.into()), BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match handle {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(error) => {
                    tracing::warn!(%error, "metrics are off: the recorder could not be installed");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    metrics::describe_counter!(
        "casemail_http_requests_total",
        "HTTP requests answered, by method, route and status"
    );
    metrics::describe_histogram!(
        LATENCY,
        metrics::Unit::Seconds,
        "Time to answer an HTTP request (to the response's head), by method and route"
    );
    metrics::describe_counter!(
        "casemail_job_runs_total",
        "Scheduled job runs in this instance, by job and outcome"
    );
    metrics::describe_gauge!(
        "casemail_notifications_waiting",
        "Notification emails queued and not yet sent (all instances)"
    );
    metrics::describe_gauge!(
        "casemail_gateway_outbound_waiting",
        "Letters to secure domains not yet relayed or failed (all instances)"
    );
    metrics::describe_gauge!(
        "casemail_audit_verified_seq",
        "The last audit event the scheduled chain check verified"
    );
    metrics::describe_gauge!(
        "casemail_audit_unverified_events",
        "Audit events written since the last verified one"
    );
    metrics::describe_gauge!(
        "casemail_audit_chain_broken",
        "1 when the scheduled check found the audit chain broken"
    );
}

/// Counts and times every request, labelled by the route's pattern (never the path
/// itself, which may name cases or carry tokens).
pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("casemail_http_requests_total",
        "method" => method.clone(), "route" => route.clone(), "status" => status)
    .increment(1);
    metrics::histogram!(LATENCY, "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Serves `/metrics` on its own listener until the process ends.
pub async fn serve(app: AppState, listener: TcpListener) -> anyhow::Result<()> {
    if recorder().is_none() {
        anyhow::bail!("metrics could not be started");
    }
    let routes = Router::new().route("/metrics", get(render)).with_state(app);
    axum::serve(listener, routes).await?;
    Ok(())
}

/// Makes sure the recorder exists before any request is counted.
pub fn start_recording() {
    let _ = recorder();
}

async fn render(State(app): State<AppState>) -> Response {
    let Some(handle) = recorder() else {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    match app.notifications.waiting().await {
        Ok(waiting) => metrics::gauge!("casemail_notifications_waiting").set(waiting as f64),
        Err(error) => tracing::warn!(%error, "metrics: cannot count waiting notifications"),
    }
    if app.gateway.is_enabled() {
        match app.gateway.waiting().await {
            Ok(waiting) => {
                metrics::gauge!("casemail_gateway_outbound_waiting").set(waiting as f64);
            }
            Err(error) => tracing::warn!(%error, "metrics: cannot count outbound letters"),
        }
    }
    match app.audit.chain_state().await {
        Ok(ChainState::Intact { up_to, later, .. }) => {
            metrics::gauge!("casemail_audit_verified_seq").set(up_to as f64);
            metrics::gauge!("casemail_audit_unverified_events").set(later as f64);
            metrics::gauge!("casemail_audit_chain_broken").set(0.0);
        }
        Ok(ChainState::Broken { up_to, .. }) => {
            metrics::gauge!("casemail_audit_verified_seq").set(up_to as f64);
            metrics::gauge!("casemail_audit_chain_broken").set(1.0);
        }
        Ok(ChainState::Unchecked) => {}
        Err(error) => tracing::warn!(%error, "metrics: cannot read the audit chain state"),
    }
    handle.run_upkeep();
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}
