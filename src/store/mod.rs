//! All SQL lives here. One set of queries serves both backends through sqlx's `Any`
//! driver: placeholders are `$n`, integers are 64-bit, timestamps are Unix seconds and
//! flags are 0/1, so the same statement runs on SQLite and PostgreSQL. The backend is
//! chosen from the database URL; each has its own migrations tree.
//!
//! Uses only `domain`.

mod audit;
mod backup;
pub mod blobs;
mod bulk;
mod cases;
mod change;
mod delegations;
mod devices;
mod directory;
mod drafts;
mod gateway;
mod lifecycle;
mod mail;
mod organisations;
mod passkeys;
mod plea;
mod search;
mod second_factor;
mod sessions;
pub mod settings;
mod teams;
mod throttle;
mod unavailable;
mod users;

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection, Executor};

/// How long a pooled connection may sit unused before it is checked on taking it.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

pub use audit::{
    AuditCheckpoint, ChainRow, EventFields, EventFilter, EventRow, GENESIS as AUDIT_GENESIS,
    NewEvent, event_hash,
};
pub use backup::{Cell, ColumnKind, Restore, Snapshot, TableShape};
pub use blobs::{BlobReader, BlobStore, BlobStoreUnreachable, BlobWriter, FileBlobs, ObjectBlobs};
pub use cases::{AccessRequestRow, CaseRow, ParticipantCopy, ParticipantRow};
pub use change::{Change, NewNotification};
pub use delegations::DelegationRow;
pub use directory::{AddressRecord, DirectoryEntry};
pub use drafts::DraftRow;
pub use gateway::{NewSecureDomain, OutboundRow, OutboundState, SecureDomainRow};
pub use lifecycle::{
    InvitationRow, NewInvitation, NotificationRow, PolicyCandidate, QueuedNotification,
};
pub use mail::{
    AddresseeRow, AttachmentRow, Cursor, Delivered, Delivery, MailboxRow, NavigationCounts,
    NewAttachment, NewEntry, ReceiptRow, ReminderRow, SameLetter, ThreadMessageRow,
};
pub use organisations::{AdminUserRow, Organisation, OrganisationListing};
pub use passkeys::{NewPasskey, StoredPasskey};
pub use plea::{NegotiationRow, NewOffer, OfferRow, PleaWrite, PleaWritten};
pub use search::{Reshelved, SearchBounds, UNSPLIT};
pub use second_factor::TotpState;
pub use sessions::{NewSession, SessionUser};
pub use teams::{MemberRow, Membership, NewTeam, TeamRow};
pub use throttle::Reservation;
pub use unavailable::{StorageTrouble, storage_trouble, storage_unavailable};
pub use users::{ActingDelegate, NewUser, SignInRecord, UserAccount};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL (use sqlite://… or postgres://…)")]
    UnsupportedUrl,
    #[error("stored data is not valid: {0}")]
    Corrupt(&'static str),
}

impl StoreError {
    /// Whether the error is a unique-constraint violation (e.g. an email already taken).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Self::Database(e) => e
                .as_database_error()
                .is_some_and(|db| db.is_unique_violation()),
            _ => false,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> StoreResult<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// The database: a connection pool and the backend it talks to.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens the database named by `url`, creating an SQLite file if it does not exist.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        let options: AnyConnectOptions = url.parse()?;
        let pool_options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(10))
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            // A connection in steady use is not pinged before each statement (a round
            // trip each, ten on a conversation's page); one that sat idle is, so a
            // database server restarted in the meantime costs a new connection, not a
            // failed request.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            });
        let pool = match backend {
            Backend::Sqlite => {
                pool_options
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // WAL lets readers proceed during a write; FULL makes every
                            // committed message durable across power loss. No automatic
                            // checkpoints: run inline, one would land on whichever request
                            // commits past the threshold (the tail of message open);
                            // `checkpoint` runs them in the background instead.
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                                 PRAGMA wal_autocheckpoint = 0;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => pool_options.connect_with(options).await?,
        };
        Ok(Self { pool, backend })
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("migrations/sqlite").run(&self.pool).await?;
                // A migration's new index has no statistics while the others have: the
                // planner would take it for the most selective one.
                self.refresh_statistics().await?;
            }
            Backend::Postgres => {
                sqlx::migrate!("migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A cheap round trip, for the readiness probe.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Copies committed pages from SQLite's write-ahead log into the database without
    /// waiting for readers or blocking writers (nothing to do on PostgreSQL).
    pub async fn checkpoint(&self) -> StoreResult<()> {
        self.on_sqlite("PRAGMA wal_checkpoint(PASSIVE)").await
    }

    /// Keeps SQLite's planner statistics in step with the data: tables with an index that
    /// has none, or that grew or shrank tenfold since, are analysed (on a sample, so it
    /// costs milliseconds). PostgreSQL's autovacuum does this itself.
    pub async fn refresh_statistics(&self) -> StoreResult<()> {
        self.on_sqlite("PRAGMA optimize = 0x10002").await
    }

    /// Runs SQLite upkeep that PostgreSQL does for itself (nothing there).
    async fn on_sqlite(&self, statement: &str) -> StoreResult<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query(statement).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Refreshes the query planner's statistics. PostgreSQL's autovacuum does this in
    /// time; a database loaded in bulk (a migration from another system, the benchmark's
    /// seed) needs it at once, or the planner takes a 100,000-row mailbox for a small one.
    pub async fn analyze(&self) -> StoreResult<()> {
        // PostgreSQL: also clear the index entries of rows since changed (intake rewrites
        // every summary once), as autovacuum would; until then partial indexes such as
        // the waiting summaries' keep pointing at dead rows.
        let statement = match self.backend {
            Backend::Postgres => "VACUUM ANALYZE",
            Backend::Sqlite => "ANALYZE",
        };
        sqlx::query(statement).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `$first, $first+1, …`: the placeholders of an IN list of `count` values bound after the
/// query's other parameters.
fn numbered_placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Integer flags are stored as 0/1 on both backends.
fn flag(value: bool) -> i64 {
    i64::from(value)
}
