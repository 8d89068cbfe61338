//! The organisation filter's choices, remembered for a minute per folder. Reading them walks
//! the folder's latest 500 letters to their senders, the slowest of a folder page's reads on
//! a database server, and they change only as mail arrives or is filed. A page adds the
//! organisations of its own rows (`FolderPage::sender_organisations`), so a sender whose
//! letter has just arrived is offered at once; the owner's own filing forgets the choices.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::Folder;

/// How long a folder's choices are used before they are read again.
const FRESH_FOR: Duration = Duration::from_secs(60);
/// Folders remembered at most; past it, those no longer fresh are dropped (and, if all
/// still are, everything: they are only a saving).
const REMEMBERED_AT_MOST: usize = 10_000;

pub type Organisations = Arc<Vec<(i64, String)>>;
/// When each mailbox's folder had its choices read, and what they were.
type Remembered = HashMap<(i64, Folder), (Instant, Organisations)>;

#[derive(Clone, Default)]
pub struct OrganisationChoices {
    remembered: Arc<Mutex<Remembered>>,
}

impl OrganisationChoices {
    /// The choices of a mailbox's folder, if read less than a minute ago.
    pub fn fresh(&self, mailbox: i64, folder: Folder) -> Option<Organisations> {
        let remembered = self.remembered.lock().ok()?;
        let (read_at, choices) = remembered.get(&(mailbox, folder))?;
        (read_at.elapsed() < FRESH_FOR).then(|| choices.clone())
    }

    pub fn keep(&self, mailbox: i64, folder: Folder, choices: Organisations) {
        let Ok(mut remembered) = self.remembered.lock() else {
            return;
        };
        if remembered.len() >= REMEMBERED_AT_MOST {
            remembered.retain(|_, (read_at, _)| read_at.elapsed() < FRESH_FOR);
            if remembered.len() >= REMEMBERED_AT_MOST {
                remembered.clear();
            }
        }
        remembered.insert((mailbox, folder), (Instant::now(), choices));
    }

    /// Forgets every folder of a mailbox: its letters have moved.
    pub fn forget(&self, mailbox: i64) {
        if let Ok(mut remembered) = self.remembered.lock() {
            remembered.retain(|(m, _), _| *m != mailbox);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_are_kept_per_mailbox_and_folder_until_forgotten() {
        let choices = OrganisationChoices::default();
        let kerr = Arc::new(vec![(7, "Kerr & Co".to_string())]);
        choices.keep(1, Folder::Inbox, kerr.clone());
        assert_eq!(choices.fresh(1, Folder::Inbox), Some(kerr));
        assert_eq!(choices.fresh(1, Folder::Archive), None);
        assert_eq!(choices.fresh(2, Folder::Inbox), None);
        choices.forget(2);
        assert!(choices.fresh(1, Folder::Inbox).is_some());
        choices.forget(1);
        assert_eq!(choices.fresh(1, Folder::Inbox), None);
    }
}
