//! Backing up a deployment while it serves, and restoring it: `casemail backup --to DIR`
//! and `casemail restore --from DIR`.
//!
//! A backup is a directory: `tables/<table>.jsonl` (a line naming the columns, then one
//! JSON array per row), `blobs/<id>` (attachment ciphertext, byte for byte) and
//! `manifest.json`, written last, so a directory without one is an unfinished backup. The
//! tables are read in one snapshot; attachments are never deleted while a message names
//! them, so the blobs the snapshot names are all still there to copy. Everything in it is
//! as encrypted as in the database and blob store: a backup is no easier to read than
//! the deployment, and needs the same care.
//!
//! A restore goes into a database with no accounts and no audit trail yet (a new one), in
//! one transaction, blobs first; then the whole audit chain is verified and must end at
//! the head the backup recorded. The format is the same for both backends, so a backup of
//! an SQLite deployment restores into PostgreSQL (and back).

use std::collections::BTreeMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::audit::Audit;
use crate::store::{BlobStore, Cell, Store, TableShape};

const FORMAT: &str = "casemail-backup-1";

/// Rows written per INSERT statement when restoring.
const ROWS_PER_INSERT: usize = 200;

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub format: String,
    /// The newest migration of the database it came from.
    pub schema_version: i64,
    pub backend: String,
    pub created_at: i64,
    pub tables: BTreeMap<String, u64>,
    pub blobs: u64,
    /// The audit chain's last event (seq, hash), checked after a restore.
    pub audit_head: Option<(i64, String)>,
}

#[derive(Clone)]
pub struct Backups {
    store: Store,
    blobs: BlobStore,
    audit: Audit,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Header {
    columns: Vec<String>,
}

impl Backups {
    pub fn new(store: Store, blobs: BlobStore, audit: Audit) -> Self {
        Self {
            store,
            blobs,
            audit,
        }
    }

    /// Writes a backup into `dir` (new or empty) as of now; returns its manifest.
    pub async fn write(&self, dir: &Path, now: i64) -> anyhow::Result<Manifest> {
        if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
            anyhow::bail!(
                "{} is not empty: give a new directory for the backup",
                dir.display()
            );
        }
        std::fs::create_dir_all(dir.join("tables"))
            .with_context(|| format!("cannot create {}", dir.display()))?;
        std::fs::create_dir_all(dir.join("blobs"))?;
        let shapes = self.store.table_shapes().await?;
        let mut snapshot = self.store.snapshot().await?;
        let mut tables = BTreeMap::new();
        for shape in &shapes {
            let path = dir.join("tables").join(format!("{}.jsonl", shape.name));
            let mut file = BufWriter::new(std::fs::File::create(&path)?);
            let header = Header {
                columns: shape.columns.iter().map(|(c, _)| c.clone()).collect(),
            };
            serde_json::to_writer(&mut file, &header)?;
            file.write_all(b"\n")?;
            let rows = snapshot
                .rows(shape, |cells| {
                    serde_json::to_writer(&mut file, &cells)?;
                    file.write_all(b"\n")
                })
                .await
                .with_context(|| format!("cannot read table {}", shape.name))?;
            file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            tables.insert(shape.name.clone(), rows);
        }
        let blob_ids = snapshot.blob_ids().await?;
        let audit_head = snapshot.audit_head().await?;
        let backend = snapshot.backend().name().to_string();
        snapshot.finish().await?;
        for id in &blob_ids {
            self.copy_out(id, &dir.join("blobs").join(id))
                .await
                .with_context(|| format!("cannot copy attachment {id}"))?;
        }
        let manifest = Manifest {
            format: FORMAT.into(),
            schema_version: self.store.schema_version().await?,
            backend,
            created_at: now,
            tables,
            blobs: blob_ids.len() as u64,
            audit_head,
        };
        let manifest_path = dir.join("manifest.json");
        let mut file = std::fs::File::create(&manifest_path)?;
        serde_json::to_writer_pretty(&mut file, &manifest)?;
        file.sync_all()?;
        Ok(manifest)
    }

    async fn copy_out(&self, id: &str, to: &Path) -> anyhow::Result<()> {
        let blobs = self.blobs.clone();
        let (id, to) = (id.to_string(), to.to_path_buf());
        tokio::task::spawn_blocking(move || {
            let mut reader = blobs.open_blocking(&id)?;
            let mut file = std::fs::File::create(&to)?;
            std::io::copy(&mut reader, &mut file)?;
            file.sync_all()?;
            anyhow::Ok(())
        })
        .await?
    }

