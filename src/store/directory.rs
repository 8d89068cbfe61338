//! The directory of people registered in the service, and address resolution for mail.

use sqlx::FromRow;

use super::{Store, StoreResult};
use crate::domain::{EmailAddress, OrganisationKind, UserStatus};

#[derive(FromRow)]
pub struct DirectoryEntry {
    pub name: String,
    pub email: String,
    pub organisation: String,
    #[sqlx(try_from = "String")]
    pub organisation_kind: OrganisationKind,
    /// 1 for a team mailbox (shown as a team, not a person).
    pub is_team: i64,
}

impl DirectoryEntry {
    pub fn is_team(&self) -> bool {
        self.is_team != 0
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
}

impl AddressRecord {
    /// A team mailbox: its letters await an answer from the team, and its members are
    /// told of them.
    pub fn is_team(&self) -> bool {
        self.is_team != 0
    }

    pub fn can_receive(&self) -> bool {
        self.status == UserStatus::Active
    }
}

impl Store {
    /// Active, listed people whose name, address or organisation contains `query`.
    pub async fn directory_search(
        &self,
        query: &str,
        limit: i64,
    ) -> StoreResult<Vec<DirectoryEntry>> {
        let pattern = format!("%{}%", escape_like(&query.trim().to_lowercase()));
        let rows = sqlx::query_as(
            "SELECT u.name, u.email, o.name AS organisation, o.kind AS organisation_kind, u.is_team \
             FROM users u JOIN organisations o ON o.id = u.organisation_id \
             WHERE u.status = 'active' AND u.ex_directory = 0 \
               AND (LOWER(u.name) LIKE $1 ESCAPE '\\' OR u.email LIKE $1 ESCAPE '\\' \
                    OR LOWER(o.name) LIKE $1 ESCAPE '\\') \
             ORDER BY o.name, u.name LIMIT $2",
        )
        .bind(pattern)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    pub async fn address_record(&self, email: &EmailAddress) -> StoreResult<Option<AddressRecord>> {
        let row = sqlx::query_as(
            "SELECT id, email, name, status, public_recipient, is_team FROM users WHERE email = $1",
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
        let placeholders: Vec<String> = (1..=emails.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT id, email, name, status, public_recipient, is_team FROM users WHERE email IN ({})",
            placeholders.join(", ")
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

fn escape_like(input: &str) -> String {
    input
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
