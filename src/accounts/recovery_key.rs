//! The deployment's recovery key: every identity is also wrapped to its public half, whose
//! secret half the key custodians keep offline. Generated on first start unless configured.

use std::path::PathBuf;

use anyhow::Context;
use secrecy::SecretString;

use super::Accounts;
use crate::crypto::{generate_recovery_key_pair, parse_recipient};
use crate::store::settings;

impl Accounts {
    /// The recovery recipient new wraps are made for: configuration first, else the one
    /// generated for this deployment.
    pub async fn recovery_recipient(&self) -> anyhow::Result<String> {
        if let Some(configured) = &self.config.recovery_recipient {
            return Ok(configured.clone());
        }
        self.store
            .setting(settings::RECOVERY_RECIPIENT)
            .await?
            .context("no recovery recipient: configure CASEMAIL_RECOVERY_RECIPIENT")
    }

    /// Makes sure a recovery recipient exists. When none is configured or stored, generates
    /// a pair and returns the file holding the secret half, which must go offline.
    pub async fn ensure_recovery_key(&self) -> anyhow::Result<Option<PathBuf>> {
        if let Some(configured) = &self.config.recovery_recipient {
            parse_recipient(configured)
                .context("CASEMAIL_RECOVERY_RECIPIENT is not an age X25519 public key")?;
            return Ok(None);
        }
        if self
            .store
            .setting(settings::RECOVERY_RECIPIENT)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        self.rotate_recovery_key().await.map(Some)
    }

    /// Generates a new recovery pair, stores its public half as the deployment's recipient
    /// and writes the secret half to a new file (never overwriting an earlier one).
    pub async fn rotate_recovery_key(&self) -> anyhow::Result<PathBuf> {
        let (public, secret) = generate_recovery_key_pair();
        let path = self.unused_recovery_path();
        write_secret_file(&path, &public, &secret, self.clock.now())?;
        self.store
            .set_setting(settings::RECOVERY_RECIPIENT, &public)
            .await?;
        Ok(path)
    }

    fn unused_recovery_path(&self) -> PathBuf {
        let first = self.config.recovery_secret_path();
        if !first.exists() {
            return first;
        }
        self.config
            .data_dir
            .join(format!("recovery-identity-{}.txt", self.clock.now()))
    }

    /// A recovery secret file still on this server, which the admin is urged to move.
    pub fn recovery_secret_on_disk(&self) -> Option<PathBuf> {
        let dir = std::fs::read_dir(&self.config.data_dir).ok()?;
        dir.filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|path| {
                path.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("recovery-identity"))
            })
    }
}

fn write_secret_file(
    path: &std::path::Path,
    public: &str,
    secret: &SecretString,
    now: i64,
) -> anyhow::Result<()> {
    crate::crypto::write_identity_file(
        path,
        &format!(
            "Casemail recovery identity, created {}\n\
             Keep this file offline with the key custodians; delete it from the server.",
            crate::clock::display_time(now)
        ),
        public,
        secret,
    )
    .with_context(|| format!("cannot create {}", path.display()))
}
