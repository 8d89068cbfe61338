//! How a folder's list is narrowed and ordered: values from the page's address, checked
//! here so that every layer below receives only what it can act on.

/// Which of a folder's messages a list shows; every condition set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub case_id: Option<i64>,
    pub unread_only: bool,
    pub with_attachments: bool,
    /// The sender's organisation.
    pub organisation_id: Option<i64>,
    /// Only letters whose sender still awaits the owner's reply.
    pub needs_reply: bool,
}

impl ListFilter {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Date,
    Sender,
    Subject,
    Case,
    /// Reply-by date, soonest first; letters without one last.
    ReplyBy,
}

impl SortKey {
    pub const ALL: [Self; 5] = [
        Self::Date,
        Self::Sender,
        Self::Subject,
        Self::Case,
        Self::ReplyBy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Date => "date",
            Self::Sender => "sender",
            Self::Subject => "subject",
            Self::Case => "case",
            Self::ReplyBy => "reply_by",
        }
    }

    /// Unknown names fall back to the default order rather than fail a bookmarked address.
    pub fn parse(name: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .unwrap_or(Self::Date)
    }

    /// Dates read newest first; names and references A to Z.
    pub fn descending_by_default(self) -> bool {
        self == Self::Date
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailSort {
    pub key: SortKey,
    pub descending: bool,
}

impl Default for MailSort {
    fn default() -> Self {
        Self {
            key: SortKey::Date,
            descending: true,
        }
    }
}

impl MailSort {
    /// The order pages are kept in by a cursor (newest first), rather than by page number.
    pub fn is_default(self) -> bool {
        self == Self::default()
    }
}

/// What a subject sorts by: without reply and forward prefixes, case folded, so a
/// conversation's letters sort together.
pub fn subject_sort_key(subject: &str) -> String {
    let mut rest = subject.trim();
    loop {
        let lower = rest.to_lowercase();
        let Some(prefix) = ["re:", "fwd:", "fw:"]
            .iter()
            .find(|p| lower.starts_with(**p))
        else {
            break;
        };
        rest = rest[prefix.len()..].trim_start();
    }
    rest.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_and_forward_prefixes_do_not_move_a_subject() {
        assert_eq!(subject_sort_key("Re: Fwd: RE: Bail review"), "bail review");
        assert_eq!(subject_sort_key("Regarding bail"), "regarding bail");
    }

    #[test]
    fn unknown_sort_names_mean_the_default_order() {
        assert_eq!(SortKey::parse("subject"), SortKey::Subject);
        assert_eq!(SortKey::parse("'; drop"), SortKey::Date);
    }
}
