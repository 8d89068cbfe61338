//! Storage for the gateway: the secure domains, the people at them (external accounts),
//! the outbound queue, and the Internet Message-IDs that thread replies from outside.

use sqlx::FromRow;

use super::{Backend, Change, Store, StoreResult};

/// A secure domain as stored.
#[derive(FromRow, Debug, Clone)]
pub struct SecureDomainRow {
    pub id: i64,
    pub domain: String,
    pub organisation_id: i64,
    pub organisation: String,
    pub tls_policy: String,
    pub fingerprint: Option<String>,
    pub next_hop: Option<String>,
    pub dkim_failure: String,
    pub created_at: i64,
}

pub struct NewSecureDomain<'a> {
    pub domain: &'a str,
    pub organisation_id: i64,
    pub tls_policy: &'a str,
    pub fingerprint: Option<&'a str>,
    pub next_hop: Option<&'a str>,
    pub dkim_failure: &'a str,
}

/// A letter waiting to go out, as the sender claims it.
#[derive(FromRow, Debug, Clone)]
pub struct OutboundRow {
    pub id: i64,
    pub message_id: i64,
    pub recipient: String,
    pub blob_id: String,
    pub attempts: i64,
}

/// Where a letter to someone outside stands, for the sender's timeline.
#[derive(FromRow, Debug, Clone)]
pub struct OutboundState {
    pub id: i64,
    pub message_id: i64,
    pub recipient_id: i64,
    pub recipient: String,
    pub state: String,
    pub detail: String,
    pub updated_at: i64,
    pub sender_id: i64,
}

const DOMAIN_COLUMNS: &str = "d.id, d.domain, d.organisation_id, o.name AS organisation, \
     d.tls_policy, d.fingerprint, d.next_hop, d.dkim_failure, d.created_at";

