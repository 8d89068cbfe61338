//! Organisations, and the administrators' views of them and their people.

use sqlx::FromRow;

use super::{Change, Store, StoreResult};
use crate::domain::{Jurisdiction, OrganisationKind, OrganisationName, UserStatus};

#[derive(Debug, Clone, FromRow)]
pub struct Organisation {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub kind: OrganisationKind,
    pub name: String,
    pub jurisdiction: String,
}

const ORGANISATION_COLUMNS: &str = "id, kind, name, jurisdiction";

/// An organisation in an administrator's list.
#[derive(Debug, Clone)]
pub struct OrganisationListing {
    pub id: i64,
    pub kind: OrganisationKind,
    pub name: String,
    pub jurisdiction: String,
    /// A firm added by a registering solicitor stays unapproved until an admin approves one
    /// of its people.
    pub approved: bool,
    pub members: i64,
}

#[derive(FromRow)]
struct ListingRow {
    id: i64,
    #[sqlx(try_from = "String")]
    kind: OrganisationKind,
    name: String,
    jurisdiction: String,
    approved: i64,
    members: i64,
}

impl From<ListingRow> for OrganisationListing {
    fn from(row: ListingRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            name: row.name,
            jurisdiction: row.jurisdiction,
            approved: row.approved != 0,
            members: row.members,
        }
    }
}

/// A row of the admin's user list.
#[derive(Debug, Clone)]
pub struct AdminUserRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub status: UserStatus,
    pub is_admin: bool,
    pub organisation_id: i64,
    pub organisation: String,
    pub last_sign_in_at: Option<i64>,
    pub created_at: i64,
    pub professional_reference: String,
    pub status_reason: String,
}

#[derive(FromRow)]
struct StoredAdminUser {
    id: i64,
    name: String,
    email: String,
    #[sqlx(try_from = "String")]
    status: UserStatus,
    is_admin: i64,
    organisation_id: i64,
    organisation: String,
    last_sign_in_at: Option<i64>,
    created_at: i64,
    professional_reference: String,
    status_reason: String,
}

impl From<StoredAdminUser> for AdminUserRow {
    fn from(row: StoredAdminUser) -> Self {
        Self {
            id: row.id,
            name: row.name,
            email: row.email,
            status: row.status,
            is_admin: row.is_admin != 0,
            organisation_id: row.organisation_id,
            organisation: row.organisation,
            last_sign_in_at: row.last_sign_in_at,
            created_at: row.created_at,
            professional_reference: row.professional_reference,
            status_reason: row.status_reason,
        }
    }
}

const ADMIN_USER_COLUMNS: &str = "u.id, u.name, u.email, u.status, u.is_admin, \
     u.organisation_id, o.name AS organisation, u.last_sign_in_at, u.created_at, \
     u.professional_reference, u.status_reason";

