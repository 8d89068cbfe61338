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
