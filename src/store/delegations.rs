//! Delegations: grants of a mailbox to a colleague, each holding the owner's identity
//! wrapped to the delegate, and which delegated mailbox a session works in.

use sqlx::FromRow;

use crate::store::{Change, Store, StoreResult, flag};

/// A grant as its owner or its delegate sees it: the other person, and what it allows.
#[derive(FromRow, Debug, Clone)]
pub struct DelegationRow {
    pub owner_id: i64,
    pub delegate_id: i64,
    /// The other person's name and address (the delegate for the owner, and the reverse).
    pub name: String,
    pub email: String,
    pub can_send: i64,
    pub granted_at: i64,
}

impl DelegationRow {
    pub fn can_send(&self) -> bool {
        self.can_send != 0
    }
}

impl Store {
    /// The grants an owner has made, with each delegate's name.
    pub async fn delegates_of(&self, owner_id: i64) -> StoreResult<Vec<DelegationRow>> {
        Ok(sqlx::query_as(
            "SELECT d.owner_id, d.delegate_id, u.name, u.email, d.can_send, d.granted_at \
             FROM delegations d JOIN users u ON u.id = d.delegate_id \
             WHERE d.owner_id = $1 ORDER BY u.name",
        )
        .bind(owner_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The mailboxes delegated to a user whose owners are active, with each owner's name.
    pub async fn mailboxes_delegated_to(
        &self,
        delegate_id: i64,
    ) -> StoreResult<Vec<DelegationRow>> {
        Ok(sqlx::query_as(
            "SELECT d.owner_id, d.delegate_id, u.name, u.email, d.can_send, d.granted_at \
             FROM delegations d JOIN users u ON u.id = d.owner_id \
             WHERE d.delegate_id = $1 AND u.status = 'active' ORDER BY u.name",
        )
        .bind(delegate_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The owner's identity wrapped to the delegate, and whether they may send; None when
    /// there is no such grant (never made, or withdrawn).
    pub async fn delegation(
        &self,
        owner_id: i64,
        delegate_id: i64,
    ) -> StoreResult<Option<(bool, Vec<u8>)>> {
        let row: Option<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT can_send, wrapped FROM delegations WHERE owner_id = $1 AND delegate_id = $2",
        )
        .bind(owner_id)
        .bind(delegate_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(can_send, wrapped)| (can_send != 0, wrapped)))
    }

    /// Points a session at a delegated mailbox, or back at its own with None.
    pub async fn set_acting_for(&self, token_hash: &str, owner_id: Option<i64>) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET acting_for = $1 WHERE token_hash = $2")
            .bind(owner_id)
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl Change {
    /// Grants (or changes) a delegation; the wrap replaces any earlier one.
    pub async fn grant_delegation(
        &mut self,
        owner_id: i64,
        delegate_id: i64,
        can_send: bool,
        wrapped: &[u8],
    ) -> StoreResult<()> {
        let now = self.now();
        sqlx::query("DELETE FROM delegations WHERE owner_id = $1 AND delegate_id = $2")
            .bind(owner_id)
            .bind(delegate_id)
            .execute(self.conn())
            .await?;
        sqlx::query(
            "INSERT INTO delegations (owner_id, delegate_id, can_send, wrapped, granted_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(owner_id)
        .bind(delegate_id)
        .bind(flag(can_send))
        .bind(wrapped)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Withdraws a delegation: the wrap is deleted and the delegate's sessions leave the
    /// mailbox. False when there was none.
    pub async fn withdraw_delegation(
        &mut self,
        owner_id: i64,
        delegate_id: i64,
    ) -> StoreResult<bool> {
        let result =
            sqlx::query("DELETE FROM delegations WHERE owner_id = $1 AND delegate_id = $2")
                .bind(owner_id)
                .bind(delegate_id)
                .execute(self.conn())
                .await?;
        sqlx::query("UPDATE sessions SET acting_for = NULL WHERE user_id = $1 AND acting_for = $2")
            .bind(delegate_id)
            .bind(owner_id)
            .execute(self.conn())
            .await?;
        Ok(result.rows_affected() == 1)
    }
}
