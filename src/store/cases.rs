//! Cases and who takes part in them. Every read is scoped by a participant: a user who is
//! not one sees no case, and none of the threads tagged with it.

use sqlx::FromRow;

use super::{Change, Store, StoreError, StoreResult};
use crate::domain::{CaseStatus, NegotiationState, Side, UserStatus};

/// A case as one participant sees it.
#[derive(Clone, Debug)]
pub struct CaseRow {
    pub id: i64,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub reference: String,
    pub court: String,
    pub status: CaseStatus,
    pub created_at: i64,
    /// The asking user's side and their encrypted copy of the details.
    pub side: Side,
    pub details: Vec<u8>,
    pub plea_state: Option<NegotiationState>,
    /// The team mailbox that holds the case, and its address.
    pub owner_team: Option<(i64, String)>,
}

#[derive(FromRow)]
struct StoredCase {
    id: i64,
    organisation_id: i64,
    organisation_name: String,
    reference: String,
    court: String,
    #[sqlx(try_from = "String")]
    status: CaseStatus,
    created_at: i64,
    #[sqlx(try_from = "String")]
    side: Side,
    details: Vec<u8>,
    plea_state: Option<String>,
    owner_team_id: Option<i64>,
    owner_team_email: Option<String>,
}

impl TryFrom<StoredCase> for CaseRow {
    type Error = StoreError;

    fn try_from(row: StoredCase) -> StoreResult<Self> {
        let plea_state = row
            .plea_state
            .map(|s| NegotiationState::parse(&s))
            .transpose()
            .map_err(|_| StoreError::Corrupt("negotiation state"))?;
        Ok(Self {
            id: row.id,
            organisation_id: row.organisation_id,
            organisation_name: row.organisation_name,
            reference: row.reference,
            court: row.court,
            status: row.status,
            created_at: row.created_at,
            side: row.side,
            details: row.details,
            plea_state,
            owner_team: row.owner_team_id.zip(row.owner_team_email),
        })
    }
}

#[derive(FromRow, Debug, Clone)]
pub struct ParticipantRow {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub organisation: String,
    #[sqlx(try_from = "String")]
    pub side: Side,
    pub added_at: i64,
    pub public_recipient: String,
    #[sqlx(try_from = "String")]
    pub status: UserStatus,
}

#[derive(FromRow)]
pub struct AccessRequestRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub organisation: String,
    pub requested_at: i64,
}

/// A participant's copy of the case details, encrypted to them.
pub struct ParticipantCopy {
    pub user_id: i64,
    pub side: Side,
    pub details: Vec<u8>,
}

const CASE_COLUMNS: &str = "c.id, c.organisation_id, o.name AS organisation_name, c.reference, \
     c.court, c.status, c.created_at, p.side, p.details, n.state AS plea_state, \
     c.owner_team_id, t.email AS owner_team_email";

const CASE_FROM: &str = "FROM cases c JOIN case_participants p ON p.case_id = c.id \
     JOIN organisations o ON o.id = c.organisation_id \
     LEFT JOIN plea_negotiations n ON n.case_id = c.id \
     LEFT JOIN users t ON t.id = c.owner_team_id";

/// Whether a user may see entries tagged with a case: true for untagged entries.
pub(super) const CASE_VISIBLE: &str = "(e.case_id IS NULL OR EXISTS (SELECT 1 FROM \
     case_participants cp WHERE cp.case_id = e.case_id AND cp.user_id = e.user_id))";

