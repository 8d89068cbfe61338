//! The application value shared by the web layer, the command line and tests: the store,
//! configuration, clock and the key-derivation gate; and the server's start and shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::Kdf;
use crate::clock::Clock;
use crate::config::Config;
use crate::store::{BlobStore, Store};

pub struct Casemail {
    pub store: Store,
    pub config: Config,
    pub clock: Clock,
    pub kdf: Kdf,
    pub blobs: BlobStore,
}

pub type AppState = Arc<Casemail>;

impl Casemail {
    /// Opens (creating if needed) the data directory and database and applies migrations.
    pub async fn open(config: Config, clock: Clock) -> anyhow::Result<AppState> {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("cannot create data directory {}", config.data_dir.display())
        })?;
        let store = Store::connect(&config.database_url())
            .await
            .context("cannot open the database")?;
        store.migrate().await.context("cannot apply migrations")?;
        // Two cores: two concurrent password derivations keep both busy while bounding
        // memory (argon2 19 MiB + scrypt 32 MiB each).
        let kdf = Kdf::new(std::thread::available_parallelism().map_or(2, |n| n.get()));
        let blobs = BlobStore::new(&config.data_dir.join("blobs"))
            .context("cannot create the blob directory")?;
        Ok(Arc::new(Self {
            blobs,
            store,
            config,
            clock,
            kdf,
        }))
    }
}

/// Serves on `listener` until `shutdown` resolves, with periodic removal of expired
/// sessions in the background.
pub async fn serve(
    app: AppState,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let sweeper = tokio::spawn(sweep_sessions(app.clone()));
    let scheduler = app
        .config
        .scheduled_jobs
        .then(|| tokio::spawn(run_scheduled_jobs(app.clone())));
    let router = crate::web::router(app);
    let result = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    sweeper.abort();
    if let Some(scheduler) = scheduler {
        scheduler.abort();
    }
    result.context("server failed")
}

async fn sweep_sessions(app: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(300));
    loop {
        every.tick().await;
        let now = app.clock.now();
        match app
            .store
            .delete_expired_sessions(now, app.config.session_idle_seconds())
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "removed expired sessions"),
            Err(error) => tracing::warn!(%error, "could not remove expired sessions"),
        }
    }
}

/// Notification email every half minute; the inactivity policy every ten minutes (the
/// job lock makes one instance run it when several share a database).
async fn run_scheduled_jobs(app: AppState) {
    let holder = uuid::Uuid::new_v4().to_string();
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    let mut ticks: u64 = 0;
    loop {
        tick.tick().await;
        if ticks.is_multiple_of(20)
            && let Err(error) = app.run_inactivity_policy(&holder, app.clock.now()).await
        {
            tracing::warn!(%error, "inactivity policy run failed");
        }
        if let Err(error) = app.deliver_notifications().await {
            tracing::warn!(%error, "notification delivery failed");
        }
        ticks += 1;
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
