//! Every use of age (and of the mailbox keys' AEAD) lives here: user key pairs, the wraps that protect them, and (later)
//! message envelopes, small sealed items and attachment streams. No other module calls age directly.
//!
//! Uses only `domain`.

mod envelope;
mod item;
mod keys;
mod mailbox_key;
mod token;

pub use envelope::{Recipients, SealingWriter, open, opening_reader, seal};
pub use item::{open_item, seal_item, seal_item_to};
pub use keys::{
    KeyError, PASSWORD_WRAP_LOG_N, SessionKey, UserIdentity, generate_recovery_key_pair,
    parse_recipient, write_identity_file,
};
pub use mailbox_key::{MailboxKey, MailboxKeys, is_mailbox_sealed};
pub use token::{RandomToken, sha256_hex};
