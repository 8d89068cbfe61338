//! Organisations: service administrators create them and change their name or
//! jurisdiction; every change is recorded.

use super::Administration;
use crate::audit::Origin;
use crate::domain::{
    EventKind, Jurisdiction, OrganisationKind, OrganisationName, Role, SubjectKind,
};
use crate::store::{Organisation, UserAccount};

#[derive(Debug, thiserror::Error)]
pub enum OrganisationProblem {
    #[error("Only service administrators can change organisations")]
    NotAllowed,
    #[error("An organisation with this name already exists")]
    NameTaken,
    #[error("There is no such organisation")]
    Unknown,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

internal_from!(OrganisationProblem: crate::store::StoreError);

/// Which organisation a save applies to.
pub enum SavedOrganisation {
    New(OrganisationKind),
    /// An existing one; its kind never changes.
    Existing(i64),
}

impl Administration {
    /// The organisation with this name, created with the given kind if it does not exist
    /// (provisioning from the command line, the demo and tests).
    pub async fn ensure_organisation(
        &self,
        kind: OrganisationKind,
        name: &OrganisationName,
        jurisdiction: &Jurisdiction,
    ) -> anyhow::Result<Organisation> {
        Ok(self
            .store
            .ensure_organisation(kind, name, jurisdiction, self.clock.now())
            .await?)
    }

    /// Creates an organisation or renames one / changes its jurisdiction.
    pub async fn save_organisation(
        &self,
        admin: &UserAccount,
        target: SavedOrganisation,
        name: &OrganisationName,
        jurisdiction: &Jurisdiction,
        client_address: &str,
    ) -> Result<i64, OrganisationProblem> {
        if admin.role != Role::ServiceAdmin {
            return Err(OrganisationProblem::NotAllowed);
        }
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        let org_id = match target {
            SavedOrganisation::New(kind) => {
                change
                    .create_organisation(kind, name, jurisdiction, now)
                    .await?
                    .ok_or(OrganisationProblem::NameTaken)?
                    .id
            }
            SavedOrganisation::Existing(id) => {
                if !self
                    .store
                    .all_organisations()
                    .await?
                    .iter()
                    .any(|o| o.id == id)
                {
                    return Err(OrganisationProblem::Unknown);
                }
                if !change.update_organisation(id, name, jurisdiction).await? {
                    return Err(OrganisationProblem::NameTaken);
                }
                id
            }
        };
        change
            .record(&[Origin::user(admin, client_address).event(
                now,
                EventKind::OrganisationSaved,
                SubjectKind::Organisation,
                Some(org_id),
                serde_json::json!({ "name": name.as_str(), "jurisdiction": jurisdiction.as_str() }),
            )])
            .await?;
        change.commit().await?;
        Ok(org_id)
    }
}
