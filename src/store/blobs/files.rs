//! Blobs as files under the data directory. Files are written under a temporary name and
//! renamed into place once complete and synced, so a file that exists is whole.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{BUFFER, valid_id};

#[derive(Clone)]
pub struct FileBlobs {
    root: PathBuf,
}

/// A file being written under its temporary name.
pub(super) struct PendingFile {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl FileBlobs {
    pub fn new(root: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    fn path(&self, id: &str) -> PathBuf {
        self.root.join(&id[..2]).join(id)
    }

    pub(super) fn create(&self, id: &str) -> std::io::Result<(PendingFile, BufWriter<File>)> {
        let temp = self.root.join("tmp").join(id);
        let file = File::create(&temp)?;
        Ok((
            PendingFile {
                temp,
                target: self.path(id),
                committed: false,
            },
            BufWriter::with_capacity(BUFFER, file),
        ))
    }

    pub(super) fn open(&self, id: &str) -> std::io::Result<File> {
        File::open(self.path(id))
    }

    pub(super) fn delete(&self, id: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(id)) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    pub(super) fn check(&self) -> std::io::Result<()> {
        std::fs::read_dir(self.root.join("tmp")).map(|_| ())
    }

    pub(super) fn list(&self) -> std::io::Result<Vec<(String, SystemTime)>> {
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
                if valid_id(&id) {
                    blobs.push((id, blob.metadata()?.modified()?));
                }
            }
        }
        Ok(blobs)
    }

    /// Removes partial files of uploads not written to since `before`: an upload that is
    /// still moving touches its file at least every idle limit.
    pub(super) fn remove_stale_partials(&self, before: SystemTime) -> std::io::Result<usize> {
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

impl PendingFile {
    /// Syncs the finished file and moves it into place.
    pub(super) fn commit(mut self, writer: BufWriter<File>) -> std::io::Result<()> {
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        if let Some(dir) = self.target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(&self.temp, &self.target)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
