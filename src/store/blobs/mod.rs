//! The blob store: attachment ciphertext (age streams), as files under the data directory
//! or as objects in an S3-compatible store. Either way a blob is written as it streams in
//! and read as it streams out, never whole in memory, and becomes visible only once it
//! is complete: a blob that exists is whole.
//!
//! Writing and reading use blocking `Write` and `Read` (the age streams are blocking), so
//! they run on blocking threads; creating, opening and committing take the runtime handle
//! they need from the thread they are called on.

mod files;
mod objects;

use std::io::{BufReader, Read, Write};
use std::time::SystemTime;

pub use files::FileBlobs;
pub use objects::{BlobStoreUnreachable, ObjectBlobs};

/// Buffer for blob reads and writes: large enough that age's 64 KiB chunks stream
/// without extra system calls.
const BUFFER: usize = 256 * 1024;

#[derive(Clone)]
pub enum BlobStore {
    Files(FileBlobs),
    Objects(ObjectBlobs),
}

/// A blob being written; `commit` makes it visible. Dropped uncommitted, its partial
/// data is removed.
pub struct PendingBlob {
    pub id: String,
    files: Option<files::PendingFile>,
}

/// Where a blob's bytes go while it is written.
pub enum BlobWriter {
    File(std::io::BufWriter<std::fs::File>),
    Object(Box<objects::ObjectWriter>),
}

/// A blob's bytes as they stream out.
pub type BlobReader = BufReader<Box<dyn Read + Send>>;

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::File(file) => file.write(buf),
            Self::Object(object) => object.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::File(file) => file.flush(),
            Self::Object(object) => object.flush(),
        }
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Ids are our own UUIDs (32 hexadecimal digits); anything else names no blob.
fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

impl BlobStore {
    /// Starts a new blob.
    pub fn create(&self) -> std::io::Result<(PendingBlob, BlobWriter)> {
        self.create_named(new_id())
    }

    /// Starts a blob under an id it had before (a restore from a backup).
    pub fn create_named(&self, id: String) -> std::io::Result<(PendingBlob, BlobWriter)> {
        if !valid_id(&id) {
            return Err(std::io::Error::other("not a blob id"));
        }
        match self {
            Self::Files(files) => {
                let (pending, writer) = files.create(&id)?;
                Ok((
                    PendingBlob {
                        id,
                        files: Some(pending),
                    },
                    BlobWriter::File(writer),
                ))
            }
            Self::Objects(objects) => Ok((
                PendingBlob {
                    id: id.clone(),
                    files: None,
                },
                BlobWriter::Object(Box::new(objects.create(&id)?)),
            )),
        }
    }

    /// Opens a blob for reading (from an async task).
    pub async fn open(&self, id: &str) -> std::io::Result<BlobReader> {
        if !valid_id(id) {
            return Err(std::io::ErrorKind::NotFound.into());
        }
        let reader: Box<dyn Read + Send> = match self {
            Self::Files(files) => Box::new(files.open(id)?),
            Self::Objects(objects) => Box::new(objects.open(id).await?),
        };
        Ok(BufReader::with_capacity(BUFFER, reader))
    }

    /// Opens a blob for reading from a blocking thread.
    pub fn open_blocking(&self, id: &str) -> std::io::Result<BlobReader> {
        tokio::runtime::Handle::current().block_on(self.open(id))
    }

    /// Removes a blob; one that is already gone is not an error.
    pub async fn delete(&self, id: &str) -> std::io::Result<()> {
        if !valid_id(id) {
            return Ok(());
        }
        match self {
            Self::Files(files) => files.delete(id),
            Self::Objects(objects) => objects.delete(id).await,
        }
    }

    /// Removes a blob without waiting (from `Drop`): at once for files, in a task for
    /// objects. Failures are logged; the orphan sweep removes what is left.
    pub fn delete_soon(&self, id: &str) {
        let id = id.to_string();
        match self {
            Self::Files(files) => {
                if let Err(error) = files.delete(&id) {
                    tracing::warn!(%error, "could not remove an undelivered attachment");
                }
            }
            Self::Objects(objects) => {
                let objects = objects.clone();
                if let Ok(handle) = tokio::runtime::Handle::try_current() {
                    handle.spawn(async move {
                        if let Err(error) = objects.delete(&id).await {
                            tracing::warn!(%error, "could not remove an undelivered attachment");
                        }
                    });
                }
            }
        }
    }

    /// Every committed blob with the time it was written, for the orphan sweep.
    pub async fn list(&self) -> std::io::Result<Vec<(String, SystemTime)>> {
        match self {
            Self::Files(files) => {
                let files = files.clone();
                tokio::task::spawn_blocking(move || files.list())
                    .await
                    .map_err(std::io::Error::other)?
            }
            Self::Objects(objects) => objects.list().await,
        }
    }

    /// Removes partial uploads not written to since `before`. Objects have none to remove
    /// here: an upload that is given up is aborted, and one cut short by a crash is the
    /// object store's to expire (see the README).
    pub async fn remove_stale_partials(&self, before: SystemTime) -> std::io::Result<usize> {
        match self {
            Self::Files(files) => {
                let files = files.clone();
                tokio::task::spawn_blocking(move || files.remove_stale_partials(before))
                    .await
                    .map_err(std::io::Error::other)?
            }
            Self::Objects(_) => Ok(0),
        }
    }

    /// Whether the store can be reached and read (for readiness).
    pub async fn check(&self) -> std::io::Result<()> {
        match self {
            Self::Files(files) => files.check(),
            Self::Objects(objects) => objects.check().await,
        }
    }
}

impl PendingBlob {
    /// Finishes the blob and makes it visible under its id: a synced file renamed into
    /// place, or a completed upload.
    pub async fn commit(mut self, writer: BlobWriter) -> std::io::Result<String> {
        match (writer, self.files.take()) {
            (BlobWriter::File(file), Some(pending)) => {
                tokio::task::spawn_blocking(move || pending.commit(file))
                    .await
                    .map_err(std::io::Error::other)??;
            }
            (BlobWriter::Object(object), None) => (*object).complete().await?,
            _ => return Err(std::io::Error::other("a blob finished in the wrong store")),
        }
        Ok(self.id.clone())
    }

    /// `commit` from a blocking thread.
    pub fn commit_blocking(self, writer: BlobWriter) -> std::io::Result<String> {
        tokio::runtime::Handle::current().block_on(self.commit(writer))
    }
}
