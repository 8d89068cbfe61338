//! The directory of people in the service, and address suggestions while composing.

use crate::store::{DirectoryEntry, Store};

/// Suggestions start once this many characters are typed.
const SUGGEST_AFTER_CHARS: usize = 2;
const SUGGESTIONS: i64 = 8;

#[derive(Clone)]
pub struct Directory {
    store: Store,
}

impl Directory {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// An organisation's name, as the directory shows it.
    pub async fn organisation_name(&self, id: i64) -> anyhow::Result<Option<String>> {
        Ok(self.store.organisation_name(id).await?)
    }

    /// Active, listed people whose name, address or organisation contains `query`.
    pub async fn search(&self, query: &str) -> anyhow::Result<Vec<DirectoryEntry>> {
        Ok(self.store.directory_search(query, 200).await?)
    }

    /// People matching the last address being typed into a To or Cc field.
    pub async fn suggest(&self, field_value: &str) -> anyhow::Result<Vec<DirectoryEntry>> {
        let typed = field_value
            .rsplit([',', ';'])
            .next()
            .unwrap_or_default()
            .trim();
        if typed.chars().count() < SUGGEST_AFTER_CHARS {
            return Ok(Vec::new());
        }
        Ok(self.store.directory_search(typed, SUGGESTIONS).await?)
    }
}
