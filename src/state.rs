//! The application state shared by the web layer, the command line, scheduled jobs and
//! tests: one value per service, the configuration and the clock. It knows nothing of HTTP;
//! the store is reached only through the services.

use std::sync::Arc;

use anyhow::Context;

use crate::accounts::Accounts;
use crate::admin::Administration;
use crate::audit::Audit;
use crate::auth::Kdf;
use crate::backup::Backups;
use crate::cases::Cases;
use crate::clock::Clock;
use crate::config::BlobBackend;
use crate::config::Config;
use crate::directory::Directory;
use crate::gateway::Gateway;
use crate::intake::Intake;
use crate::lifecycle::Lifecycle;
use crate::mail::Mail;
use crate::notifications::Notifications;
use crate::plea::Plea;
use crate::search::Search;
use crate::second_factor::SecondFactor;
use crate::store::{BlobStore, FileBlobs, ObjectBlobs, Store};

pub struct Casemail {
    pub config: Arc<Config>,
    pub clock: Clock,
    pub accounts: Accounts,
    pub second_factor: SecondFactor,
    pub lifecycle: Lifecycle,
    pub admin: Administration,
    pub audit: Audit,
    pub notifications: Notifications,
    pub directory: Directory,
    pub mail: Mail,
    pub search: Search,
    pub intake: Intake,
    pub cases: Cases,
    pub plea: Plea,
    pub backups: Backups,
    pub gateway: Gateway,
    store: Store,
    blobs: BlobStore,
}

pub type AppState = Arc<Casemail>;

impl Casemail {
    /// Opens (creating if needed) the data directory and database, applies migrations and
    /// builds the services.
    pub async fn open(config: Config, clock: Clock) -> anyhow::Result<AppState> {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("cannot create data directory {}", config.data_dir.display())
        })?;
        if let Ok(zone) = crate::clock::time_zone(&config.time_zone) {
            crate::clock::set_display_zone(zone);
        }
        let store = Store::connect(&config.database_url())
            .await
            .context("cannot open the database")?;
        store.migrate().await.context("cannot apply migrations")?;
        let indexed = store
            .build_directory_index()
            .await
            .context("cannot index the directory")?;
        if indexed > 0 {
            tracing::info!(accounts = indexed, "indexed the directory");
        }
        let blobs = match config.object_storage.blob_store {
            BlobBackend::Files => BlobStore::Files(
                FileBlobs::new(&config.data_dir.join("blobs"))
                    .context("cannot create the blob directory")?,
            ),
            BlobBackend::S3 => BlobStore::Objects(
                ObjectBlobs::new(&config.object_storage)
                    .context("cannot set up the S3 object store")?,
            ),
        };
        // Two cores: two concurrent password derivations keep both busy while bounding
        // memory (argon2 19 MiB + scrypt 32 MiB each).
        let kdf = Kdf::new(std::thread::available_parallelism().map_or(2, |n| n.get()));
        let config = Arc::new(config);
        let audit = Audit::new(store.clone());
        let lifecycle = Lifecycle::new(store.clone(), config.clone(), clock.clone());
        let gateway_identity = if config.gateway.enabled {
            Some(crate::gateway::load_identity(
                &config.gateway.identity_file(&config.data_dir),
            )?)
        } else {
            None
        };
        let mut mail = Mail::new(
            store.clone(),
            blobs.clone(),
            config.clone(),
            clock.clone(),
            audit.clone(),
        );
        if let Some(identity) = &gateway_identity {
            mail = mail.with_gateway(Gateway::key_for_mail(identity, &config));
        }
        let gateway = Gateway::new(
            store.clone(),
            blobs.clone(),
            config.clone(),
            clock.clone(),
            mail.clone(),
            gateway_identity,
        );
        let intake = Intake::new(store.clone(), clock.clone());
        Ok(Arc::new(Self {
            accounts: Accounts::new(store.clone(), config.clone(), clock.clone(), kdf),
            second_factor: SecondFactor::new(store.clone(), config.clone(), clock.clone())?,
            admin: Administration::new(
                store.clone(),
                config.clone(),
                clock.clone(),
                lifecycle.clone(),
            ),
            notifications: Notifications::new(store.clone(), config.clone(), clock.clone()),
            directory: Directory::new(store.clone()),
            search: Search::new(store.clone(), intake.clone(), mail.clone()),
            cases: Cases::new(store.clone(), clock.clone(), mail.clone(), intake.clone()),
            intake,
            plea: Plea::new(store.clone(), clock.clone(), mail.clone()),
            backups: Backups::new(store.clone(), blobs.clone(), audit.clone()),
            gateway,
            lifecycle,
            audit,
            mail,
            store: store.clone(),
            blobs,
            config,
            clock,
        }))
    }

    /// What this instance cannot reach, for the readiness probe: None when the database
    /// and the blob store both answer.
    pub async fn unready(&self) -> Option<&'static str> {
        if let Err(error) = self.store.ping().await {
            tracing::warn!(%error, "readiness check: the database does not answer");
            return Some("database unavailable");
        }
        if let Err(error) = self.blobs.check().await {
            tracing::warn!(%error, "readiness check: the blob store does not answer");
            return Some("blob store unavailable");
        }
        None
    }

    /// Which database this instance uses, for the start-up log.
    pub fn backend_name(&self) -> &'static str {
        self.store.backend().name()
    }

    /// Folds the database's write-ahead log into the database file.
    pub async fn checkpoint(&self) -> anyhow::Result<()> {
        Ok(self.store.checkpoint().await?)
    }

    pub async fn refresh_statistics(&self) -> anyhow::Result<()> {
        Ok(self.store.refresh_statistics().await?)
    }

    /// Closes the database connections (tests stopping a server).
    pub async fn close(&self) {
        self.store.close().await;
    }
}