impl Store {
    /// An organisation's name: organisations are listed in the directory, so any
    /// signed-in user may see one.
    pub async fn organisation_name(&self, id: i64) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn organisation_by_name(&self, name: &str) -> StoreResult<Option<Organisation>> {
        let row = sqlx::query_as(&format!(
            "SELECT {ORGANISATION_COLUMNS} FROM organisations WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    /// The organisation with this name, created with the given kind if it does not exist.
    pub async fn ensure_organisation(
        &self,
        kind: OrganisationKind,
        name: &OrganisationName,
        jurisdiction: &Jurisdiction,
        now: i64,
    ) -> StoreResult<Organisation> {
        if let Some(existing) = self.organisation_by_name(name.as_str()).await? {
            return Ok(existing);
        }
        let mut change = self.begin(now).await?;
        let created = change
            .create_organisation(kind, name, jurisdiction, now)
            .await?;
        change.commit().await?;
        match created {
            Some(created) => Ok(created),
            // Created meanwhile by another request.
            None => self
                .organisation_by_name(name.as_str())
                .await?
                .ok_or(super::StoreError::Corrupt("organisation vanished")),
        }
    }

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

    pub async fn all_organisations(&self) -> StoreResult<Vec<OrganisationListing>> {
        let rows: Vec<ListingRow> = sqlx::query_as(
            "SELECT o.id, o.kind, o.name, o.jurisdiction, o.approved, \
             (SELECT COUNT(*) FROM users u WHERE u.organisation_id = o.id AND u.status <> 'deleted' \
             AND u.is_team = 0 AND u.is_external = 0) AS members \
             FROM organisations o ORDER BY o.kind, o.name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Users of the given organisations, filtered by status and a search of name or email.
    pub async fn users_of(
        &self,
        organisation_ids: &[i64],
        status: Option<UserStatus>,
        search: &str,
    ) -> StoreResult<Vec<AdminUserRow>> {
        let pattern = format!(
            "%{}%",
            search.trim().to_lowercase().replace(['%', '_', '\\'], "")
        );
        let mut out = Vec::new();
        for org in organisation_ids {
            let rows: Vec<StoredAdminUser> = sqlx::query_as(&format!(
                "SELECT {ADMIN_USER_COLUMNS} FROM users u \
                 JOIN organisations o ON o.id = u.organisation_id \
                 WHERE u.organisation_id = $1 AND u.is_team = 0 AND u.is_external = 0 AND ($2 = '' OR u.status = $2) \
                 AND (LOWER(u.name) LIKE $3 OR u.email LIKE $3) ORDER BY u.name"
            ))
            .bind(org)
            .bind(status.map_or("", UserStatus::as_str))
            .bind(&pattern)
            .fetch_all(&self.pool)
            .await?;
            out.extend(rows.into_iter().map(AdminUserRow::from));
        }
        Ok(out)
    }

    pub async fn admin_user(&self, id: i64) -> StoreResult<Option<AdminUserRow>> {
        let row: Option<StoredAdminUser> = sqlx::query_as(&format!(
            "SELECT {ADMIN_USER_COLUMNS} FROM users u \
             JOIN organisations o ON o.id = u.organisation_id WHERE u.id = $1 AND u.is_team = 0 AND u.is_external = 0"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Into::into))
    }
}

impl Change {
    /// Creates an organisation; None when the name is taken (drop the change then).
    pub async fn create_organisation(
        &mut self,
        kind: OrganisationKind,
        name: &OrganisationName,
        jurisdiction: &Jurisdiction,
        now: i64,
    ) -> StoreResult<Option<Organisation>> {
        let created = sqlx::query_as(&format!(
            "INSERT INTO organisations (kind, name, jurisdiction, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING {ORGANISATION_COLUMNS}"
        ))
        .bind(kind.as_str())
        .bind(name.as_str())
        .bind(jurisdiction.as_str())
        .bind(now)
        .fetch_one(self.conn())
        .await;
        match created {
            Ok(org) => Ok(Some(org)),
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A defence firm added by a solicitor registering with it: unapproved until an
    /// administrator approves one of its people.
    pub async fn create_pending_firm(
        &mut self,
        name: &OrganisationName,
        jurisdiction: &Jurisdiction,
        now: i64,
    ) -> StoreResult<Option<Organisation>> {
        let Some(org) = self
            .create_organisation(OrganisationKind::Defence, name, jurisdiction, now)
            .await?
        else {
            return Ok(None);
        };
        sqlx::query("UPDATE organisations SET approved = 0 WHERE id = $1")
            .bind(org.id)
            .execute(self.conn())
            .await?;
        Ok(Some(org))
    }

    pub async fn update_organisation(
        &mut self,
        id: i64,
        name: &OrganisationName,
        jurisdiction: &Jurisdiction,
    ) -> StoreResult<bool> {
        let result =
            sqlx::query("UPDATE organisations SET name = $1, jurisdiction = $2 WHERE id = $3")
                .bind(name.as_str())
                .bind(jurisdiction.as_str())
                .bind(id)
                .execute(self.conn())
                .await;
        match result {
            Ok(_) => {
                // Its people are found by the organisation's new name, not the old.
                let members: Vec<i64> =
                    sqlx::query_scalar("SELECT id FROM users WHERE organisation_id = $1")
                        .bind(id)
                        .fetch_all(self.conn())
                        .await?;
                for member in members {
                    super::directory::index_entry(self.tx(), member).await?;
                }
                Ok(true)
            }
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn approve_organisation(&mut self, id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE organisations SET approved = 1 WHERE id = $1")
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
