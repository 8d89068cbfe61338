//! Blobs as objects in an S3-compatible store (through `object_store`), so that several
//! instances share them. A blob goes up as it is written (one request for a small one, a
//! multipart upload of 8 MiB parts, two at a time, for a large one) and becomes visible
//! only when the upload completes; it comes down as a stream.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
};
use tokio::io::AsyncWriteExt;
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::config::ObjectStorage;

/// Bytes per part of a multipart upload (S3 needs at least 5 MiB for all but the last).
const PART: usize = 8 * 1024 * 1024;

/// Parts in flight at once: memory stays near `PART * (UPLOADS + 1)` per upload.
const UPLOADS: usize = 2;

const PREFIX: &str = "blobs";

/// The object store could not be reached or refused a request: the attachment is not
/// lost (nothing was committed without it), and the person is told to try again.
#[derive(Debug, thiserror::Error)]
#[error("the attachment store cannot be reached: {0}")]
pub struct BlobStoreUnreachable(String);

#[derive(Clone)]
pub struct ObjectBlobs {
    store: Arc<AmazonS3>,
}

/// An upload in progress. Dropped before `complete`, it is aborted.
pub struct ObjectWriter {
    bridge: Option<SyncIoBridge<BufWriter>>,
}

fn path(id: &str) -> Path {
    Path::from(format!("{PREFIX}/{id}"))
}

fn io_error(error: object_store::Error) -> std::io::Error {
    match error {
        object_store::Error::NotFound { .. } => std::io::ErrorKind::NotFound.into(),
        other => std::io::Error::other(BlobStoreUnreachable(other.to_string())),
    }
}

impl ObjectBlobs {
    pub fn new(settings: &ObjectStorage) -> anyhow::Result<Self> {
        let endpoint = settings.s3_endpoint.clone().unwrap_or_default();
        let options = ClientOptions::new()
            .with_allow_http(endpoint.starts_with("http://"))
            // A download of a large attachment may take minutes: no overall limit, but a
            // connection that stops moving is given up.
            .with_timeout_disabled()
            .with_connect_timeout(Duration::from_secs(5))
            .with_read_timeout(Duration::from_secs(60));
        let store = AmazonS3Builder::new()
            .with_client_options(options)
            .with_endpoint(endpoint)
            .with_bucket_name(settings.s3_bucket.clone().unwrap_or_default())
            .with_region(&settings.s3_region)
            .with_access_key_id(settings.s3_access_key_id.clone().unwrap_or_default())
            .with_secret_access_key(settings.s3_secret_access_key.clone().unwrap_or_default())
            // A store that is down is reported within seconds, not after minutes of
            // retries, so the person can be told while they wait.
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 2,
                retry_timeout: Duration::from_secs(10),
            })
            .build()?;
        Ok(Self {
            store: Arc::new(store),
        })
    }

    pub(super) fn create(&self, id: &str) -> std::io::Result<ObjectWriter> {
        let store: Arc<dyn ObjectStore> = self.store.clone();
        let writer = BufWriter::with_capacity(store, path(id), PART).with_max_concurrency(UPLOADS);
        Ok(ObjectWriter {
            bridge: Some(SyncIoBridge::new(writer)),
        })
    }

    pub(super) async fn open(
        &self,
        id: &str,
    ) -> std::io::Result<impl std::io::Read + Send + 'static> {
        let object = self.store.get(&path(id)).await.map_err(io_error)?;
        let stream = object.into_stream().map_err(io_error);
        Ok(SyncIoBridge::new(StreamReader::new(stream)))
    }

    pub(super) async fn delete(&self, id: &str) -> std::io::Result<()> {
        match self.store.delete(&path(id)).await {
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            other => other.map_err(io_error),
        }
    }

    pub(super) async fn list(&self) -> std::io::Result<Vec<(String, SystemTime)>> {
        let prefix = Path::from(PREFIX);
        let mut listing = self.store.list(Some(&prefix));
        let mut blobs = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(io_error)?;
            if let Some(id) = meta.location.filename()
                && super::valid_id(id)
            {
                blobs.push((id.to_string(), meta.last_modified.into()));
            }
        }
        Ok(blobs)
    }

    /// Reads the bucket: an object that is not there is an answer too.
    pub(super) async fn check(&self) -> std::io::Result<()> {
        match self.store.head(&Path::from("readiness-check")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(io_error(error)),
        }
    }

    /// Stores a small object whole (tests and tools).
    pub async fn put_whole(&self, id: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        self.store
            .put(&path(id), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(io_error)
    }
}

impl ObjectWriter {
    /// Finishes the upload: the object becomes visible whole, or not at all.
    pub(super) async fn complete(mut self) -> std::io::Result<()> {
        let Some(bridge) = self.bridge.take() else {
            return Err(std::io::Error::other("the upload was already finished"));
        };
        let mut writer = bridge.into_inner();
        writer
            .shutdown()
            .await
            .map_err(|error| std::io::Error::other(BlobStoreUnreachable(error.to_string())))
    }
}

impl std::io::Write for ObjectWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.bridge {
            Some(bridge) => bridge
                .write(buf)
                .map_err(|error| std::io::Error::other(BlobStoreUnreachable(error.to_string()))),
            None => Err(std::io::Error::other("the upload was already finished")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Parts go up as they fill; completing the upload sends the rest.
        Ok(())
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        if let Some(bridge) = self.bridge.take()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            let mut writer = bridge.into_inner();
            handle.spawn(async move {
                if let Err(error) = writer.abort().await {
                    tracing::warn!(%error, "could not abort an unfinished attachment upload");
                }
            });
        }
    }
}
