//! Serving the router on a listener until shutdown.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::state::AppState;

/// Serves on `listener` until `shutdown` resolves, and `/metrics` on its own address
/// when one is configured.
pub async fn serve(
    app: AppState,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let _metrics = match app.config.metrics_bind {
        Some(address) => {
            let metrics_listener = TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen for metrics on {address}"))?;
            super::metrics::start_recording();
            tracing::info!("metrics on http://{address}/metrics");
            Some(AbortOnDrop(tokio::spawn(super::metrics::serve(
                app.clone(),
                metrics_listener,
            ))))
        }
        None => None,
    };
    let _gateway = if app.gateway.is_enabled() {
        Some(app.gateway.serve().await?)
    } else {
        None
    };
    axum::serve(
        listener,
        super::router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("server failed")
}

/// Stops the metrics listener with the server.
struct AbortOnDrop(tokio::task::JoinHandle<anyhow::Result<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