    async fn copy_in(&self, from: PathBuf, id: String) -> anyhow::Result<()> {
        let blobs = self.blobs.clone();
        tokio::task::spawn_blocking(move || {
            let mut file = std::io::BufReader::new(std::fs::File::open(&from)?);
            let (pending, mut writer) = blobs.create_named(id)?;
            std::io::copy(&mut file, &mut writer)?;
            pending.commit_blocking(writer)?;
            anyhow::Ok(())
        })
        .await?
    }

    /// Restores the backup in `dir` into this (new) deployment; returns its manifest once
    /// the restored audit chain has been verified to its recorded head.
    pub async fn restore(&self, dir: &Path) -> anyhow::Result<Manifest> {
        let manifest: Manifest = serde_json::from_reader(
            std::fs::File::open(dir.join("manifest.json")).with_context(|| {
                format!(
                    "{} has no manifest.json: it is not a finished Casemail backup",
                    dir.display()
                )
            })?,
        )
        .context("manifest.json cannot be read")?;
        if manifest.format != FORMAT {
            anyhow::bail!(
                "this backup's format ({}) is not one this release reads",
                manifest.format
            );
        }
        let schema = self.store.schema_version().await?;
        if manifest.schema_version != schema {
            anyhow::bail!(
                "this backup was made with database schema {} and this release has schema \
                 {schema}: restore it with the release that made it, then upgrade",
                manifest.schema_version
            );
        }
        let shapes = self.store.table_shapes().await?;
        let counts = self.store.row_counts(&shapes).await?;
        let in_use: Vec<String> = ["users", "audit_events", "messages"]
            .iter()
            .filter(|t| counts.get(**t).copied().unwrap_or(0) > 0)
            .map(|t| t.to_string())
            .collect();
        if !in_use.is_empty() {
            anyhow::bail!(
                "this database is already in use (it has rows in {}): restore into a new, \
                 empty database",
                in_use.join(", ")
            );
        }
        for table in manifest.tables.keys() {
            if !shapes.iter().any(|s| &s.name == table) {
                anyhow::bail!("the backup has a table this database does not: {table}");
            }
        }

        // Blobs first: until the tables commit, nothing names them.
        let blob_dir = dir.join("blobs");
        let mut blobs = 0;
        for entry in std::fs::read_dir(&blob_dir)
            .with_context(|| format!("cannot read {}", blob_dir.display()))?
        {
            let entry = entry?;
            let id = entry.file_name().to_string_lossy().into_owned();
            self.copy_in(entry.path(), id.clone())
                .await
                .with_context(|| format!("cannot restore attachment {id}"))?;
            blobs += 1;
        }
        if blobs != manifest.blobs {
            anyhow::bail!(
                "the backup should hold {} attachments but {blobs} were found",
                manifest.blobs
            );
        }

        let mut restore = self.store.begin_restore().await?;
        // A new database starts with a few rows of its own (the chain's genesis head, a
        // first-start recovery key or setup link): the backup's replace them.
        for shape in shapes.iter().rev() {
            restore.clear(shape).await?;
        }
        for shape in &shapes {
            let Some(expected) = manifest.tables.get(&shape.name) else {
                continue;
            };
            let written = restore_table(&mut restore, shape, dir).await?;
            if written != *expected {
                anyhow::bail!(
                    "table {}: the backup should hold {expected} rows but {written} were read",
                    shape.name
                );
            }
        }
        restore.commit(&shapes).await?;

        let verification = self.audit.verify(manifest.audit_head.clone()).await?;
        if let Some(broken) = verification.broken {
            anyhow::bail!("the restored audit chain does not verify: {broken}");
        }
        if verification.head != manifest.audit_head {
            anyhow::bail!("the restored audit chain does not end where the backup's did");
        }
        Ok(manifest)
    }
}

async fn restore_table(
    restore: &mut crate::store::Restore,
    shape: &TableShape,
    dir: &Path,
) -> anyhow::Result<u64> {
    let path = dir.join("tables").join(format!("{}.jsonl", shape.name));
    let file =
        std::fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = std::io::BufReader::new(file).lines();
    let header: Header = match lines.next() {
        Some(line) => serde_json::from_str(&line?)
            .with_context(|| format!("{}: the first line must name the columns", path.display()))?,
        None => anyhow::bail!("{} is empty", path.display()),
    };
    let mut batch: Vec<Vec<Cell>> = Vec::with_capacity(ROWS_PER_INSERT);
    let mut written = 0;
    for line in lines {
        let row: Vec<Cell> = serde_json::from_str(&line?)
            .with_context(|| format!("{}: a row cannot be read", path.display()))?;
        batch.push(row);
        if batch.len() == ROWS_PER_INSERT {
            restore.insert(shape, &header.columns, &batch).await?;
            written += batch.len() as u64;
            batch.clear();
        }
    }
    restore.insert(shape, &header.columns, &batch).await?;
    written += batch.len() as u64;
    Ok(written)
}
