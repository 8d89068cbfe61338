//! Drafts: compositions saved as they are typed, encrypted to their author alone.

use super::Mail;
use crate::crypto::{UserIdentity, open_item, seal_item};
use crate::domain::Composition;
use crate::store::UserAccount;

pub struct ListedDraft {
    pub id: i64,
    pub composition: Composition,
    pub updated_at: i64,
}

impl Mail {
    /// Saves a composition as the author's draft `draft_id`, or as a new draft; returns its
    /// id. A draft sent or deleted elsewhere meanwhile is saved anew, so nothing typed is lost.
    pub async fn save_draft(
        &self,
        user: &UserAccount,
        draft_id: Option<i64>,
        composition: &Composition,
    ) -> anyhow::Result<i64> {
        let sealed = seal_item(&user.public_recipient, composition)?;
        let now = self.clock.now();
        if let Some(id) = self
            .store
            .save_draft(user.id, draft_id, &sealed, now)
            .await?
        {
            return Ok(id);
        }
        self.store
            .save_draft(user.id, None, &sealed, now)
            .await?
            .ok_or_else(|| anyhow::anyhow!("draft insert returned no id"))
    }

    pub async fn drafts(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
    ) -> anyhow::Result<Vec<ListedDraft>> {
        Ok(self
            .store
            .drafts(user.id)
            .await?
            .into_iter()
            .map(|row| ListedDraft {
                id: row.id,
                // A draft sealed to keys the author no longer has shows as empty.
                composition: open_item(identity, &row.content).unwrap_or_default(),
                updated_at: row.updated_at,
            })
            .collect())
    }

    pub async fn draft(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
        id: i64,
    ) -> anyhow::Result<Option<Composition>> {
        match self.store.draft(user.id, id).await? {
            Some(row) => Ok(Some(open_item(identity, &row.content)?)),
            None => Ok(None),
        }
    }

    /// Deletes one of the user's own drafts; false if they have none with that id.
    pub async fn delete_draft(&self, user: &UserAccount, id: i64) -> anyhow::Result<bool> {
        Ok(self.store.delete_draft(user.id, id).await?)
    }
}
