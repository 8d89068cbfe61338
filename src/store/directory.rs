//! The directory of people registered in the service, and address resolution for mail.

use sqlx::FromRow;

use super::{Store, StoreResult};
use crate::domain::{
    EmailAddress, OrganisationKind, UserStatus, directory_query, directory_terms, prefix_end,
};

#[derive(FromRow)]
pub struct DirectoryEntry {
    pub name: String,
    pub email: String,
    pub organisation: String,
    #[sqlx(try_from = "String")]
    pub organisation_kind: OrganisationKind,
    /// 1 for a team mailbox (shown as a team, not a person).
    pub is_team: i64,
    /// 1 for a person at a secure domain outside Casemail.
    pub is_external: i64,
}

impl DirectoryEntry {
    pub fn is_team(&self) -> bool {
        self.is_team != 0
    }

    pub fn is_external(&self) -> bool {
        self.is_external != 0
    }
}

/// An addressee of a message: who they are, whether they can receive, and their public key.
#[derive(FromRow, Clone, Debug)]
pub struct AddressRecord {
    pub id: i64,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub status: UserStatus,
    pub public_recipient: String,
    pub is_team: i64,
    /// 1 for a person at a secure domain outside Casemail (reached through the gateway).
    pub is_external: i64,
}

impl AddressRecord {
    /// A person outside Casemail: mail to them leaves through the gateway.
    pub fn is_external(&self) -> bool {
        self.is_external != 0
    }

    /// A team mailbox: its letters await an answer from the team, and its members are
    /// told of them.
    pub fn is_team(&self) -> bool {
        self.is_team != 0
    }

    pub fn can_receive(&self) -> bool {
        self.status == UserStatus::Active
    }
}

/// How many index rows a query's first word may read: a short prefix common to many
/// people ("a") gives the first this many, not everyone.
const CANDIDATES: i64 = 2000;

/// The setting that says every account made before the index existed is in it.
const INDEX_BUILT: &str = "directory_terms_built";

const ENTRY_COLUMNS: &str = "u.name, u.email, o.name AS organisation, \
     o.kind AS organisation_kind, u.is_team, u.is_external";

impl Store {
    /// Active, listed people each of whose query words begins a word of their name,
    /// address or organisation (the first `limit` by organisation and name, among the
    /// first matches of the query's longest word). With no words, the first people by name.
    pub async fn directory_search(
        &self,
        query: &str,
        limit: i64,
    ) -> StoreResult<Vec<DirectoryEntry>> {
        let words = directory_query(query);
        let Some((first, others)) = words.split_first() else {
            let rows = sqlx::query_as(&format!(
                "SELECT {ENTRY_COLUMNS} FROM users u JOIN organisations o ON o.id = u.organisation_id \
                 WHERE u.status = 'active' AND u.ex_directory = 0 ORDER BY u.name LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
            return Ok(rows);
        };
        let mut also = String::new();
        for n in 0..others.len() {
            let (low, high) = (4 + 2 * n, 5 + 2 * n);
            also.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM directory_terms t WHERE t.user_id = u.id \
                 AND t.term >= ${low} AND t.term < ${high})"
            ));
        }
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM \
               (SELECT DISTINCT user_id FROM \
                  (SELECT user_id FROM directory_terms WHERE term >= $1 AND term < $2 LIMIT $3) f) c \
             JOIN users u ON u.id = c.user_id JOIN organisations o ON o.id = u.organisation_id \
             WHERE u.status = 'active' AND u.ex_directory = 0{also} \
             ORDER BY o.name, u.name LIMIT ${}",
            4 + 2 * others.len()
        );
        let mut select = sqlx::query_as(&sql)
            .bind(first.clone())
            .bind(prefix_end(first))
            .bind(CANDIDATES);
        for word in others {
            select = select.bind(word.clone()).bind(prefix_end(word));
        }
        Ok(select.bind(limit).fetch_all(&self.pool).await?)
    }

    /// Indexes every account made before the directory had an index (once, at the first
    /// start after the migration that made it).
    pub async fn build_directory_index(&self) -> StoreResult<u64> {
        if self.setting(INDEX_BUILT).await?.is_some() {
            return Ok(0);
        }
        let mut indexed = 0;
        let mut after = 0;
        loop {
            let ids: Vec<i64> =
                sqlx::query_scalar("SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT 1000")
                    .bind(after)
                    .fetch_all(&self.pool)
                    .await?;
            let Some(last) = ids.last() else { break };
            after = *last;
            let mut tx = self.pool.begin().await?;
            for id in &ids {
                index_entry(&mut tx, *id).await?;
            }
            tx.commit().await?;
            indexed += ids.len() as u64;
        }
        self.set_setting(INDEX_BUILT, "1").await?;
        Ok(indexed)
    }

    pub async fn address_record(&self, email: &EmailAddress) -> StoreResult<Option<AddressRecord>> {
        let row = sqlx::query_as(
            "SELECT id, email, name, status, public_recipient, is_team, is_external FROM users \
             WHERE email = $1",
        )
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    /// The records of several addresses in one round trip; unknown addresses are absent.
    pub async fn address_records(&self, emails: &[&str]) -> StoreResult<Vec<AddressRecord>> {
        if emails.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, email, name, status, public_recipient, is_team, is_external FROM users \
             WHERE email IN ({})",
            super::numbered_placeholders(1, emails.len())
        );
        let mut query = sqlx::query_as(&sql);
        for email in emails {
            query = query.bind(*email);
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    pub async fn is_ex_directory(&self, user_id: i64) -> StoreResult<bool> {
        let (flag,): (i64,) = sqlx::query_as("SELECT ex_directory FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(flag != 0)
    }
}

/// Writes an account's directory terms (replacing any it had).
pub(super) async fn index_entry(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: i64,
) -> StoreResult<()> {
    let entry: Option<(String, String, String)> = sqlx::query_as(
        "SELECT u.name, u.email, o.name FROM users u \
         JOIN organisations o ON o.id = u.organisation_id WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM directory_terms WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    let Some((name, email, organisation)) = entry else {
        return Ok(());
    };
    let terms: Vec<String> = directory_terms(&name, &email, &organisation)
        .into_iter()
        .collect();
    let rows: Vec<String> = (0..terms.len())
        .map(|n| format!("(${}, ${})", 2 * n + 1, 2 * n + 2))
        .collect();
    let sql = format!(
        "INSERT INTO directory_terms (term, user_id) VALUES {}",
        rows.join(", ")
    );
    let mut insert = sqlx::query(&sql);
    for term in terms {
        insert = insert.bind(term).bind(user_id);
    }
    insert.execute(&mut **tx).await?;
    Ok(())
}
