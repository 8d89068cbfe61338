//! The gateway to secure mail domains: mail exchanged with the mail systems of the
//! domains service administrators list, through a mail server in front (Postfix) that
//! does what mail servers are made for: queues, retries, TLS to the other side.
//!
//! - `socketmap`: the mail server asks Casemail which domains and recipients it serves,
//!   which senders it accepts, where each secure domain's mail goes and what TLS it must
//!   meet, live from the database (Postfix's socketmap protocol).
//! - `lmtp`: the mail server hands inbound mail (and its delivery reports) to Casemail.
//! - `inbound`: each message is authenticated (SPF, DKIM, DMARC), parsed and encrypted on
//!   arrival to its addressees' keys; nothing of it is kept in clear.
//! - `outbound`: letters queued by `mail` (sealed to the gateway's key) are opened and
//!   handed to the mail server, asking for delivery reports, which come back over LMTP.
//!
//! Off unless `CASEMAIL_GATEWAY` is set: then Casemail is a closed system.

mod authentication;
mod domains;
mod inbound;
mod lmtp;
mod outbound;
mod socketmap;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::UserIdentity;
use crate::mail::{GatewayKey, Mail};
use crate::store::{BlobStore, Store};

pub use domains::{DomainDraft, DomainProblem, ReachableDomain};
pub use inbound::{Arrival, Refusal};

#[derive(Clone)]
pub struct Gateway {
    store: Store,
    blobs: BlobStore,
    config: Arc<Config>,
    clock: Clock,
    mail: Mail,
    /// Opens letters queued to leave; present only when the gateway is on.
    identity: Option<Arc<UserIdentity>>,
    /// This instance's name on the rows it claims.
    holder: Arc<str>,
}

/// Reads the gateway's identity, making it (mode 0600) on first start.
pub fn load_identity(path: &Path) -> anyhow::Result<UserIdentity> {
    if let Ok(text) = std::fs::read_to_string(path) {
        return UserIdentity::from_secret_text(&text)
            .with_context(|| format!("{} does not hold an age identity", path.display()));
    }
    let identity = UserIdentity::generate();
    crate::crypto::write_identity_file(
        path,
        "Casemail gateway identity: opens letters queued to leave for secure domains.\n\
         Every instance needs this same file; keep it as secret as the database password.",
        &identity.recipient(),
        &identity.secret_text(),
    )
    .with_context(|| format!("cannot create {}", path.display()))?;
    tracing::warn!(
        "Generated the gateway's key in {}: every instance needs this file",
        path.display()
    );
    Ok(identity)
}

impl Gateway {
    pub fn new(
        store: Store,
        blobs: BlobStore,
        config: Arc<Config>,
        clock: Clock,
        mail: Mail,
        identity: Option<UserIdentity>,
    ) -> Self {
        Self {
            store,
            blobs,
            config,
            clock,
            mail,
            identity: identity.map(Arc::new),
            holder: Arc::from(uuid::Uuid::new_v4().to_string()),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.identity.is_some()
    }

    /// Letters to secure domains not yet relayed or failed (for metrics).
    pub async fn waiting(&self) -> anyhow::Result<i64> {
        Ok(self.store.outbound_waiting().await?)
    }

    /// What the mail service needs to seal letters for the gateway.
    pub fn key_for_mail(identity: &UserIdentity, config: &Config) -> GatewayKey {
        GatewayKey {
            recipient: identity.recipient(),
            hostname: config.gateway.gateway_hostname.clone(),
            max_bytes: config.gateway.max_message_bytes(),
        }
    }

    /// Serves LMTP and the socketmap on their loopback addresses until dropped.
    pub async fn serve(&self) -> anyhow::Result<GatewayListeners> {
        let settings = &self.config.gateway;
        let lmtp = tokio::net::TcpListener::bind(settings.gateway_lmtp_bind)
            .await
            .with_context(|| format!("cannot listen for LMTP on {}", settings.gateway_lmtp_bind))?;
        let socketmap = tokio::net::TcpListener::bind(settings.gateway_socketmap_bind)
            .await
            .with_context(|| {
                format!(
                    "cannot listen for table lookups on {}",
                    settings.gateway_socketmap_bind
                )
            })?;
        tracing::info!(
            lmtp = %settings.gateway_lmtp_bind,
            socketmap = %settings.gateway_socketmap_bind,
            "gateway to secure mail domains is on"
        );
        Ok(GatewayListeners(vec![
            tokio::spawn(accept(self.clone(), lmtp, "LMTP", lmtp::session)),
            tokio::spawn(accept(
                self.clone(),
                socketmap,
                "socketmap",
                socketmap::answer,
            )),
        ]))
    }
}

/// Serves each connection of `listener` with `session` in a task of its own.
async fn accept<F, Fut>(
    gateway: Gateway,
    listener: tokio::net::TcpListener,
    what: &'static str,
    session: F,
) where
    F: Fn(Gateway, tokio::net::TcpStream) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let served = session(gateway.clone(), stream);
                tokio::spawn(async move {
                    if let Err(error) = served.await {
                        tracing::debug!(%error, what, "gateway connection ended");
                    }
                });
            }
            Err(error) => tracing::warn!(%error, what, "gateway: cannot accept a connection"),
        }
    }
}

/// The gateway's listeners; they stop when this is dropped.
pub struct GatewayListeners(Vec<tokio::task::JoinHandle<()>>);

impl Drop for GatewayListeners {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}