impl Change {
    /// Gives a case to a team mailbox of its office (None: to no team).
    pub async fn set_case_team(&mut self, case_id: i64, team_id: Option<i64>) -> StoreResult<()> {
        sqlx::query("UPDATE cases SET owner_team_id = $1 WHERE id = $2")
            .bind(team_id)
            .bind(case_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Creates a case with its first participants. None if the office already has a case
    /// with this reference (drop the change then).
    pub async fn create_case(
        &mut self,
        organisation_id: i64,
        reference: &str,
        court: &str,
        created_by: i64,
        now: i64,
        participants: &[ParticipantCopy],
    ) -> StoreResult<Option<i64>> {
        let inserted: Result<(i64,), sqlx::Error> = sqlx::query_as(
            "INSERT INTO cases (organisation_id, reference, court, status, created_by, created_at) \
             VALUES ($1, $2, $3, 'open', $4, $5) RETURNING id",
        )
        .bind(organisation_id)
        .bind(reference)
        .bind(court)
        .bind(created_by)
        .bind(now)
        .fetch_one(self.conn())
        .await;
        let case_id = match inserted {
            Ok((id,)) => id,
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        for copy in participants {
            sqlx::query(
                "INSERT INTO case_participants (case_id, user_id, side, added_by, added_at, details) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(case_id)
            .bind(copy.user_id)
            .bind(copy.side.as_str())
            .bind(created_by)
            .bind(now)
            .bind(&copy.details)
            .execute(self.conn())
            .await?;
        }
        Ok(Some(case_id))
    }
}

impl Store {
    pub async fn case_for_user(&self, user_id: i64, case_id: i64) -> StoreResult<Option<CaseRow>> {
        let row: Option<StoredCase> = sqlx::query_as(&format!(
            "SELECT {CASE_COLUMNS} {CASE_FROM} WHERE p.user_id = $1 AND c.id = $2"
        ))
        .bind(user_id)
        .bind(case_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    pub async fn cases_for_user(&self, user_id: i64) -> StoreResult<Vec<CaseRow>> {
        let rows: Vec<StoredCase> = sqlx::query_as(&format!(
            "SELECT {CASE_COLUMNS} {CASE_FROM} WHERE p.user_id = $1 \
             ORDER BY c.status DESC, c.created_at DESC LIMIT 1000"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Replaces a participant's copy of case details with the same details re-sealed under
    /// their mailbox key, unless the copy has changed meanwhile (details edited).
    pub async fn reseal_case_copy(
        &self,
        user_id: i64,
        case_id: i64,
        was: &[u8],
        resealed: &[u8],
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE case_participants SET details = $1 \
             WHERE user_id = $2 AND case_id = $3 AND details = $4",
        )
        .bind(resealed)
        .bind(user_id)
        .bind(case_id)
        .bind(was)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn participants(&self, case_id: i64) -> StoreResult<Vec<ParticipantRow>> {
        let rows = sqlx::query_as(
            "SELECT u.id AS user_id, u.name, u.email, o.name AS organisation, p.side, p.added_at, \
             u.public_recipient, u.status FROM case_participants p \
             JOIN users u ON u.id = p.user_id JOIN organisations o ON o.id = u.organisation_id \
             WHERE p.case_id = $1 ORDER BY p.side DESC, u.name",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Active staff of an organisation, with their public keys.
    pub async fn active_staff(&self, organisation_id: i64) -> StoreResult<Vec<(i64, String)>> {
        let rows = sqlx::query_as(
            "SELECT id, public_recipient FROM users WHERE organisation_id = $1 AND status = 'active' \
             AND is_team = 0 AND is_external = 0",
        )
        .bind(organisation_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    pub async fn find_case(
        &self,
        organisation_id: i64,
        reference: &str,
    ) -> StoreResult<Option<i64>> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM cases WHERE organisation_id = $1 AND reference = $2")
                .bind(organisation_id)
                .bind(reference)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id,)| id))
    }

    pub async fn pending_access_requests(
        &self,
        case_id: i64,
    ) -> StoreResult<Vec<AccessRequestRow>> {
        let rows = sqlx::query_as(
            "SELECT r.id, r.user_id, u.name, u.email, o.name AS organisation, r.requested_at \
             FROM case_access_requests r JOIN users u ON u.id = r.user_id \
             JOIN organisations o ON o.id = u.organisation_id \
             WHERE r.case_id = $1 AND r.status = 'pending' ORDER BY r.requested_at",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Everyone holding a copy of any message in a thread.
    pub async fn thread_members(&self, thread_id: i64) -> StoreResult<Vec<(i64, String)>> {
        let rows = sqlx::query_as(
            "SELECT DISTINCT u.id, u.email FROM mailbox_entries e JOIN users u ON u.id = e.user_id \
             WHERE e.thread_id = $1",
        )
        .bind(thread_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    pub async fn thread_case(&self, thread_id: i64) -> StoreResult<Option<i64>> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT case_id FROM threads WHERE id = $1")
                .bind(thread_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|(c,)| c))
    }

    pub async fn message_case(&self, message_id: i64) -> StoreResult<Option<i64>> {
        let row: Option<(Option<i64>,)> = sqlx::query_as(
            "SELECT t.case_id FROM messages m JOIN threads t ON t.id = m.thread_id WHERE m.id = $1",
        )
        .bind(message_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|(c,)| c))
    }
}

impl Change {
    /// Adds a participant; false if they already were one.
    pub async fn add_participant(
        &mut self,
        case_id: i64,
        copy: &ParticipantCopy,
        added_by: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO case_participants (case_id, user_id, side, added_by, added_at, details) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (case_id, user_id) DO NOTHING",
        )
        .bind(case_id)
        .bind(copy.user_id)
        .bind(copy.side.as_str())
        .bind(added_by)
        .bind(now)
        .bind(&copy.details)
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn remove_participant(&mut self, case_id: i64, user_id: i64) -> StoreResult<bool> {
        let result =
            sqlx::query("DELETE FROM case_participants WHERE case_id = $1 AND user_id = $2")
                .bind(case_id)
                .bind(user_id)
                .execute(self.conn())
                .await?;
        // A team removed from the case no longer holds it.
        sqlx::query("UPDATE cases SET owner_team_id = NULL WHERE id = $1 AND owner_team_id = $2")
            .bind(case_id)
            .bind(user_id)
            .execute(self.conn())
            .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn set_case_status(&mut self, case_id: i64, status: CaseStatus) -> StoreResult<()> {
        sqlx::query("UPDATE cases SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(case_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Records a request; false when the user already takes part or already asked.
    pub async fn request_case_access(
        &mut self,
        case_id: i64,
        user_id: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO case_access_requests (case_id, user_id, requested_at) \
             SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM case_participants \
               WHERE case_id = $1 AND user_id = $2) \
             AND NOT EXISTS (SELECT 1 FROM case_access_requests \
               WHERE case_id = $1 AND user_id = $2 AND status = 'pending')",
        )
        .bind(case_id)
        .bind(user_id)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Settles a pending request; returns the requesting user if it was pending.
    pub async fn decide_access_request(
        &mut self,
        case_id: i64,
        request_id: i64,
        accepted: bool,
        decided_by: i64,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE case_access_requests SET status = $1, decided_by = $2, decided_at = $3 \
             WHERE id = $4 AND case_id = $5 AND status = 'pending' RETURNING user_id",
        )
        .bind(if accepted { "accepted" } else { "declined" })
        .bind(decided_by)
        .bind(now)
        .bind(request_id)
        .bind(case_id)
        .fetch_optional(self.conn())
        .await?;
        Ok(row.map(|(id,)| id))
    }

    pub async fn tag_thread(&mut self, thread_id: i64, case_id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE threads SET case_id = $1 WHERE id = $2")
            .bind(case_id)
            .bind(thread_id)
            .execute(self.conn())
            .await?;
        sqlx::query("UPDATE mailbox_entries SET case_id = $1 WHERE thread_id = $2")
            .bind(case_id)
            .bind(thread_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
