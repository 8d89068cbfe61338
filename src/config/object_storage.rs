//! Where attachment ciphertext is kept: files under the data directory (the default), or
//! an S3-compatible object store shared by every instance.

use std::path::PathBuf;

use clap::Args;

/// The kind of blob store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BlobBackend {
    /// Files under <data-dir>/blobs: one machine.
    Files,
    /// An S3-compatible object store (CASEMAIL_S3_…): several instances share it.
    S3,
}

#[derive(Clone, Args)]
pub struct ObjectStorage {
    /// Where attachments are kept: files (under the data directory) or s3.
    #[arg(long, env = "CASEMAIL_BLOB_STORE", value_enum, default_value_t = BlobBackend::Files)]
    pub blob_store: BlobBackend,

    /// The S3 service's address, e.g. https://s3.eu-west-2.amazonaws.com or
    /// http://127.0.0.1:8014 for a store on this machine.
    #[arg(long, env = "CASEMAIL_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// The bucket attachments go in (it must exist).
    #[arg(long, env = "CASEMAIL_S3_BUCKET")]
    pub s3_bucket: Option<String>,

    /// The bucket's region.
    #[arg(long, env = "CASEMAIL_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    /// Access key id for the bucket.
    #[arg(long, env = "CASEMAIL_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,

    /// Secret access key for the bucket.
    #[arg(long, env = "CASEMAIL_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,

    /// File holding the secret access key.
    #[arg(long, env = "CASEMAIL_S3_SECRET_ACCESS_KEY_FILE")]
    pub s3_secret_access_key_file: Option<PathBuf>,
}

impl std::fmt::Debug for ObjectStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStorage")
            .field("blob_store", &self.blob_store)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_bucket", &self.s3_bucket)
            .field("s3_region", &self.s3_region)
            .field("s3_access_key_id", &self.s3_access_key_id)
            .field(
                "s3_secret_access_key",
                &self.s3_secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Default for ObjectStorage {
    fn default() -> Self {
        Self {
            blob_store: BlobBackend::Files,
            s3_endpoint: None,
            s3_bucket: None,
            s3_region: "us-east-1".into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_secret_access_key_file: None,
        }
    }
}

impl ObjectStorage {
    /// Settles the secret given as a file and checks that S3 has what it needs.
    pub(super) fn resolve(&mut self) -> Result<(), super::ConfigError> {
        if self.s3_secret_access_key.is_none()
            && let Some(path) = &self.s3_secret_access_key_file
        {
            self.s3_secret_access_key = Some(super::read_trimmed(path)?);
        }
        if self.blob_store == BlobBackend::S3 {
            let missing: Vec<&str> = [
                ("CASEMAIL_S3_ENDPOINT", self.s3_endpoint.is_none()),
                ("CASEMAIL_S3_BUCKET", self.s3_bucket.is_none()),
                ("CASEMAIL_S3_ACCESS_KEY_ID", self.s3_access_key_id.is_none()),
                (
                    "CASEMAIL_S3_SECRET_ACCESS_KEY",
                    self.s3_secret_access_key.is_none(),
                ),
            ]
            .into_iter()
            .filter_map(|(name, absent)| absent.then_some(name))
            .collect();
            if !missing.is_empty() {
                return Err(super::ConfigError::Invalid(format!(
                    "CASEMAIL_BLOB_STORE=s3 needs {}",
                    missing.join(", ")
                )));
            }
        }
        Ok(())
    }
}
