//! Team mailboxes: the team's own users row (is_team = 1, no password), its members with
//! the team's identity wrapped to each, and who has each of its letters in hand.

use sqlx::FromRow;

use crate::domain::{EmailAddress, PersonName};
use crate::store::{Change, Store, StoreResult, flag};

/// What is needed to create a team mailbox; its identity arrives already wrapped.
pub struct NewTeam<'a> {
    pub organisation_id: i64,
    pub email: &'a EmailAddress,
    pub name: &'a PersonName,
    pub public_recipient: &'a str,
    pub identity_wrapped_recovery: &'a [u8],
    pub recovery_recipient: &'a str,
}

/// A team as a list of teams shows it.
#[derive(FromRow, Debug, Clone)]
pub struct TeamRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub members: i64,
    /// Whether the person the list is for manages it (0 in an administrator's list).
    pub is_manager: i64,
}

impl TeamRow {
    pub fn is_manager(&self) -> bool {
        self.is_manager != 0
    }
}

/// A member of a team.
#[derive(FromRow, Debug, Clone)]
pub struct MemberRow {
    pub member_id: i64,
    pub name: String,
    pub email: String,
    pub is_manager: i64,
    pub added_at: i64,
}

impl MemberRow {
    pub fn is_manager(&self) -> bool {
        self.is_manager != 0
    }
}

/// A member's hold on a team: whether they manage it, and the team's identity wrapped
/// to them.
pub struct Membership {
    pub is_manager: bool,
    pub wrapped: Vec<u8>,
}

const TEAM_COLUMNS: &str = "u.id, u.name, u.email, \
     (SELECT COUNT(*) FROM team_members c WHERE c.team_id = u.id) AS members";

impl Store {
    /// The teams a person belongs to, by name.
    pub async fn teams_of_member(&self, member_id: i64) -> StoreResult<Vec<TeamRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {TEAM_COLUMNS}, m.is_manager FROM team_members m \
             JOIN users u ON u.id = m.team_id \
             WHERE m.member_id = $1 AND u.status = 'active' ORDER BY u.name"
        ))
        .bind(member_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The teams of an organisation, by name.
    pub async fn teams_of_organisation(&self, organisation_id: i64) -> StoreResult<Vec<TeamRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {TEAM_COLUMNS}, 0 AS is_manager FROM users u \
             WHERE u.organisation_id = $1 AND u.is_team = 1 AND u.status = 'active' \
             ORDER BY u.name"
        ))
        .bind(organisation_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A team's members, managers first, then by name.
    pub async fn team_members(&self, team_id: i64) -> StoreResult<Vec<MemberRow>> {
        Ok(sqlx::query_as(
            "SELECT m.member_id, u.name, u.email, m.is_manager, m.added_at \
             FROM team_members m JOIN users u ON u.id = m.member_id \
             WHERE m.team_id = $1 ORDER BY m.is_manager DESC, u.name",
        )
        .bind(team_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A person's membership of a team; None when they are not a member.
    pub async fn membership(
        &self,
        team_id: i64,
        member_id: i64,
    ) -> StoreResult<Option<Membership>> {
        let row: Option<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT is_manager, wrapped FROM team_members WHERE team_id = $1 AND member_id = $2",
        )
        .bind(team_id)
        .bind(member_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(is_manager, wrapped)| Membership {
            is_manager: is_manager != 0,
            wrapped,
        }))
    }

    /// The addresses of a team's members, for telling them of the team's mail.
    pub async fn member_addresses(
        &self,
        team_ids: &[i64],
    ) -> StoreResult<Vec<(i64, String, String)>> {
        let mut out = Vec::new();
        for team_id in team_ids {
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT u.email, u.name FROM team_members m JOIN users u ON u.id = m.member_id \
                 WHERE m.team_id = $1 AND u.status = 'active' ORDER BY u.id",
            )
            .bind(team_id)
            .fetch_all(&self.pool)
            .await?;
            out.extend(
                rows.into_iter()
                    .map(|(email, name)| (*team_id, email, name)),
            );
        }
        Ok(out)
    }

    /// Who has a team's copy of a message in hand, by name.
    pub async fn assignee(
        &self,
        team_id: i64,
        thread_id: i64,
    ) -> StoreResult<Option<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT u.id, u.name FROM mailbox_entries e JOIN users u ON u.id = e.assigned_to \
             WHERE e.user_id = $1 AND e.thread_id = $2 AND e.assigned_to IS NOT NULL \
             ORDER BY e.id DESC LIMIT 1",
        )
        .bind(team_id)
        .bind(thread_id)
        .fetch_optional(&self.pool)
        .await?)
    }
}

