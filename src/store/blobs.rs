//! The blob store: attachment ciphertext as files under the data directory. Files are
//! written under a temporary name and renamed into place once complete and synced, so a
//! blob that exists is whole.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Buffer for blob reads and writes: large enough that age's 64 KiB chunks stream
/// without extra system calls.
const BUFFER: usize = 256 * 1024;

#[derive(Clone)]
pub struct BlobStore {
    root: PathBuf,
}

/// A blob being written; `commit` makes it visible, dropping it removes the partial file.
pub struct PendingBlob {
    pub id: String,
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl BlobStore {
    pub fn new(root: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    fn path(&self, id: &str) -> Option<PathBuf> {
        // Ids are our own UUIDs; anything else cannot name a file.
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(self.root.join(&id[..2]).join(id))
    }

    pub fn create(&self) -> std::io::Result<(PendingBlob, BufWriter<File>)> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let target = self
            .path(&id)
            .ok_or_else(|| std::io::Error::other("bad blob id"))?;
        let temp = self.root.join("tmp").join(&id);
        let file = File::create(&temp)?;
        Ok((
            PendingBlob {
                id,
                temp,
                target,
                committed: false,
            },
            BufWriter::with_capacity(BUFFER, file),
        ))
    }

    pub fn open(&self, id: &str) -> std::io::Result<BufReader<File>> {
        let path = self
            .path(id)
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))?;
        Ok(BufReader::with_capacity(BUFFER, File::open(path)?))
    }

    /// Removes a blob; one that is already gone is not an error.
    pub fn delete(&self, id: &str) -> std::io::Result<()> {
        match self.path(id).map(std::fs::remove_file) {
            Some(Err(error)) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

impl BlobStore {
    /// Every committed blob with the time it was last written, for the orphan sweep.
    pub fn list(&self) -> std::io::Result<Vec<(String, SystemTime)>> {
        let mut blobs = Vec::new();
        for shard in std::fs::read_dir(&self.root)? {
            let shard = shard?;
            let name = shard.file_name();
            if name == "tmp" || !shard.file_type()?.is_dir() {
                continue;
            }
            for blob in std::fs::read_dir(shard.path())? {
                let blob = blob?;
                let id = blob.file_name().to_string_lossy().into_owned();
                if self.path(&id).is_some() {
                    blobs.push((id, blob.metadata()?.modified()?));
                }
            }
        }
        Ok(blobs)
    }

    /// Removes partial files of uploads not written to since `before`: an upload that is
    /// still moving touches its file at least every idle limit.
    pub fn remove_stale_partials(&self, before: SystemTime) -> std::io::Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(self.root.join("tmp"))? {
            let entry = entry?;
            if entry.metadata()?.modified()? < before {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => return Err(error),
                }
            }
        }
        Ok(removed)
    }
}

impl PendingBlob {
    /// Syncs the finished file and moves it into place.
    pub fn commit(mut self, writer: BufWriter<File>) -> std::io::Result<String> {
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        if let Some(dir) = self.target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(&self.temp, &self.target)?;
        self.committed = true;
        Ok(self.id.clone())
    }
}

impl Drop for PendingBlob {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
