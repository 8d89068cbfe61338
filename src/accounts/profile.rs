//! Finding an account, and what a person decides about their own: whether they are listed
//! in the directory.

use super::Accounts;
use crate::audit::Origin;
use crate::domain::{EmailAddress, EventKind};
use crate::store::UserAccount;

impl Accounts {
    /// The account with this address, if there is one.
    pub async fn account_by_email(
        &self,
        email: &EmailAddress,
    ) -> anyhow::Result<Option<UserAccount>> {
        match self.store.address_record(email).await? {
            Some(record) => Ok(self.store.user_account(record.id).await?),
            None => Ok(None),
        }
    }

    /// Whether the person appears in the directory.
    pub async fn is_listed(&self, user_id: i64) -> anyhow::Result<bool> {
        Ok(!self.store.is_ex_directory(user_id).await?)
    }

    /// Lists or unlists the person in the directory (they can be written to either way).
    pub async fn set_listed(
        &self,
        user: &UserAccount,
        listed: bool,
        client_address: &str,
    ) -> anyhow::Result<()> {
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        change.set_ex_directory(user.id, !listed).await?;
        change
            .record(&[Origin::user(user, client_address).user_event(
                now,
                EventKind::DirectoryListingChanged,
                user.id,
                serde_json::json!({ "listed": listed }),
            )])
            .await?;
        change.commit().await?;
        Ok(())
    }
}