impl Change {
    /// Creates a team's mailbox row; None when the address is taken (drop the change then).
    pub async fn create_team(&mut self, team: &NewTeam<'_>) -> StoreResult<Option<i64>> {
        let now = self.now();
        let created: Result<(i64,), sqlx::Error> = sqlx::query_as(
            "INSERT INTO users (organisation_id, email, name, is_admin, status, is_team, \
             public_recipient, identity_wrapped_recovery, recovery_recipient, created_at, \
             password_changed_at) VALUES ($1, $2, $3, 0, 'active', 1, $4, $5, $6, $7, $7) \
             RETURNING id",
        )
        .bind(team.organisation_id)
        .bind(team.email.as_str())
        .bind(team.name.as_str())
        .bind(team.public_recipient)
        .bind(team.identity_wrapped_recovery)
        .bind(team.recovery_recipient)
        .bind(now)
        .fetch_one(self.conn())
        .await;
        match created {
            Ok((id,)) => {
                super::directory::index_entry(self.tx(), id).await?;
                super::gateway::note_local_domain(self.tx(), team.email.as_str()).await?;
                Ok(Some(id))
            }
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Adds a member (or replaces their wrap and role).
    pub async fn put_member(
        &mut self,
        team_id: i64,
        member_id: i64,
        is_manager: bool,
        wrapped: &[u8],
    ) -> StoreResult<()> {
        let now = self.now();
        sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND member_id = $2")
            .bind(team_id)
            .bind(member_id)
            .execute(self.conn())
            .await?;
        sqlx::query(
            "INSERT INTO team_members (team_id, member_id, is_manager, wrapped, added_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(team_id)
        .bind(member_id)
        .bind(flag(is_manager))
        .bind(wrapped)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Replaces a member's wrap of the team's identity (after a rotation), keeping their
    /// role and when they joined.
    pub async fn rewrap_member(
        &mut self,
        team_id: i64,
        member_id: i64,
        wrapped: &[u8],
    ) -> StoreResult<()> {
        sqlx::query("UPDATE team_members SET wrapped = $1 WHERE team_id = $2 AND member_id = $3")
            .bind(wrapped)
            .bind(team_id)
            .bind(member_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Removes a member: their wrap is deleted, their sessions leave the team's mailbox
    /// and the team's letters they had in hand are nobody's. False when not a member.
    pub async fn remove_member(&mut self, team_id: i64, member_id: i64) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND member_id = $2")
            .bind(team_id)
            .bind(member_id)
            .execute(self.conn())
            .await?;
        sqlx::query("UPDATE sessions SET acting_for = NULL WHERE user_id = $1 AND acting_for = $2")
            .bind(member_id)
            .bind(team_id)
            .execute(self.conn())
            .await?;
        sqlx::query(
            "UPDATE mailbox_entries SET assigned_to = NULL WHERE user_id = $1 AND assigned_to = $2",
        )
        .bind(team_id)
        .bind(member_id)
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Gives a team a new current key: later mail is sealed to it alone.
    pub async fn rotate_team_key(
        &mut self,
        team_id: i64,
        public_recipient: &str,
        identity_wrapped_recovery: &[u8],
        recovery_recipient: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET public_recipient = $1, identity_wrapped_recovery = $2, \
             recovery_recipient = $3 WHERE id = $4 AND is_team = 1",
        )
        .bind(public_recipient)
        .bind(identity_wrapped_recovery)
        .bind(recovery_recipient)
        .bind(team_id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Replaces a mailbox's key (rotated: the same naming key, a new sealing key).
    pub async fn replace_mailbox_key(&mut self, user_id: i64, wrapped: &[u8]) -> StoreResult<()> {
        sqlx::query("UPDATE mailbox_keys SET wrapped = $1 WHERE user_id = $2")
            .bind(wrapped)
            .bind(user_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Puts a team's copies of a thread in a member's hands, or nobody's with None.
    /// Returns the messages whose copies changed hands.
    pub async fn assign(
        &mut self,
        team_id: i64,
        thread_id: i64,
        member_id: Option<i64>,
    ) -> StoreResult<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "UPDATE mailbox_entries SET assigned_to = $1 WHERE user_id = $2 AND thread_id = $3 \
             AND folder <> 'sent' RETURNING message_id",
        )
        .bind(member_id)
        .bind(team_id)
        .bind(thread_id)
        .fetch_all(self.conn())
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}
