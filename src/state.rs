//! The application state shared by the web layer, the command line, scheduled jobs and
//! tests: the services, configuration and clock. It knows nothing of HTTP.

use std::sync::Arc;

use anyhow::Context;

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
