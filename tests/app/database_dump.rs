//! Everything the database holds, as raw bytes, for tests that prove a secret or a
//! plaintext never reaches storage: the SQLite file with its WAL, or a pg_dump.

use crate::helpers::{Backend, TestApp};

pub async fn raw_bytes(app: &TestApp) -> Vec<u8> {
    match app.database.backend {
        Backend::Sqlite => {
            let mut bytes = Vec::new();
            for suffix in ["", "-wal", "-shm"] {
                let path = app.dir.path().join(format!("casemail.db{suffix}"));
                if let Ok(content) = std::fs::read(&path) {
                    bytes.extend(content);
                }
            }
            assert!(!bytes.is_empty(), "the SQLite files were found");
            bytes
        }
        Backend::Postgres => {
            let output = std::process::Command::new("pg_dump")
                .arg("--data-only")
                .arg(&app.database.url)
                .output()
                .unwrap_or_else(|e| panic!("pg_dump must be installed: {e}"));
            assert!(output.status.success(), "pg_dump failed: {:?}", output);
            output.stdout
        }
    }
}

/// Whether `needle` occurs in `haystack` as bytes or as PostgreSQL's hex text of bytea.
pub fn contains(haystack: &[u8], needle: &str) -> bool {
    let raw = needle.as_bytes();
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    haystack.windows(raw.len()).any(|w| w == raw)
        || haystack.windows(hex.len()).any(|w| w == hex.as_bytes())
}
