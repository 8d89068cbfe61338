//! A folder's list as its address describes it: filters and order read from the query,
//! the header links that re-order it, the links that drop one filter, and the next page.
//! Everything lives in the address, so it works without JavaScript and can be bookmarked.

use serde::Deserialize;

use crate::domain::{Folder, ListFilter, MailSort, SortKey};
use crate::mail::FolderPage;

pub struct Column {
    pub key: &'static str,
    pub label: &'static str,
    /// Shown only to screen readers (the attachment mark column).
    pub visually_hidden: bool,
    /// Where a sortable header leads.
    pub href: Option<String>,
    /// "ascending" or "descending" on the column the list is ordered by.
    pub aria_sort: Option<&'static str>,
}

impl Column {
    fn fixed(key: &'static str, label: &'static str) -> Self {
        Self {
            key,
            label,
            visually_hidden: key == "marks",
            href: None,
            aria_sort: None,
        }
    }
}

/// Columns of a list whose order is fixed (newest first): search results, a case's mail.
pub fn fixed_columns(sent_folder: bool) -> Vec<Column> {
    vec![
        Column::fixed("who", if sent_folder { "To" } else { "From" }),
        Column::fixed("case", "Case"),
        Column::fixed("subject", "Subject"),
        Column::fixed("marks", "Attachments"),
        Column::fixed("when", if sent_folder { "Sent" } else { "Received" }),
    ]
}

/// The list's part of a folder address. Empty values (a form's "any" choice) mean unset.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub done: Option<String>,
    #[serde(default)]
    pub case: Option<String>,
    #[serde(default)]
    pub org: Option<String>,
    #[serde(default)]
    pub unread: Option<String>,
    #[serde(default)]
    pub attachments: Option<String>,
    #[serde(default)]
    pub reply: Option<String>,
    #[serde(default)]
    pub sort: Option<String>,
    #[serde(default)]
    pub order: Option<String>,
    #[serde(default)]
    pub page: Option<String>,
}

fn number(value: &Option<String>) -> Option<i64> {
    value.as_deref().and_then(|v| v.trim().parse().ok())
}

fn flag(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.is_empty())
}

/// What a folder page shows: which folder, narrowed how, in which order, which page.
pub struct ListView {
    pub folder: Folder,
    pub filter: ListFilter,
    pub sort: MailSort,
    pub page: i64,
}

impl ListView {
    pub fn from_query(folder: Folder, query: &ListQuery) -> Self {
        let key = SortKey::parse(query.sort.as_deref().unwrap_or(""));
        let descending = match query.order.as_deref() {
            Some("asc") => false,
            Some("desc") => true,
            _ => key.descending_by_default(),
        };
        Self {
            folder,
            filter: ListFilter {
                case_id: number(&query.case),
                unread_only: flag(&query.unread),
                with_attachments: flag(&query.attachments),
                organisation_id: number(&query.org),
                needs_reply: flag(&query.reply),
            },
            sort: MailSort { key, descending },
            page: number(&query.page).unwrap_or(0).clamp(0, 100_000),
        }
    }

