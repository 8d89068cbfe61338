//! What is inside the encrypted items of mail. These structures only ever exist in clear
//! in memory; at rest they are age ciphertext.

use serde::{Deserialize, Serialize};

/// The envelope: everything a message says, addressed to every recipient and the sender.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvelopeContent {
    pub subject: String,
    pub body: String,
    #[serde(default)]
    pub attachments: Vec<AttachmentInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttachmentInfo {
    pub name: String,
    pub media_type: String,
    pub size: u64,
    /// SHA-256 of the plaintext, so a recipient can check a downloaded file.
    pub sha256: String,
}

/// What one mailbox owner's folder listing and search need, addressed to them alone so
/// that a list decrypts one small single-recipient item per row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub subject: String,
    pub snippet: String,
    /// The addressees' names, as shown in the Sent folder.
    pub to: String,
    /// Lower-cased subject, body, sender and attachment names, for search.
    pub search: String,
}

/// What the compose form holds, as typed: sent as a message, or saved as a draft
/// addressed to its author alone.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Composition {
    pub to: String,
    pub cc: String,
    pub subject: String,
    pub body: String,
    pub reply_to: Option<i64>,
    pub forward_of: Option<i64>,
    #[serde(default)]
    pub case_id: Option<i64>,
    /// "Reply needed by", as typed (2026-12-05), empty for none.
    #[serde(default)]
    pub reply_by: String,
}

const SNIPPET_CHARS: usize = 120;
const SEARCH_BYTES: usize = 32 * 1024;

impl Summary {
    pub fn new(envelope: &EnvelopeContent, sender: &str, to: String) -> Self {
        let snippet: String = envelope
            .body
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(SNIPPET_CHARS)
            .collect();
        let mut search = format!("{}\n{}\n{}", envelope.subject, sender, envelope.body);
        for attachment in &envelope.attachments {
            search.push('\n');
            search.push_str(&attachment.name);
        }
        let mut search = search.to_lowercase();
        if search.len() > SEARCH_BYTES {
            let mut cut = SEARCH_BYTES;
            while !search.is_char_boundary(cut) {
                cut -= 1;
            }
            search.truncate(cut);
        }
        Self {
            subject: envelope.subject.clone(),
            snippet,
            to,
            search,
        }
    }
}
