//! Handling a team's letters: each conversation can be put in a member's hands, by a
//! colleague or by the member claiming it, so the team sees who has what.

use super::Mail;
use crate::audit::Origin;
use crate::domain::{EventKind, SubjectKind};
use crate::store::UserAccount;

#[derive(Debug, thiserror::Error)]
pub enum AssignProblem {
    /// Not a team's mailbox, no such conversation in it, or the member is not the team's.
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

internal_from!(AssignProblem: crate::store::StoreError);

impl Mail {
    /// Puts the team's copies of a conversation in `member_id`'s hands (None: nobody's),
    /// recorded against each message with the member who did it.
    pub async fn assign(
        &self,
        team: &UserAccount,
        thread_id: i64,
        member_id: Option<i64>,
        client_address: &str,
    ) -> Result<(), AssignProblem> {
        if !team.is_team {
            return Err(AssignProblem::NotFound);
        }
        if let Some(member_id) = member_id
            && self.store.membership(team.id, member_id).await?.is_none()
        {
            return Err(AssignProblem::NotFound);
        }
        let now = self.clock.now();
        let case_id = self.store.thread_case(thread_id).await?;
        let mut change = self.store.begin(now).await?;
        let messages = change.assign(team.id, thread_id, member_id).await?;
        if messages.is_empty() {
            return Err(AssignProblem::NotFound);
        }
        let origin = Origin::user(team, client_address);
        let events: Vec<_> = messages
            .iter()
            .map(|message_id| {
                let mut event = origin.event(
                    now,
                    EventKind::ThreadAssigned,
                    SubjectKind::Message,
                    Some(*message_id),
                    serde_json::json!({ "assigned_to": member_id }),
                );
                event.case_id = case_id;
                event
            })
            .collect();
        change.record(&events).await?;
        change.commit().await?;
        Ok(())
    }

    /// The office's other mailboxes that the same letter as `message_id` reached (same
    /// sender and fingerprint, close in time), as the mailbox `reader` sees it.
    pub async fn same_letter(
        &self,
        reader: &UserAccount,
        message_id: i64,
    ) -> anyhow::Result<Vec<crate::store::SameLetter>> {
        Ok(self
            .store
            .same_letter_elsewhere(message_id, reader.organisation.id, reader.id)
            .await?)
    }

    /// Who has the team's copy of a conversation in hand.
    pub async fn assignee(
        &self,
        team: &UserAccount,
        thread_id: i64,
    ) -> anyhow::Result<Option<(i64, String)>> {
        if !team.is_team {
            return Ok(None);
        }
        Ok(self.store.assignee(team.id, thread_id).await?)
    }
}