    /// The query string (without "?") for this view's filters with `sort`, leaving out
    /// what is the default so that addresses stay short.
    fn query(&self, filter: &ListFilter, sort: MailSort) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        if let Some(case) = filter.case_id {
            pairs.push(("case".into(), case.to_string()));
        }
        if let Some(org) = filter.organisation_id {
            pairs.push(("org".into(), org.to_string()));
        }
        if filter.unread_only {
            pairs.push(("unread".into(), "1".into()));
        }
        if filter.with_attachments {
            pairs.push(("attachments".into(), "1".into()));
        }
        if filter.needs_reply {
            pairs.push(("reply".into(), "1".into()));
        }
        if !sort.is_default() {
            pairs.push(("sort".into(), sort.key.as_str().into()));
            let order = if sort.descending { "desc" } else { "asc" };
            pairs.push(("order".into(), order.into()));
        }
        pairs
    }

    fn href_with(&self, mut pairs: Vec<(String, String)>, extra: &[(&str, String)]) -> String {
        pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let path = format!("/mail/{}", self.folder.as_str());
        if pairs.is_empty() {
            return path;
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{path}?{query}")
    }

    /// This view's address at its first page: where actions return to.
    pub fn href(&self) -> String {
        self.href_with(self.query(&self.filter, self.sort), &[])
    }

    /// Where this view's first page of rows alone is fetched, to refresh the list.
    pub fn rows_href(&self) -> String {
        let query = self.query(&self.filter, self.sort);
        let path = format!("/mail/{}/rows", self.folder.as_str());
        if query.is_empty() {
            return path;
        }
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(&query).unwrap_or_default()
        )
    }

    /// The query this view carries through a form post (without "?").
    pub fn carried(&self) -> String {
        serde_urlencoded::to_string(self.query(&self.filter, self.sort)).unwrap_or_default()
    }

    /// Header cells; each sortable one leads to its order, and a second click reverses it.
    pub fn columns(&self) -> Vec<Column> {
        let sent = self.folder == Folder::Sent;
        fixed_columns(sent)
            .into_iter()
            .map(|mut column| {
                let key = match column.key {
                    "who" => SortKey::Sender,
                    "case" => SortKey::Case,
                    "subject" => SortKey::Subject,
                    "when" => SortKey::Date,
                    _ => return column,
                };
                // Sent lists addressees, not a sender: that column keeps its place.
                if sent && key == SortKey::Sender {
                    return column;
                }
                let current = self.sort.key == key;
                let descending = if current {
                    !self.sort.descending
                } else {
                    key.descending_by_default()
                };
                column.href = Some(
                    self.href_with(self.query(&self.filter, MailSort { key, descending }), &[]),
                );
                column.aria_sort = current.then_some(if self.sort.descending {
                    "descending"
                } else {
                    "ascending"
                });
                column
            })
            .collect()
    }

    /// The link to the next page, if there is one.
    pub fn next_href(&self, page: &FolderPage) -> Option<String> {
        let base = self.query(&self.filter, self.sort);
        if let Some(cursor) = &page.older {
            let after = format!("{}.{}", cursor.sent_at, cursor.entry_id);
            return Some(self.href_with(base, &[("after", after)]));
        }
        page.next_page
            .map(|next| self.href_with(base, &[("page", next.to_string())]))
    }

    /// The link that drops one filter, keeping the rest and the order.
    pub fn without(&self, which: &str) -> String {
        let mut filter = self.filter.clone();
        match which {
            "case" => filter.case_id = None,
            "org" => filter.organisation_id = None,
            "unread" => filter.unread_only = false,
            "attachments" => filter.with_attachments = false,
            "reply" => filter.needs_reply = false,
            _ => filter = ListFilter::default(),
        }
        self.href_with(self.query(&filter, self.sort), &[])
    }

    pub fn is_sorted_by(&self, key: &str) -> bool {
        self.sort.key.as_str() == key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &str) -> ListQuery {
        serde_urlencoded::from_str(pairs).unwrap_or_default()
    }

    #[test]
    fn filters_and_order_survive_the_round_trip_through_the_address() {
        let view = ListView::from_query(
            Folder::Inbox,
            &query("case=7&org=&unread=1&reply=1&sort=sender&order=desc&page=2"),
        );
        assert!(view.filter.needs_reply);
        assert_eq!(view.filter.case_id, Some(7));
        assert_eq!(view.filter.organisation_id, None);
        assert!(view.filter.unread_only && !view.filter.with_attachments);
        assert_eq!(view.page, 2);
        assert_eq!(
            view.href(),
            "/mail/inbox?case=7&unread=1&reply=1&sort=sender&order=desc"
        );
        assert_eq!(
            view.without("unread"),
            "/mail/inbox?case=7&reply=1&sort=sender&order=desc"
        );
    }

    #[test]
    fn a_second_click_on_the_sorted_header_reverses_it() {
        let view = ListView::from_query(Folder::Inbox, &query("sort=subject"));
        let columns = view.columns();
        let subject = columns.iter().find(|c| c.key == "subject");
        assert_eq!(subject.and_then(|c| c.aria_sort), Some("ascending"));
        assert_eq!(
            subject.and_then(|c| c.href.clone()).as_deref(),
            Some("/mail/inbox?sort=subject&order=desc")
        );
        let date = columns.iter().find(|c| c.key == "when");
        assert_eq!(
            date.and_then(|c| c.href.clone()).as_deref(),
            Some("/mail/inbox")
        );
    }
}