impl Store {
    pub async fn secure_domains(&self) -> StoreResult<Vec<SecureDomainRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {DOMAIN_COLUMNS} FROM secure_domains d \
             JOIN organisations o ON o.id = d.organisation_id ORDER BY d.domain"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn secure_domain(&self, domain: &str) -> StoreResult<Option<SecureDomainRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {DOMAIN_COLUMNS} FROM secure_domains d \
             JOIN organisations o ON o.id = d.organisation_id WHERE d.domain = $1"
        ))
        .bind(domain)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The secure domain whose mail goes to this next hop (`host:port`), for TLS policy
    /// lookups keyed by the next hop.
    pub async fn secure_domain_by_next_hop(
        &self,
        next_hop: &str,
    ) -> StoreResult<Option<SecureDomainRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {DOMAIN_COLUMNS} FROM secure_domains d \
             JOIN organisations o ON o.id = d.organisation_id WHERE d.next_hop = $1 \
             ORDER BY d.domain LIMIT 1"
        ))
        .bind(next_hop)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Whether Casemail's own people (or teams) have addresses at `domain`.
    pub async fn serves_domain(&self, domain: &str) -> StoreResult<bool> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT domain FROM local_domains WHERE domain = $1")
                .bind(domain)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    /// The Casemail message and thread an Internet Message-ID names.
    pub async fn message_by_internet_id(
        &self,
        internet_id: &str,
    ) -> StoreResult<Option<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT id, thread_id FROM messages WHERE internet_id = $1 ORDER BY id LIMIT 1",
        )
        .bind(internet_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The Internet Message-ID a message was sent or received under, if it crossed the
    /// gateway.
    pub async fn internet_id_of(&self, message_id: i64) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar::<_, Option<String>>(
            "SELECT internet_id FROM messages WHERE id = $1",
        )
        .bind(message_id)
        .fetch_optional(&self.pool)
        .await?
        .flatten())
    }

    /// Claims letters that are due to be handed to the mail server, as notifications are
    /// claimed.
    pub async fn claim_outbound(
        &self,
        holder: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<OutboundRow>> {
        let skip_locked = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        Ok(sqlx::query_as(&format!(
            "UPDATE outbound_mail SET claimed_by = $1, claimed_until = $2 \
             WHERE id IN (SELECT id FROM outbound_mail \
                          WHERE state = 'queued' AND next_attempt_at <= $3 AND claimed_until <= $3 \
                          ORDER BY next_attempt_at, id LIMIT $4 {skip_locked}) \
             RETURNING id, message_id, \
               (SELECT email FROM users WHERE users.id = outbound_mail.recipient_id) AS recipient, \
               blob_id, attempts"
        ))
        .bind(holder)
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The letters waiting to be handed over (for metrics).
    pub async fn outbound_waiting(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbound_mail WHERE state IN ('queued', 'handed', 'delayed')",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Where each letter of a message to someone outside stands.
    pub async fn outbound_of_message(&self, message_id: i64) -> StoreResult<Vec<OutboundState>> {
        Ok(sqlx::query_as(
            "SELECT b.id, b.message_id, b.recipient_id, u.email AS recipient, b.state, b.detail, \
             b.updated_at, m.sender_id FROM outbound_mail b \
             JOIN users u ON u.id = b.recipient_id JOIN messages m ON m.id = b.message_id \
             WHERE b.message_id = $1 ORDER BY u.email",
        )
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn outbound(&self, id: i64) -> StoreResult<Option<OutboundState>> {
        Ok(sqlx::query_as(
            "SELECT b.id, b.message_id, b.recipient_id, u.email AS recipient, b.state, b.detail, \
             b.updated_at, m.sender_id FROM outbound_mail b \
             JOIN users u ON u.id = b.recipient_id JOIN messages m ON m.id = b.message_id \
             WHERE b.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The sealed letter a queued row hands over.
    pub async fn outbound_blob(&self, id: i64) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT blob_id FROM outbound_mail WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Records a failed hand-over: retried at `retry_at`, or given up when None.
    pub async fn outbound_not_handed(
        &self,
        id: i64,
        holder: &str,
        detail: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbound_mail SET attempts = attempts + 1, detail = $1, \
             next_attempt_at = COALESCE($2, next_attempt_at), \
             state = CASE WHEN $2 IS NULL THEN 'failed' ELSE state END, \
             claimed_until = 0, updated_at = $3 WHERE id = $4 AND claimed_by = $5",
        )
        .bind(detail)
        .bind(retry_at)
        .bind(now)
        .bind(id)
        .bind(holder)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Notes the domain of one of Casemail's own addresses (a person's or a team's).
pub(super) async fn note_local_domain(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    email: &str,
) -> StoreResult<()> {
    if let Some((_, domain)) = email.rsplit_once('@') {
        sqlx::query("INSERT INTO local_domains (domain) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(domain.to_ascii_lowercase())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

impl Change {
    pub async fn add_secure_domain(
        &mut self,
        new: &NewSecureDomain<'_>,
    ) -> StoreResult<Option<i64>> {
        let now = self.now();
        let added: Result<(i64,), sqlx::Error> = sqlx::query_as(
            "INSERT INTO secure_domains (domain, organisation_id, tls_policy, fingerprint, \
             next_hop, dkim_failure, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(new.domain)
        .bind(new.organisation_id)
        .bind(new.tls_policy)
        .bind(new.fingerprint)
        .bind(new.next_hop)
        .bind(new.dkim_failure)
        .bind(now)
        .fetch_one(self.conn())
        .await;
        match added {
            Ok((id,)) => Ok(Some(id)),
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn remove_secure_domain(&mut self, id: i64) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("DELETE FROM secure_domains WHERE id = $1 RETURNING domain")
                .bind(id)
                .fetch_optional(self.conn())
                .await?,
        )
    }

    /// The account of a person at a secure domain, made on first use: it can never sign
    /// in (no password, no keys). Returns its id.
    pub async fn external_account(
        &mut self,
        organisation_id: i64,
        email: &str,
        name: &str,
    ) -> StoreResult<i64> {
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE email = $1 AND is_external = 1")
                .bind(email)
                .fetch_optional(self.conn())
                .await?;
        if let Some(id) = existing {
            return Ok(id);
        }
        let now = self.now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (organisation_id, email, name, is_admin, status, is_external, \
             public_recipient, created_at, password_changed_at) \
             VALUES ($1, $2, $3, 0, 'active', 1, '', $4, $4) RETURNING id",
        )
        .bind(organisation_id)
        .bind(email)
        .bind(name)
        .bind(now)
        .fetch_one(self.conn())
        .await?;
        super::directory::index_entry(self.tx(), id).await?;
        Ok(id)
    }

    pub async fn queue_outbound(
        &mut self,
        message_id: i64,
        recipient_id: i64,
        blob_id: &str,
    ) -> StoreResult<i64> {
        let now = self.now();
        Ok(sqlx::query_scalar(
            "INSERT INTO outbound_mail (message_id, recipient_id, blob_id, state, next_attempt_at, \
             created_at, updated_at) VALUES ($1, $2, $3, 'queued', $4, $4, $4) RETURNING id",
        )
        .bind(message_id)
        .bind(recipient_id)
        .bind(blob_id)
        .bind(now)
        .fetch_one(self.conn())
        .await?)
    }

    /// Moves a letter on (handed over, relayed, delayed, failed) with what the mail server
    /// said; a report about a letter already relayed or failed changes nothing. Returns
    /// whether it changed.
    pub async fn outbound_reached(
        &mut self,
        id: i64,
        state: &str,
        detail: &str,
    ) -> StoreResult<bool> {
        let now = self.now();
        let changed = sqlx::query(
            "UPDATE outbound_mail SET state = $1, detail = $2, updated_at = $3, claimed_until = 0 \
             WHERE id = $4 AND state NOT IN ('relayed', 'failed')",
        )
        .bind(state)
        .bind(detail)
        .bind(now)
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(changed.rows_affected() > 0)
    }

    pub async fn set_received_via(
        &mut self,
        message_id: i64,
        received_via: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE messages SET received_via = $1 WHERE id = $2")
            .bind(received_via)
            .bind(message_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn set_internet_id(&mut self, message_id: i64, internet_id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE messages SET internet_id = $1 WHERE id = $2")
            .bind(internet_id)
            .bind(message_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
