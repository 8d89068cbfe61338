//! Command line and environment. Every option has a `CASEMAIL_…` variable; options that
//! may carry secrets also accept `…_FILE` naming a file to read the value from.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand};

mod gateway;
mod object_storage;

pub use gateway::GatewaySettings;
pub use object_storage::{BlobBackend, ObjectStorage};

#[derive(Debug, Parser)]
#[command(
    name = "casemail",
    version,
    about = "Secure webmail for criminal-justice correspondence"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web application (the default when no command is given).
    Serve,
    /// Seed a demo deployment (a fiscal office, two defence firms, users of each role),
    /// print the demo passwords, then serve.
    Demo,
    /// Administration from the command line.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Recovery key management.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Back up the deployment (its database and attachments) into a new directory, while
    /// it serves: one consistent snapshot, as encrypted as the deployment itself.
    Backup {
        /// The directory to write (new, or empty).
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup into this deployment's database and attachment store, which must
    /// be new (no accounts yet), then verify the audit chain. Works across backends.
    Restore {
        /// The backup's directory.
        #[arg(long)]
        from: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the whole chain and report OK with the count and head, or the first break and
    /// how the chain was changed. Exits non-zero when broken.
    Verify {
        /// A head remembered from `casemail audit head` (SEQ:HASH), to detect a truncated
        /// or rewritten chain.
        #[arg(long)]
        head: Option<String>,
    },
    /// Print the current head (SEQ:HASH) to keep outside the database.
    Head,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a service administrator (for scripted installs). The password is read from
    /// CASEMAIL_ADMIN_PASSWORD, --password-file, or standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// The service operator organisation, created if it does not exist.
        #[arg(long, default_value = "Casemail service")]
        organisation: String,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Recover one account with the offline recovery identity, on a machine of the key
    /// custodians' choosing (with access to the database): the person's keys are
    /// re-wrapped to a temporary password, printed here, which they must change when they
    /// sign in. Recorded in the audit trail. The identity is read from --identity-file or
    /// standard input, never from an argument.
    Recover {
        /// The account's email address.
        #[arg(long)]
        email: String,
        /// The file holding the secret half of the recovery key (AGE-SECRET-KEY-1…).
        #[arg(long)]
        identity_file: Option<PathBuf>,
    },
    /// Generate a new recovery key pair: the public half becomes the deployment's recovery
    /// recipient, the secret half is written to a file for the key custodians to take
    /// offline. Accounts are re-wrapped to the new recipient as their owners sign in.
    RecoveryNew,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (coloured only on a terminal).
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

#[derive(Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "CASEMAIL_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Directory for the embedded database, blobs and generated key files.
    #[arg(long, env = "CASEMAIL_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB.
    /// Default: sqlite://<data-dir>/casemail.db
    #[arg(long, env = "CASEMAIL_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// File holding the database URL (for URLs that contain a password).
    #[arg(long, env = "CASEMAIL_DATABASE_URL_FILE")]
    pub database_url_file: Option<PathBuf>,

    /// The address people use to reach the service, used in links printed to the log and
    /// in email. An https:// address also turns on Secure cookies and HSTS.
    /// Default: http://<bind>
    #[arg(long, env = "CASEMAIL_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// The deployment's recovery recipient (an age X25519 public key, age1…). Without it,
    /// first start generates a pair and writes the secret half under the data directory.
    #[arg(long, env = "CASEMAIL_RECOVERY_RECIPIENT")]
    pub recovery_recipient: Option<String>,

    /// File holding the recovery recipient.
    #[arg(long, env = "CASEMAIL_RECOVERY_RECIPIENT_FILE")]
    pub recovery_recipient_file: Option<PathBuf>,

    /// Minutes without a request after which a session ends.
    #[arg(long, env = "CASEMAIL_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: i64,

    /// Hours after sign-in at which a session ends, however active.
    #[arg(long, env = "CASEMAIL_SESSION_MAX_HOURS", default_value_t = 12)]
    pub session_max_hours: i64,

    /// Largest attachment accepted, in MiB.
    #[arg(long, env = "CASEMAIL_MAX_ATTACHMENT_MB", default_value_t = 1024)]
    pub max_attachment_mb: u64,

    /// Space one person's attachments may take, in MiB (what they have sent and what waits
    /// in their drafts of uploads).
    #[arg(long, env = "CASEMAIL_STORAGE_QUOTA_MB", default_value_t = 4096)]
    pub storage_quota_mb: u64,

    /// Seconds a request body may pause before the upload is given up. Uploads have no
    /// overall limit, so a large file on a slow link arrives as long as it keeps moving.
    #[arg(long, env = "CASEMAIL_IDLE_READ_SECONDS", default_value_t = 30)]
    pub idle_read_seconds: u64,

    /// Seconds a request without a body (a page, a download) may take before it is cut.
    #[arg(long, env = "CASEMAIL_REQUEST_SECONDS", default_value_t = 60)]
    pub request_seconds: u64,

    /// Days without signing in before an account is locked (an admin unlocks it).
    #[arg(long, env = "CASEMAIL_LOCK_AFTER_DAYS", default_value_t = 30)]
    pub lock_after_days: i64,

    /// Days without signing in before an account is suspended (an admin reactivates it).
    #[arg(long, env = "CASEMAIL_SUSPEND_AFTER_DAYS", default_value_t = 90)]
    pub suspend_after_days: i64,

    /// Days without signing in before an account is deleted and its keys destroyed.
    #[arg(long, env = "CASEMAIL_DELETE_AFTER_DAYS", default_value_t = 180)]
    pub delete_after_days: i64,

    /// SMTP relay for notification email, e.g. smtp://relay.example:587?tls=required or
    /// smtp://user:password@host:25. Without it, notifications are written to
    /// <data-dir>/outbox and the log.
    #[arg(long, env = "CASEMAIL_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// File holding the SMTP URL (it may contain a password).
    #[arg(long, env = "CASEMAIL_SMTP_URL_FILE")]
    pub smtp_url_file: Option<PathBuf>,

    /// Sender address of notification email.
    #[arg(
        long,
        env = "CASEMAIL_SMTP_FROM",
        default_value = "Casemail <casemail@localhost>"
    )]
    pub smtp_from: String,

    /// Require a second factor (TOTP) of every user, not only of administrators.
    #[arg(long, env = "CASEMAIL_REQUIRE_SECOND_FACTOR", value_parser = BoolishValueParser::new())]
    pub require_second_factor: bool,

    /// Require administrators to sign in with a passkey: once they have one, authenticator
    /// codes are refused for them (recovery codes still work), and an administrator without
    /// one must add one before anything else. Needs CASEMAIL_PUBLIC_URL to name a domain.
    #[arg(long, env = "CASEMAIL_ADMINS_REQUIRE_PASSKEY", value_parser = BoolishValueParser::new())]
    pub admins_require_passkey: bool,

    /// Run scheduled jobs (inactivity policy, notification email) in this instance. With
    /// several instances any may run them; a database lock makes one do each run.
    #[arg(long, env = "CASEMAIL_SCHEDULED_JOBS", default_value_t = true, action = clap::ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub scheduled_jobs: bool,

    /// Seed the demo deployment on first start (an empty database).
    #[arg(long, env = "CASEMAIL_DEMO", value_parser = BoolishValueParser::new())]
    pub demo: bool,

    /// Take the client address from the last X-Forwarded-For entry (only behind a proxy
    /// that sets it).
    #[arg(long, env = "CASEMAIL_TRUST_FORWARDED_FOR", value_parser = BoolishValueParser::new())]
    pub trust_forwarded_for: bool,

    /// The time zone times are shown in (an IANA name; the rules, clock changes included,
    /// are built in).
    #[arg(long, env = "CASEMAIL_TIME_ZONE", default_value = crate::clock::DEFAULT_TIME_ZONE)]
    pub time_zone: String,

    /// Log format: text (coloured only on a terminal) or json (one object per line).
    #[arg(long, env = "CASEMAIL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Address to serve Prometheus metrics on (/metrics), apart from the address people
    /// use, e.g. 127.0.0.1:9100. Unset: no metrics are served.
    #[arg(long, env = "CASEMAIL_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,

    #[command(flatten)]
    pub object_storage: ObjectStorage,

    #[command(flatten)]
    pub gateway: GatewaySettings,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_ref().map(|_| "<redacted>"),
            )
            .field("public_url", &self.public_url)
            .field("recovery_recipient", &self.recovery_recipient)
            .field("session_idle_minutes", &self.session_idle_minutes)
            .field("session_max_hours", &self.session_max_hours)
            .field("max_attachment_mb", &self.max_attachment_mb)
            .field("storage_quota_mb", &self.storage_quota_mb)
            .field("idle_read_seconds", &self.idle_read_seconds)
            .field("request_seconds", &self.request_seconds)
            .field("lock_after_days", &self.lock_after_days)
            .field("suspend_after_days", &self.suspend_after_days)
            .field("delete_after_days", &self.delete_after_days)
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "<redacted>"))
            .field("smtp_from", &self.smtp_from)
            .field("demo", &self.demo)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("time_zone", &self.time_zone)
            .field("log_format", &self.log_format)
            .field("metrics_bind", &self.metrics_bind)
            .field("object_storage", &self.object_storage)
            .field("gateway", &self.gateway)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Settles values given as files and checks the ones that cannot be checked by type.
    pub fn resolve(mut self) -> Result<Self, ConfigError> {
        if self.database_url.is_none()
            && let Some(path) = &self.database_url_file
        {
            self.database_url = Some(read_trimmed(path)?);
        }
        if self.recovery_recipient.is_none()
            && let Some(path) = &self.recovery_recipient_file
        {
            self.recovery_recipient = Some(read_trimmed(path)?);
        }
        if self.smtp_url.is_none()
            && let Some(path) = &self.smtp_url_file
        {
            self.smtp_url = Some(read_trimmed(path)?);
        }
        self.object_storage.resolve()?;
        self.inactivity_policy()
            .validate()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        crate::clock::time_zone(&self.time_zone).map_err(ConfigError::Invalid)?;
        if self.idle_read_seconds < 1 || self.request_seconds < 1 {
            return Err(ConfigError::Invalid(
                "the idle read and request limits must be at least one second".into(),
            ));
        }
        if self.session_idle_minutes < 1 || self.session_max_hours < 1 {
            return Err(ConfigError::Invalid(
                "session limits must be at least one minute and one hour".into(),
            ));
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::Invalid(
                "CASEMAIL_PUBLIC_URL must start with http:// or https://".into(),
            ));
        }
        // Set explicitly: behind a proxy the default address is not the one people use,
        // and administrators could never add the passkey they are required to have.
        if self.admins_require_passkey
            && (self.public_url.is_none() || self.passkey_domain().is_none())
        {
            return Err(ConfigError::Invalid(
                "CASEMAIL_ADMINS_REQUIRE_PASSKEY needs CASEMAIL_PUBLIC_URL set to the address \
                 people use, with a domain name (passkeys cannot belong to an IP address)"
                    .into(),
            ));
        }
        Ok(self)
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("casemail.db").display()))
    }

    /// The address people use. Unset, a server on a loopback address is reached as
    /// `localhost` (a name, so passkeys work there; browsers treat it as secure).
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| {
                if self.bind.ip().is_loopback() {
                    format!("http://localhost:{}", self.bind.port())
                } else {
                    format!("http://{}", self.bind)
                }
            })
            .trim_end_matches('/')
            .to_string()
    }

    /// The domain passkeys belong to: the public address's host, if it is a name.
    pub fn passkey_domain(&self) -> Option<String> {
        let url = webauthn_rs::prelude::Url::parse(&self.public_url()).ok()?;
        url.domain().map(str::to_ascii_lowercase)
    }

    /// Whether people reach the service over TLS (Secure cookies, HSTS).
    pub fn is_https(&self) -> bool {
        self.public_url().starts_with("https://")
    }

    pub fn session_idle_seconds(&self) -> i64 {
        self.session_idle_minutes * 60
    }

    pub fn session_max_seconds(&self) -> i64 {
        self.session_max_hours * 3600
    }

    pub fn inactivity_policy(&self) -> crate::domain::InactivityPolicy {
        crate::domain::InactivityPolicy {
            lock_after_days: self.lock_after_days,
            suspend_after_days: self.suspend_after_days,
            delete_after_days: self.delete_after_days,
            ..crate::domain::InactivityPolicy::default()
        }
    }

    pub fn max_attachment_bytes(&self) -> u64 {
        self.max_attachment_mb.saturating_mul(1024 * 1024)
    }

    pub fn storage_quota_bytes(&self) -> u64 {
        self.storage_quota_mb.saturating_mul(1024 * 1024)
    }

    pub fn recovery_secret_path(&self) -> PathBuf {
        self.data_dir.join("recovery-identity.txt")
    }

    /// Defaults for a server on `bind` storing under `data_dir`; used by tests and tools.
    pub fn for_data_dir(data_dir: &Path) -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_path_buf(),
            database_url: None,
            database_url_file: None,
            public_url: None,
            recovery_recipient: None,
            recovery_recipient_file: None,
            session_idle_minutes: 30,
            session_max_hours: 12,
            max_attachment_mb: 1024,
            storage_quota_mb: 4096,
            idle_read_seconds: 30,
            request_seconds: 60,
            lock_after_days: 30,
            suspend_after_days: 90,
            delete_after_days: 180,
            time_zone: crate::clock::DEFAULT_TIME_ZONE.to_string(),
            smtp_url: None,
            smtp_url_file: None,
            smtp_from: "Casemail <casemail@localhost>".into(),
            scheduled_jobs: true,
            require_second_factor: false,
            admins_require_passkey: false,
            demo: false,
            trust_forwarded_for: false,
            log_format: LogFormat::Text,
            metrics_bind: None,
            object_storage: ObjectStorage::default(),
            gateway: GatewaySettings::default(),
        }
    }
}

fn read_trimmed(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|source| ConfigError::ReadFile {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_server_is_reached_by_name_so_passkeys_can_work() {
        let mut config = Config::for_data_dir(Path::new("data"));
        config.bind = SocketAddr::from(([127, 0, 0, 1], 8080));
        assert_eq!(config.public_url(), "http://localhost:8080");
        assert_eq!(config.passkey_domain().as_deref(), Some("localhost"));
        config.public_url = Some("https://10.0.0.5".into());
        assert_eq!(
            config.passkey_domain(),
            None,
            "no passkeys for an IP address"
        );
    }

    #[test]
    fn requiring_passkeys_of_administrators_needs_the_address_people_use() {
        let mut config = Config::for_data_dir(Path::new("data"));
        config.admins_require_passkey = true;
        assert!(
            config.clone().resolve().is_err(),
            "the default address is a guess"
        );
        config.public_url = Some("https://casemail.example.gov.uk".into());
        assert!(config.resolve().is_ok());
    }
}
