//! The header row of a message list: which columns it has and, where the list can be
//! re-ordered, the link each header leads to.

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
        Column::fixed("subject", "Subject"),
        Column::fixed("marks", "Attachments"),
        Column::fixed("when", if sent_folder { "Sent" } else { "Received" }),
    ]
}
