//! Telling a full or read-only disk, or an object store that does not answer, apart from
//! other failures, so that people are told what happened (and keep what they typed)
//! instead of seeing a generic error.

use super::StoreError;
use super::blobs::BlobStoreUnreachable;

/// Why storage could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageTrouble {
    /// The disk is full, over quota or read-only (the database's or the blobs').
    Full,
    /// The object store that keeps attachments does not answer.
    Unreachable,
}

/// What `error`, or anything it was caused by, says about storage, if anything.
pub fn storage_trouble(error: &(dyn std::error::Error + 'static)) -> Option<StorageTrouble> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = cause {
        if error.downcast_ref::<BlobStoreUnreachable>().is_some() {
            return Some(StorageTrouble::Unreachable);
        }
        if let Some(StoreError::Database(database)) = error.downcast_ref::<StoreError>()
            && sqlx_unavailable(database)
        {
            return Some(StorageTrouble::Full);
        }
        if let Some(database) = error.downcast_ref::<sqlx::Error>()
            && sqlx_unavailable(database)
        {
            return Some(StorageTrouble::Full);
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            if io_unavailable(io) {
                return Some(StorageTrouble::Full);
            }
            // An error wrapped in an io::Error is its payload, not its source.
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<BlobStoreUnreachable>().is_some())
            {
                return Some(StorageTrouble::Unreachable);
            }
        }
        cause = error.source();
    }
    None
}

/// Whether storage cannot be used at all just now (either kind of trouble).
pub fn storage_unavailable(error: &(dyn std::error::Error + 'static)) -> bool {
    storage_trouble(error).is_some()
}

fn io_unavailable(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::StorageFull | ErrorKind::ReadOnlyFilesystem | ErrorKind::QuotaExceeded
    )
}

fn sqlx_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(io) => io_unavailable(io),
        sqlx::Error::Database(database) => {
            let code = database.code().unwrap_or_default();
            if database
                .try_downcast_ref::<sqlx::sqlite::SqliteError>()
                .is_some()
            {
                // SQLite's result code, primary code in the low byte: READONLY (8), an
                // I/O error writing (10), FULL (13).
                code.parse::<i64>()
                    .is_ok_and(|sqlite| matches!(sqlite & 0xff, 8 | 10 | 13))
            } else {
                // PostgreSQL's SQLSTATE: disk_full, read_only_sql_transaction, io_error.
                matches!(code.as_ref(), "53100" | "25006" | "58030")
            }
        }
        _ => false,
    }
}
