use sqlx::FromRow;

use super::{Store, StoreError, StoreResult};
use crate::domain::{Jurisdiction, OrganisationKind, OrganisationName};

#[derive(Debug, Clone)]
pub struct Organisation {
    pub id: i64,
    pub kind: OrganisationKind,
    pub name: String,
    pub jurisdiction: String,
}

#[derive(FromRow)]
struct OrganisationRow {
    id: i64,
    kind: String,
    name: String,
    jurisdiction: String,
}

impl TryFrom<OrganisationRow> for Organisation {
    type Error = StoreError;

    fn try_from(row: OrganisationRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.id,
            kind: OrganisationKind::parse(&row.kind)
                .map_err(|_| StoreError::Corrupt("organisation kind"))?,
            name: row.name,
            jurisdiction: row.jurisdiction,
        })
    }
}

impl Store {
    pub async fn create_organisation(
        &self,
        kind: OrganisationKind,
        name: &OrganisationName,
        jurisdiction: &Jurisdiction,
        now: i64,
    ) -> StoreResult<Organisation> {
        let row: OrganisationRow = sqlx::query_as(
            "INSERT INTO organisations (kind, name, jurisdiction, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id, kind, name, jurisdiction",
        )
        .bind(kind.as_str())
        .bind(name.as_str())
        .bind(jurisdiction.as_str())
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        row.try_into()
    }

    pub async fn organisation_by_name(&self, name: &str) -> StoreResult<Option<Organisation>> {
        let row: Option<OrganisationRow> = sqlx::query_as(
            "SELECT id, kind, name, jurisdiction FROM organisations WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    /// The organisation with this name, created with the given kind if it does not exist.
    pub async fn ensure_organisation(
        &self,
        kind: OrganisationKind,
        name: &OrganisationName,
        jurisdiction: &Jurisdiction,
        now: i64,
    ) -> StoreResult<Organisation> {
        match self.organisation_by_name(name.as_str()).await? {
            Some(existing) => Ok(existing),
            None => {
                self.create_organisation(kind, name, jurisdiction, now)
                    .await
            }
        }
    }
}

impl Store {
    /// (id, name) of every organisation of a kind, by name.
    pub async fn organisations_of_kind(
        &self,
        kind: OrganisationKind,
    ) -> StoreResult<Vec<(i64, String)>> {
        let rows =
            sqlx::query_as("SELECT id, name FROM organisations WHERE kind = $1 ORDER BY name")
                .bind(kind.as_str())
                .fetch_all(&self.pool)
                .await?;
        Ok(rows)
    }
}

#[derive(FromRow, Debug, Clone)]
pub struct OrganisationListing {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub jurisdiction: String,
    pub approved: i64,
    pub members: i64,
}

/// A row of the admin's user list.
#[derive(FromRow, Debug, Clone)]
pub struct AdminUserRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub status: String,
    pub is_admin: i64,
    pub organisation_id: i64,
    pub organisation: String,
    pub last_sign_in_at: Option<i64>,
    pub created_at: i64,
    pub professional_reference: String,
    pub status_reason: String,
}

impl Store {
    pub async fn all_organisations(&self) -> StoreResult<Vec<OrganisationListing>> {
        let rows = sqlx::query_as(
            "SELECT o.id, o.kind, o.name, o.jurisdiction, o.approved, \
             (SELECT COUNT(*) FROM users u WHERE u.organisation_id = o.id AND u.status <> 'deleted') AS members \
             FROM organisations o ORDER BY o.kind, o.name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    pub async fn update_organisation(
        &self,
        id: i64,
        name: &OrganisationName,
        jurisdiction: &Jurisdiction,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE organisations SET name = $1, jurisdiction = $2 WHERE id = $3")
            .bind(name.as_str())
            .bind(jurisdiction.as_str())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn approve_organisation(&self, id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE organisations SET approved = 1 WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn create_pending_organisation(
        &self,
        name: &OrganisationName,
        jurisdiction: &Jurisdiction,
        now: i64,
    ) -> StoreResult<Organisation> {
        let org = self
            .create_organisation(OrganisationKind::Defence, name, jurisdiction, now)
            .await?;
        sqlx::query("UPDATE organisations SET approved = 0 WHERE id = $1")
            .bind(org.id)
            .execute(&self.pool)
            .await?;
        Ok(org)
    }

    /// Users of the given organisations, filtered by status and a search of name or email.
    pub async fn users_of(
        &self,
        organisation_ids: &[i64],
        status: Option<&str>,
        search: &str,
    ) -> StoreResult<Vec<AdminUserRow>> {
        let pattern = format!(
            "%{}%",
            search.trim().to_lowercase().replace(['%', '_', '\\'], "")
        );
        let mut out = Vec::new();
        for org in organisation_ids {
            let rows: Vec<AdminUserRow> = sqlx::query_as(
                "SELECT u.id, u.name, u.email, u.status, u.is_admin, u.organisation_id, \
                 o.name AS organisation, u.last_sign_in_at, u.created_at, u.professional_reference, \
                 u.status_reason FROM users u JOIN organisations o ON o.id = u.organisation_id \
                 WHERE u.organisation_id = $1 AND ($2 = '' OR u.status = $2) \
                 AND (LOWER(u.name) LIKE $3 OR u.email LIKE $3) ORDER BY u.name",
            )
            .bind(org)
            .bind(status.unwrap_or(""))
            .bind(&pattern)
            .fetch_all(&self.pool)
            .await?;
            out.extend(rows);
        }
        Ok(out)
    }

    pub async fn admin_user(&self, id: i64) -> StoreResult<Option<AdminUserRow>> {
        let row = sqlx::query_as(
            "SELECT u.id, u.name, u.email, u.status, u.is_admin, u.organisation_id, \
             o.name AS organisation, u.last_sign_in_at, u.created_at, u.professional_reference, \
             u.status_reason FROM users u JOIN organisations o ON o.id = u.organisation_id \
             WHERE u.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    pub async fn set_professional_reference(
        &self,
        user_id: i64,
        reference: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE users SET professional_reference = $1 WHERE id = $2")
            .bind(reference)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
